//! Conversations: queue views, detail, timeline and every action on one.

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde::Deserialize;
use serde_json::json;

use super::{nullable, page_limit, present};
use crate::domain::policy::Action;
use crate::domain::time::parse_rfc3339;
use crate::domain::{ChannelId, ConversationId, MessageId, Status, TeamId, UserId};
use crate::service::conversations::{self as ops, AssignRequest};
use crate::service::messages::{self as send, MediaOut, Outgoing, Template};
use crate::service::queue::{self, ListRequest, Unknown};
use crate::service::whatsapp;
use crate::service::{Error, bad_request, invalid_cursor};
use crate::store::messages;
use crate::store::queue::View;
use crate::web::AppState;
use crate::web::auth::Auth;
use crate::web::body::{Body, PathId, QueryOf};
use crate::web::error::ApiResult;

#[derive(Deserialize)]
pub(super) struct ListParams {
    view: Option<String>,
    team: Option<i64>,
    tag: Option<String>,
    status: Option<String>,
    q: Option<String>,
    limit: Option<i64>,
    before: Option<String>,
    sort: Option<String>,
}

/// `GET /api/v1/conversations`: a queue view (default view: all), newest activity first or
/// `sort=waiting` longest waiting first; `view=at_risk` lists what breaches its SLA first.
pub(super) async fn list(
    auth: Auth,
    state: Data<AppState>,
    params: QueryOf<ListParams>,
) -> ApiResult<HttpResponse> {
    let p = params.get()?;
    let actor = auth.actor();
    let req = ListRequest {
        view: p.view,
        default_view: View::All,
        status: p.status,
        team: p.team.map(TeamId),
        tag: p.tag,
        q: p.q,
        limit: page_limit(p.limit),
        before: p.before,
        sort: p.sort,
        unknown: Unknown::Refuse,
    };
    let listing = state
        .store
        .read(move |c| queue::list(c, &actor, req))
        .await?;
    Ok(HttpResponse::Ok().json(json!({"items": listing.items, "next": listing.next})))
}

/// `GET /api/v1/conversations/{id}`.
pub(super) async fn show(auth: Auth, state: Data<AppState>, id: PathId) -> ApiResult<HttpResponse> {
    let (actor, id) = (auth.actor(), ConversationId(id.get()?));
    let a = actor.clone();
    let conv = state
        .store
        .read(move |c| ops::show(c, &ops::authorize(c, &a, Action::View, id)?))
        .await?;
    crate::web::ui::mark_mentions_seen(&state, id, actor.id).await;
    if whatsapp::wants_read_receipt(&conv, &actor) {
        state.jobs.send_read_receipt(id);
    }
    Ok(HttpResponse::Ok().json(conv))
}

#[derive(Deserialize)]
pub(super) struct PageParams {
    limit: Option<i64>,
    before: Option<String>,
}

/// `GET /api/v1/conversations/{id}/timeline`: messages, notes and events in time order; the
/// newest page first, `next` pages back in time.
pub(super) async fn show_timeline(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    params: QueryOf<PageParams>,
) -> ApiResult<HttpResponse> {
    let (actor, id) = (auth.actor(), ConversationId(id.get()?));
    let p = params.get()?;
    let limit = page_limit(p.limit);
    let before = p.before.filter(|b| !b.is_empty());
    let (items, next) = state
        .store
        .read(move |c| {
            ops::authorize(c, &actor, Action::View, id)?;
            let before = match before {
                Some(b) => {
                    let [at, kind, id] = crate::service::cursor(&b).ok_or_else(invalid_cursor)?;
                    Some((at, kind, id))
                }
                None => None,
            };
            Ok::<_, Error>(messages::timeline(c, id, before, limit)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "items": items,
        "next": next.map(|(at, t, id)| format!("{at}_{t}_{id}")),
    })))
}

#[derive(Deserialize)]
pub(super) struct MessageBody {
    #[serde(default, deserialize_with = "present")]
    text: Option<String>,
    #[serde(default, deserialize_with = "present")]
    template: Option<Template>,
    #[serde(default, deserialize_with = "present")]
    media: Option<MediaOut>,
    /// Id of a message of the conversation to quote.
    #[serde(default, deserialize_with = "present")]
    reply_to: Option<i64>,
}

impl MessageBody {
    fn outgoing(self) -> Result<Outgoing, Error> {
        match (self.text, self.template, self.media) {
            (Some(t), None, None) => Ok(Outgoing::Text(t)),
            (None, Some(t), None) => Ok(Outgoing::Template(t)),
            (None, None, Some(m)) => Ok(Outgoing::Media(m)),
            (None, None, None) => Err(bad_request(
                "invalid_field",
                "the body needs \"text\", \"template\" or \"media\"",
            )),
            _ => Err(bad_request(
                "invalid_field",
                "send one of \"text\", \"template\" or \"media\", not several",
            )),
        }
    }
}

