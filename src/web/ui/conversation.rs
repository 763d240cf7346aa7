//! `GET /c/{id}` and the actions on it (`POST /c/{id}/{action}`), through the same service
//! operations and policy as the API.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{frame, html, refusal, see_other};
use crate::domain::policy::Action;
use crate::domain::time::{now_ms, parse_rfc3339};
use crate::domain::{ConversationId, Status, TeamId, UserId};
use crate::service::conversation_page;
use crate::service::conversations::{self as ops, AssignRequest};
use crate::service::messages::{self as send, Outgoing};
use crate::service::{Error, bad_request};
use crate::web::AppState;
use crate::web::session::Viewer;
use crate::web::views::conversation::{ConversationView, conversation_page};
use crate::web::views::layout::message_page;

#[derive(Deserialize)]
pub(super) struct PageQuery {
    before: Option<String>,
    quote: Option<i64>,
}

async fn render(
    viewer: &Viewer,
    state: &AppState,
    id: ConversationId,
    before: Option<String>,
    error: Option<(StatusCode, String)>,
    quote: Option<i64>,
) -> HttpResponse {
    let actor = viewer.user.actor();
    let loaded = state
        .store
        .read(move |c| conversation_page::page(c, &actor, id, before.as_deref(), quote, now_ms()))
        .await;
    let p = match loaded {
        Ok(p) => p,
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
    if p.read_receipt {
        state.jobs.send_read_receipt(id);
    }
    let older = p.older.as_ref().map(|b| format!("/c/{id}?before={b}"));
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
                conv: &p.conv,
                items: &p.items,
                older,
                can: p.can,
                staff: &p.staff,
                teams: &p.teams,
                error: msg,
                canned: &p.canned,
                others: &p.others,
                now: p.now,
                free_text_allowed: p.free_text_allowed,
                quote: p.quote.clone(),
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
    let q = q.into_inner();
    super::mark_mentions_seen(&state, ConversationId(id), viewer.user.id).await;
    render(&viewer, &state, ConversationId(id), q.before, None, q.quote).await
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
                    ops::add_note(c, auth, &f.text.unwrap_or_default(), &[])?;
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
            conversation_page::still_visible(c, &actor, &conv)
        })
        .await;
    match done {
        Ok(true) => see_other(&req, &format!("/c/{}", id.0)),
        // Handed on out of sight: back to the inbox.
        Ok(false) => see_other(&req, "/"),
        Err(e) => {
            let r = refusal(&e);
            render(&viewer, &state, id, None, Some(r), None).await
        }
    }
}
