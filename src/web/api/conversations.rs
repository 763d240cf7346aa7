//! Conversations: queue views, detail, timeline and every action on one.

use actix_web::HttpResponse;
use actix_web::web::{self, Data};
use serde::Deserialize;
use serde_json::json;

use super::{nullable, page_limit, parse_cursor};
use crate::domain::policy::{self, Action};
use crate::domain::time::parse_rfc3339;
use crate::domain::{ChannelId, ChannelKind, ConversationId, MessageId, Status, TeamId, UserId};
use crate::service::conversations::{self as ops, AssignRequest};
use crate::service::messages::{self as send, MediaOut, Outgoing, Template};
use crate::service::whatsapp;
use crate::service::{Error, bad_request};
use crate::store::conversations::{ConvQuery, StatusFilter, View, list_conversations};
use crate::store::whatsapp as wa_store;
use crate::store::{messages, settings};
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
}

/// `GET /api/v1/conversations`: a queue view, newest activity first.
pub(super) async fn list(
    auth: Auth,
    state: Data<AppState>,
    params: QueryOf<ListParams>,
) -> ApiResult<HttpResponse> {
    let p = params.get()?;
    let view = match p.view.as_deref().unwrap_or("all") {
        "unassigned" => View::Unassigned,
        "mine" => View::Mine,
        "pending" => View::Pending,
        "all" => View::All,
        other => {
            return Err(bad_request(
                "invalid_view",
                format!("unknown view \"{other}\": use unassigned, mine, pending or all"),
            )
            .into());
        }
    };
    let status = match p.status.as_deref() {
        None | Some("") => StatusFilter::Unresolved,
        Some("any") | Some("all") => StatusFilter::Any,
        Some(s) => StatusFilter::Is(Status::parse(s).ok_or_else(|| {
            bad_request(
                "invalid_status",
                format!("unknown status \"{s}\": use open, pending, snoozed, resolved or all"),
            )
        })?),
    };
    let before = match p.before.as_deref().filter(|b| !b.is_empty()) {
        Some(b) => {
            let v = parse_cursor(b, 2)?;
            Some((v[0], v[1]))
        }
        None => None,
    };
    let actor = auth.actor();
    let limit = page_limit(p.limit);
    let (items, next) = state
        .store
        .read(move |c| {
            let settings = settings::load_settings(c)?;
            let q = ConvQuery {
                view,
                viewer: actor.id,
                scope: policy::scope(&actor, settings.agent_visibility),
                team: p.team.map(TeamId),
                tag: p.tag.filter(|t| !t.is_empty()),
                status,
                q: p.q,
                limit,
                before,
            };
            Ok::<_, Error>(list_conversations(c, &q)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "items": items,
        "next": next.map(|(at, id)| format!("{at}_{id}")),
    })))
}

/// `GET /api/v1/conversations/{id}`.
pub(super) async fn show(auth: Auth, state: Data<AppState>, id: PathId) -> ApiResult<HttpResponse> {
    let (actor, id) = (auth.actor(), ConversationId(id.get()?));
    let me = actor.id;
    let conv = state
        .store
        .read(move |c| {
            ops::authorize(c, &actor, Action::View, id)?;
            ops::view(c, id)
        })
        .await?;
    // The owner opening a WhatsApp conversation tells the customer it was read.
    if conv.assignee.as_ref().is_some_and(|a| a.id == me.0)
        && conv.channel.kind == ChannelKind::Whatsapp
    {
        actix_web::rt::spawn(whatsapp::mark_read_on_open(state.store.clone(), id));
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
                    let v = parse_cursor(&b, 3)?;
                    Some((v[0], v[1], v[2]))
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
    text: Option<String>,
    template: Option<Template>,
    #[serde(default)]
    media: Option<MediaOut>,
    /// Id of a message of the conversation to quote.
    #[serde(default)]
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
            ops::authorize(c, &actor, Action::Reply, id)?;
            let b = body?;
            let quoted = b.reply_to.map(MessageId);
            send::reply_quoting(c, &actor, id, b.outgoing()?, quoted)
        })
        .await?;
    state.wake_outbox();
    Ok(HttpResponse::Created().json(created))
}

#[derive(Deserialize)]
pub(super) struct NoteBody {
    text: String,
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
            ops::authorize(c, &actor, Action::Note, id)?;
            ops::add_note(c, &actor, id, &body?.text)
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
        .write(move |c| ops::claim(c, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(conv))
}

#[derive(Deserialize)]
pub(super) struct AssignBody {
    #[serde(default, deserialize_with = "nullable")]
    assignee_id: Option<Option<UserId>>,
    #[serde(default, deserialize_with = "nullable")]
    team_id: Option<Option<TeamId>>,
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
            ops::authorize(c, &actor, Action::Assign, id)?;
            let b = body?;
            let assignee = b.assignee_id.ok_or_else(|| {
                bad_request(
                    "invalid_field",
                    "\"assignee_id\" is required (null releases to the pool)",
                )
            })?;
            ops::assign(
                c,
                &actor,
                id,
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
            ops::authorize(c, &actor, Action::SetStatus, id)?;
            let b = body?;
            let until = match b.until.as_deref() {
                Some(u) => Some(parse_rfc3339(u).ok_or_else(|| {
                    bad_request("invalid_field", "\"until\" must be an RFC 3339 time")
                })?),
                None => None,
            };
            ops::set_status(c, &actor, id, b.status, until)
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
            ops::authorize(c, &actor, Action::Tag, id)?;
            let b = body?;
            if b.add.len() + b.remove.len() > 50 {
                return Err(ops_invalid());
            }
            ops::tag(c, &actor, id, &b.add, &b.remove)
        })
        .await?;
    Ok(HttpResponse::Ok().json(conv))
}