/// `POST /api/v1/conversations/{id}/messages`: a reply from the assignee.
pub(super) async fn post_message(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    body: Body<MessageBody>,
) -> ApiResult<HttpResponse> {
    let (actor, id, body) = (auth.actor(), ConversationId(id.get()?), body.0);
    let created = state
        .store
        .write(move |c| {
            let auth = ops::authorize(c, &actor, Action::Reply, id)?;
            let b = body?;
            let quoted = b.reply_to.map(MessageId);
            send::reply_quoting(c, auth, b.outgoing()?, quoted)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Deserialize)]
pub(super) struct NoteBody {
    text: String,
    /// Staff ids to mention besides any `@Name` in the text.
    #[serde(default)]
    mentions: Vec<UserId>,
}

/// `POST /api/v1/conversations/{id}/notes`.
pub(super) async fn post_note(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    body: Body<NoteBody>,
) -> ApiResult<HttpResponse> {
    let (actor, id, body) = (auth.actor(), ConversationId(id.get()?), body.0);
    let created = state
        .store
        .write(move |c| {
            let auth = ops::authorize(c, &actor, Action::Note, id)?;
            let b = body?;
            ops::add_note(c, auth, &b.text, &b.mentions)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// `POST /api/v1/conversations/{id}/claim`.
pub(super) async fn post_claim(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let (actor, id) = (auth.actor(), ConversationId(id.get()?));
    let conv = state
        .store
        .write(move |c| ops::claim(c, ops::authorize(c, &actor, Action::Claim, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(conv))
}

/// `POST /api/v1/conversations/next`: "Take next" — claims the conversation whose customer has
/// waited longest in the caller's pools; 404 `nothing_waiting` when nobody waits.
pub(super) async fn post_next(auth: Auth, state: Data<AppState>) -> ApiResult<HttpResponse> {
    let actor = auth.actor();
    let conv = state
        .store
        .write(move |c| crate::service::take_next::take_next(c, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(conv))
}

#[derive(Deserialize)]
pub(super) struct AssignBody {
    #[serde(default, deserialize_with = "nullable")]
    assignee_id: Option<Option<UserId>>,
    #[serde(default, deserialize_with = "nullable")]
    team_id: Option<Option<TeamId>>,
    #[serde(default, deserialize_with = "present")]
    note: Option<String>,
}

/// `POST /api/v1/conversations/{id}/assign`: handoff, transfer or release to the pool.
pub(super) async fn post_assign(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    body: Body<AssignBody>,
) -> ApiResult<HttpResponse> {
    let (actor, id, body) = (auth.actor(), ConversationId(id.get()?), body.0);
    let conv = state
        .store
        .write(move |c| {
            let auth = ops::authorize(c, &actor, Action::Assign, id)?;
            let b = body?;
            let assignee = b.assignee_id.ok_or_else(|| {
                bad_request(
                    "invalid_field",
                    "\"assignee_id\" is required (null releases to the pool)",
                )
            })?;
            ops::assign(
                c,
                auth,
                AssignRequest {
                    assignee,
                    team: b.team_id,
                    note: b.note,
                },
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(conv))
}

#[derive(Deserialize)]
pub(super) struct StatusBody {
    status: Status,
    #[serde(default, deserialize_with = "present")]
    until: Option<String>,
}

/// `POST /api/v1/conversations/{id}/status`.
pub(super) async fn post_status(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    body: Body<StatusBody>,
) -> ApiResult<HttpResponse> {
    let (actor, id, body) = (auth.actor(), ConversationId(id.get()?), body.0);
    let conv = state
        .store
        .write(move |c| {
            let auth = ops::authorize(c, &actor, Action::SetStatus, id)?;
            let b = body?;
            let until = match b.until.as_deref() {
                Some(u) => Some(parse_rfc3339(u).ok_or_else(|| {
                    bad_request("invalid_field", "\"until\" must be an RFC 3339 time")
                })?),
                None => None,
            };
            ops::set_status(c, auth, b.status, until)
        })
        .await?;
    Ok(HttpResponse::Ok().json(conv))
}

#[derive(Deserialize)]
pub(super) struct TagsBody {
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
}

/// `POST /api/v1/conversations/{id}/tags`.
pub(super) async fn post_tags(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    body: Body<TagsBody>,
) -> ApiResult<HttpResponse> {
    let (actor, id, body) = (auth.actor(), ConversationId(id.get()?), body.0);
    let conv = state
        .store
        .write(move |c| {
            let auth = ops::authorize(c, &actor, Action::Tag, id)?;
            let b = body?;
            ops::tag(c, auth, &b.add, &b.remove)
        })
        .await?;
    Ok(HttpResponse::Ok().json(conv))
}

#[derive(Deserialize)]
pub(super) struct StartContact {
    phone: String,
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct StartBody {
    contact: StartContact,
    channel_id: ChannelId,
    #[serde(default, deserialize_with = "present")]
    text: Option<String>,
    #[serde(default, deserialize_with = "present")]
    template: Option<Template>,
}

/// `POST /api/v1/conversations`: start an outbound conversation; the caller becomes assignee.
pub(super) async fn post_start(
    auth: Auth,
    state: Data<AppState>,
    body: Body<StartBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner()?;
    let out = MessageBody {
        text: b.text,
        template: b.template,
        media: None,
        reply_to: None,
    }
    .outgoing()?;
    let actor = auth.actor();
    let conv = state
        .store
        .write(move |c| {
            send::start(
                c,
                &actor,
                b.channel_id,
                &b.contact.phone,
                b.contact.name.as_deref(),
                out,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(conv))
}
