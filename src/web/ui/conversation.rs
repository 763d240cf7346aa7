//! `GET /c/{id}` and the actions on it (`POST /c/{id}/{action}`), through the same service
//! operations and policy as the API.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{frame, html, refusal, see_other};
use crate::domain::policy::{self, Action};
use crate::domain::time::parse_rfc3339;
use crate::domain::{ConversationId, Status, TeamId, UserId};
use crate::service::conversations::{self as ops, AssignRequest};
use crate::service::messages::{self as send, Outgoing};
use crate::service::{Error, bad_request};
use crate::store::users::Named;
use crate::store::{messages, settings, teams, users};
use crate::web::AppState;
use crate::web::session::Viewer;
use crate::web::views::conversation::{Can, ConversationView, conversation_page};
use crate::web::views::layout::message_page;

#[derive(Deserialize)]
pub(super) struct PageQuery {
    before: Option<String>,
    quote: Option<i64>,
}

fn parse_before(b: Option<&str>) -> Option<(i64, i64, i64)> {
    let mut it = b?.split('_').map(|p| p.parse::<i64>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

async fn render(
    viewer: &Viewer,
    state: &AppState,
    id: ConversationId,
    before: Option<(i64, i64, i64)>,
    error: Option<(StatusCode, String)>,
    quote: Option<i64>,
) -> HttpResponse {
    let actor = viewer.user.actor();
    let me = viewer.user.id;
    let loaded = state
        .store
        .read(move |c| {
            let auth = ops::authorize(c, &actor, Action::View, id)?;
            let (state, s) = (auth.state(), auth.settings());
            let conv = ops::show(c, &auth)?;
            let (items, older) = messages::timeline(c, id, before, 100)?;
            let vis = s.agent_visibility;
            let check = |a: Action| policy::check(&actor, vis, a, state.ownership()).is_ok();
            let can = Can {
                reply: check(Action::Reply),
                claim: state.assignee.is_none() && check(Action::Claim),
                assign: check(Action::Assign),
                status: check(Action::SetStatus),
                take_over: actor.is_manager() && state.assignee.is_some_and(|a| a != me),
            };
            let staff: Vec<Named> = users::list_users(c)?
                .into_iter()
                .filter(|u| !u.disabled && u.id != me)
                .map(|u| Named {
                    id: u.id.0,
                    name: u.name,
                })
                .collect();
            let teams: Vec<Named> = teams::list_teams(c)?
                .into_iter()
                .map(|t| Named {
                    id: t.id.0,
                    name: t.name,
                })
                .collect();
            let canned = crate::service::workspace::canned_json(c)?.to_string();
            // The contact's other conversations this viewer may see (other channels).
            let scope = policy::scope(&actor, vis);
            let mut others = Vec::new();
            for (cid, o) in crate::store::conversations::list_for_contact(c, conv.contact.id)? {
                if cid != id
                    && scope.contains(o)
                    && let Some(other) = crate::store::conversations::find_conversation(c, cid)?
                {
                    others.push(other);
                }
            }
            Ok::<_, Error>((conv, items, older, can, staff, teams, canned, others))
        })
        .await;
    let (conv, items, older, can, staff, teams, canned, others) = match loaded {
        Ok(v) => v,
        Err(e) => {
            let (s, m) = refusal(&e);
            let title = if s == StatusCode::NOT_FOUND {
                "Not found"
            } else {
                "Conversation"
            };
            let msg = if s == StatusCode::NOT_FOUND {
                "This conversation does not exist or is not yours to see."
            } else {
                &m
            };
            return html(s, message_page(title, msg));
        }
    };
    // The owner reading the conversation tells WhatsApp the customer's messages were read.
    if conv.assignee.as_ref().is_some_and(|a| a.id == me.0)
        && conv.channel.kind == crate::domain::ChannelKind::Whatsapp
    {
        actix_web::rt::spawn(crate::service::whatsapp::mark_read_on_open(
            state.store.clone(),
            id,
        ));
    }
    let older = older.map(|(a, t, i)| format!("/c/{id}?before={a}_{t}_{i}"));
    let csrf = viewer.csrf();
    let f = frame(viewer, &csrf, "conversation", Some(id.0));
    let (status, msg) = match &error {
        Some((s, m)) => (*s, Some(m.as_str())),
        None => (StatusCode::OK, None),
    };
    html(
        status,
        conversation_page(
            &f,
            &ConversationView {
                conv: &conv,
                items: &items,
                older,
                can,
                staff: &staff,
                teams: &teams,
                error: msg,
                canned: &canned,
                others: &others,
                now: crate::domain::time::now_ms(),
                quote: quote.and_then(|q| {
                    items.iter().find_map(|i| match i {
                        crate::store::messages::TimelineItem::Message { id, text, .. }
                            if *id == q =>
                        {
                            Some((q, text.chars().take(120).collect()))
                        }
                        _ => None,
                    })
                }),
            },
        ),
    )
}

/// `GET /c/{id}`.
pub(super) async fn show_conversation(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    q: Query<PageQuery>,
) -> HttpResponse {
    let Some(id) = req.match_info().get("id").and_then(|s| s.parse().ok()) else {
        return html(
            StatusCode::NOT_FOUND,
            message_page("Not found", "There is no such conversation."),
        );
    };
    render(
        &viewer,
        &state,
        ConversationId(id),
        parse_before(q.before.as_deref()),
        None,
        q.quote,
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct ActionForm {
    csrf: String,
    text: Option<String>,
    note: Option<String>,
    to: Option<String>,
    status: Option<String>,
    until: Option<String>,
    tz_offset_min: Option<i64>,
    add: Option<String>,
    remove: Option<String>,
    reply_to: Option<i64>,
    name: Option<String>,
    language: Option<String>,
    params: Option<String>,
}

/// A `datetime-local` value in the browser's zone (offset as JavaScript reports it) → ms UTC.
fn local_time(value: &str, offset_min: i64) -> Option<i64> {
    let v = if value.len() == 16 {
        format!("{value}:00Z")
    } else {
        format!("{value}Z")
    };
    parse_rfc3339(&v).map(|t| t + offset_min * 60_000)
}

fn tags(s: Option<&str>) -> Vec<String> {
    s.map(|s| {
        s.split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

/// `POST /c/{id}/{action}`: claim, take, reply, note, assign, status, tags.
pub(super) async fn post_action(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    form: Form<ActionForm>,
) -> HttpResponse {
    let Some(id) = req
        .match_info()
        .get("id")
        .and_then(|s| s.parse().ok())
        .map(ConversationId)
    else {
        return html(
            StatusCode::NOT_FOUND,
            message_page("Not found", "There is no such conversation."),
        );
    };
    let action = req
        .match_info()
        .get("action")
        .unwrap_or_default()
        .to_string();
    if viewer.check_csrf(&form.csrf).is_err() {
        let e = (
            StatusCode::FORBIDDEN,
            "The form expired; reload the page and try again.".to_string(),
        );
        return render(&viewer, &state, id, None, Some(e), None).await;
    }
    let f = form.into_inner();
    let actor = viewer.user.actor();
    let done = state
        .store
        .write(move |c| {
            let conv = match action.as_str() {
                "claim" => ops::claim(c, ops::authorize(c, &actor, Action::Claim, id)?)?,
                "take" => ops::assign(
                    c,
                    ops::authorize(c, &actor, Action::Assign, id)?,
                    AssignRequest {
                        assignee: Some(actor.id),
                        team: None,
                        note: None,
                    },
                )?,
                "reply" => {
                    let auth = ops::authorize(c, &actor, Action::Reply, id)?;
                    let quoted = f.reply_to.map(crate::domain::MessageId);
                    let text = Outgoing::Text(f.text.unwrap_or_default());
                    send::reply_quoting(c, auth, text, quoted)?;
                    ops::view(c, id)?
                }
                "note" => {
                    let auth = ops::authorize(c, &actor, Action::Note, id)?;
                    ops::add_note(c, auth, &f.text.unwrap_or_default())?;
                    ops::view(c, id)?
                }
                "assign" => {
                    let auth = ops::authorize(c, &actor, Action::Assign, id)?;
                    let to = f.to.unwrap_or_default();
                    let (assignee, team) = match to.split_once(':') {
                        Some(("user", n)) => (
                            Some(UserId(n.parse().map_err(|_| {
                                bad_request("invalid_field", "pick a person")
                            })?)),
                            None,
                        ),
                        Some(("team", n)) => (
                            None,
                            Some(Some(TeamId(
                                n.parse()
                                    .map_err(|_| bad_request("invalid_field", "pick a team"))?,
                            ))),
                        ),
                        _ if to == "pool" => (None, None),
                        _ => {
                            return Err(bad_request(
                                "invalid_field",
                                "pick a person, a team or the pool",
                            ));
                        }
                    };
                    ops::assign(
                        c,
                        auth,
                        AssignRequest {
                            assignee,
                            team,
                            note: f.note,
                        },
                    )?
                }
                "status" => {
                    let auth = ops::authorize(c, &actor, Action::SetStatus, id)?;
                    let to = f
                        .status
                        .as_deref()
                        .and_then(Status::parse)
                        .ok_or_else(|| bad_request("invalid_field", "unknown status"))?;
                    let until = f
                        .until
                        .as_deref()
                        .filter(|u| !u.is_empty())
                        .and_then(|u| local_time(u, f.tz_offset_min.unwrap_or(0)));
                    ops::set_status(c, auth, to, until)?
                }
                "template" => {
                    let auth = ops::authorize(c, &actor, Action::Reply, id)?;
                    let params = f
                        .params
                        .as_deref()
                        .unwrap_or_default()
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(String::from)
                        .collect();
                    let t = crate::service::messages::Template {
                        name: f.name.clone().unwrap_or_default(),
                        language: f.language.clone().unwrap_or_default(),
                        params,
                    };
                    send::reply(c, auth, Outgoing::Template(t))?;
                    ops::view(c, id)?
                }
                "request" => {
                    ops::request_handoff(c, ops::authorize(c, &actor, Action::Note, id)?)?;
                    ops::view(c, id)?
                }
                "tags" => ops::tag(
                    c,
                    ops::authorize(c, &actor, Action::Tag, id)?,
                    &tags(f.add.as_deref()),
                    &tags(f.remove.as_deref()),
                )?,
                _ => return Err(Error::NotFound("action")),
            };
            let s = settings::load_settings(c)?;
            let ownership = policy::Ownership {
                assignee: conv.assignee.as_ref().map(|a| UserId(a.id)),
                team: conv.team.as_ref().map(|t| TeamId(t.id)),
            };
            Ok::<_, Error>(policy::can_see(&actor, s.agent_visibility, ownership))
        })
        .await;
    match done {
        Ok(true) => {
            state.wake_outbox();
            see_other(&req, &format!("/c/{}", id.0))
        }
        // Handed on out of sight: back to the inbox.
        Ok(false) => see_other(&req, "/"),
        Err(e) => {
            let r = refusal(&e);
            render(&viewer, &state, id, None, Some(r), None).await
        }
    }
}