fn ops_invalid() -> Error {
    crate::service::invalid("too_many_tags", "at most 50 tags at once")
}

#[derive(Deserialize)]
pub(super) struct StartContact {
    phone: String,
    name: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct StartBody {
    contact: StartContact,
    channel_id: ChannelId,
    text: Option<String>,
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
    state.wake_outbox();
    Ok(HttpResponse::Created().json(conv))
}

/// `GET /api/v1/messages/{id}/media`: the file of an inbound WhatsApp attachment, to staff who
/// can see its conversation.
pub(super) async fn show_media(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let (actor, id) = (auth.actor(), MessageId(id.get()?));
    let media = state
        .store
        .read(move |c| {
            let m = wa_store::find_media(c, id)?.ok_or(Error::NotFound("media"))?;
            ops::authorize(c, &actor, Action::View, m.conversation_id)?;
            Ok::<_, Error>(m)
        })
        .await?;
    let path = match (media.state.as_str(), &media.path) {
        ("done", Some(p)) => p.clone(),
        ("failed", _) => {
            return Err(crate::service::invalid(
                "media_unavailable",
                format!(
                    "the file could not be downloaded from WhatsApp: {}",
                    media.error.unwrap_or_default()
                ),
            )
            .into());
        }
        _ => {
            return Err(Error::Conflict {
                code: "media_pending",
                message: "the file is still being downloaded; try again shortly".into(),
                data: None,
            }
            .into());
        }
    };
    let dir = state
        .store
        .path()
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let bytes = web::block(move || std::fs::read(dir.join(path)))
        .await
        .map_err(|e| Error::Store(crate::store::StoreError::Join(e.to_string())))?
        .map_err(|_| Error::NotFound("media"))?;
    let (mime, inline) = safe_mime(media.mime_type.as_deref().unwrap_or(""));
    let name = media
        .filename
        .unwrap_or_else(|| format!("message-{}", id.0))
        .replace(|c: char| c == '"' || c == '\\' || c.is_control(), "_");
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header((
            "Content-Disposition",
            format!(
                "{}; filename=\"{name}\"",
                if inline { "inline" } else { "attachment" }
            ),
        ))
        .insert_header(("Cache-Control", "private, max-age=86400"))
        .body(bytes))
}

/// The type to serve a customer's file as: pictures, sound and video play inline; anything
/// else is a download, and types a browser would run (HTML, SVG…) become opaque bytes.
fn safe_mime(declared: &str) -> (String, bool) {
    let base = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let inline = matches!(
        base.as_str(),
        "image/jpeg" | "image/png" | "image/webp" | "image/gif" | "video/mp4" | "video/3gpp"
    ) || (base.starts_with("audio/") && !base.contains('+'));
    if inline {
        (declared.trim().to_string(), true)
    } else if matches!(base.as_str(), "application/pdf" | "text/plain")
        || base.starts_with("application/vnd.")
    {
        (base, false)
    } else {
        ("application/octet-stream".into(), false)
    }
}

/// `GET /api/v1/channels/{id}/templates`: the message templates of a WhatsApp channel's business
/// account, read from the Graph API (what an agent may send once the 24-hour window is closed).
pub(super) async fn list_templates(
    _auth: Auth,
    state: Data<AppState>,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let id = ChannelId(id.get()?);
    let channel = state
        .store
        .read(move |c| crate::store::channels::find_channel(c, id))
        .await?
        .filter(|c| c.kind == ChannelKind::Whatsapp)
        .ok_or(Error::NotFound("WhatsApp channel"))?;
    let cfg =
        crate::channels::whatsapp::WaConfig::from_config(&channel.config).ok_or_else(|| {
            crate::service::invalid(
                "invalid_config",
                "the channel's configuration is incomplete",
            )
        })?;
    let client = crate::channels::whatsapp::client(15_000)
        .map_err(|e| crate::service::invalid("templates_unavailable", e.to_string()))?;
    let items = crate::channels::whatsapp::graph::list_templates(&client, &cfg)
        .await
        .map_err(|e| {
            crate::service::invalid(
                "templates_unavailable",
                format!("WhatsApp did not list the templates: {e}"),
            )
        })?;
    Ok(HttpResponse::Ok().json(json!({"items": items, "next": null})))
}
