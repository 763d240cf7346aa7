//! `GET /c/{id}` and the actions on it (`POST /c/{id}/{action}`), through the same service
//! operations and policy as the API. Every action answers with a notice in words ("Handed to
//! Bruno Agent", "Snoozed until tomorrow 09:00"); a resolve or a transfer lands on a page that
//! offers to undo it for a few seconds. A refused reply or note comes back on screen, and a
//! conversation that changed hands out of sight says who has it now instead of "not found".

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{frame, html, refusal, see_other_notice};
use crate::domain::policy::Action;
use crate::domain::snooze::{self, Preset};
use crate::domain::time::now_ms;
use crate::domain::{ConversationId, Status, TeamId, UserId};
use crate::service::conversation_page;
use crate::service::conversations::{self as ops, AssignRequest};
use crate::service::messages::{self as send, Outgoing};
use crate::service::ownership_news;
use crate::service::{Error, bad_request};
use crate::web::AppState;
use crate::web::session::Viewer;
use crate::web::views::conversation::{ConversationView, conversation_page, lost_page};
use crate::web::views::layout::message_page;

#[derive(Deserialize)]
pub(super) struct PageQuery {
    before: Option<String>,
    quote: Option<i64>,
    undo: Option<i64>,
}

/// What a page shows besides the conversation: a refusal and the text it refused.
#[derive(Default)]
struct Extra {
    error: Option<(StatusCode, String)>,
    /// `(action, text)` of a refused reply or note.
    draft: Option<(String, String)>,
    quote: Option<i64>,
    undo: Option<i64>,
    before: Option<String>,
}

async fn render(viewer: &Viewer, state: &AppState, id: ConversationId, x: Extra) -> HttpResponse {
    let actor = viewer.user.actor();
    let (before, quote, undo) = (x.before.clone(), x.quote, x.undo);
    let loaded = state
        .store
        .read(move |c| {
            let now = now_ms();
            match conversation_page::page(c, &actor, id, before.as_deref(), quote, undo, now) {
                Ok(p) => Ok(Ok(p)),
                Err(Error::NotFound(w)) => {
                    match conversation_page::lost_page(c, &actor, id, undo, now)? {
                        Some(l) => Ok(Err(l)),
                        None => Err(Error::NotFound(w)),
                    }
                }
                Err(e) => Err(e),
            }
        })
        .await;
    let csrf = viewer.csrf();
    let f = frame(viewer, &csrf, "conversation", Some(id.0));
    let draft = x.draft.as_ref().map(|(a, t)| (a.as_str(), t.as_str()));
    let p = match loaded {
        Ok(Ok(p)) => p,
        Ok(Err(lost)) => {
            // Out of sight now: say who has it; a refused action is a conflict, not a 404.
            let (status, msg) = match &x.error {
                Some((s, _)) if *s == StatusCode::NOT_FOUND => {
                    let who = lost
                        .handover
                        .to
                        .as_ref()
                        .map_or("it is back in a pool you do not see".to_string(), |n| {
                            format!("{} has this conversation now", n.name)
                        });
                    (StatusCode::CONFLICT, Some(format!("Not sent: {who}.")))
                }
                Some((s, m)) => (*s, Some(m.clone())),
                // A page that tells something, not an error: a live update or the landing after
                // one's own transfer must not log a failed load in the browser.
                None => (StatusCode::OK, None),
            };
            // Not a conversation page for live updates and presence any more.
            let f = frame(viewer, &csrf, "lost", Some(id.0));
            let m = lost_page(&f, &lost, msg.as_deref(), draft.map(|(_, t)| t));
            return html(status, m);
        }
        // Out of sight and none of the viewer's business any more: a refused action still says
        // why it was refused (it names nobody), anything else is "not found".
        Err(Error::NotFound(_))
            if x.error
                .as_ref()
                .is_some_and(|(s, _)| *s != StatusCode::NOT_FOUND) =>
        {
            let (s, m) = x.error.unwrap_or_default();
            return html(s, message_page("Conversation", &m));
        }
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
    let (status, msg) = match &x.error {
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
                taken: p.taken.as_ref(),
                tz: &p.tz,
                snooze_presets: &p.snooze_presets,
                undo: p.undo.as_ref(),
                draft,
                viewer: viewer.user.id.0,
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
    let x = Extra {
        before: q.before,
        quote: q.quote,
        undo: q.undo,
        ..Extra::default()
    };
    render(&viewer, &state, ConversationId(id), x).await
}

#[derive(Deserialize)]
pub(super) struct ActionForm {
    csrf: String,
    text: Option<String>,
    note: Option<String>,
    to: Option<String>,
    status: Option<String>,
    until: Option<String>,
    preset: Option<String>,
    add: Option<String>,
    remove: Option<String>,
    reply_to: Option<i64>,
    name: Option<String>,
    language: Option<String>,
    params: Option<String>,
    event: Option<i64>,
}

/// A `datetime-local` value (`2026-11-30T09:00`), a wall time in the shop's zone `tz` → ms UTC
/// (like the snooze presets, whatever zone the phone is set to). A time skipped by a DST change
/// moves forward, a repeated one takes the earlier instant (jiff's compatible disambiguation).
fn local_time(value: &str, tz: &jiff::tz::TimeZone) -> Option<i64> {
    let civil: jiff::civil::DateTime = value.trim().parse().ok()?;
    let zoned = tz.to_ambiguous_zoned_datetime(civil).compatible().ok()?;
    Some(zoned.timestamp().as_millisecond())
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

/// `user:3`, `team:2` or `pool` from the transfer picker.
fn target(to: &str) -> Result<(Option<UserId>, Option<Option<TeamId>>), Error> {
    let num = |n: &str, what: &str| {
        n.parse::<i64>()
            .map_err(|_| bad_request("invalid_field", format!("pick a {what}")))
    };
    match to.split_once(':') {
        Some(("user", n)) => Ok((Some(UserId(num(n, "person")?)), None)),
        Some(("team", n)) => Ok((None, Some(Some(TeamId(num(n, "team")?))))),
        _ if to == "pool" => Ok((None, None)),
        _ => Err(bad_request(
            "invalid_field",
            "pick a person, a team or the pool",
        )),
    }
}

/// What a successful action says, and the change the page may offer to undo.
struct Done {
    visible: bool,
    notice: String,
    undo: Option<i64>,
}

/// `POST /c/{id}/{action}`: claim, take, reply, note, assign, status, tags, template, request,
/// undo.
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
    let f = form.into_inner();
    // A refused reply or note is put back on screen.
    let draft = matches!(action.as_str(), "reply" | "note")
        .then(|| f.text.clone().filter(|t| !t.trim().is_empty()))
        .flatten()
        .map(|t| (action.clone(), t));
    if viewer.check_csrf(&f.csrf).is_err() {
        let e = (
            StatusCode::FORBIDDEN,
            "The form expired; reload the page and try again.".to_string(),
        );
        let x = Extra {
            error: Some(e),
            draft,
            ..Extra::default()
        };
        return render(&viewer, &state, id, x).await;
    }
    let actor = viewer.user.actor();
    let done = state
        .store
        .write(move |c| {
            let now = now_ms();
            let mut undo_kind = None;
            let (conv, notice) = match action.as_str() {
                "claim" => (
                    ops::claim(c, ops::authorize(c, &actor, Action::Claim, id)?)?,
                    "Claimed".to_string(),
                ),
                "take" => (
                    ops::assign(
                        c,
                        ops::authorize(c, &actor, Action::Assign, id)?,
                        AssignRequest {
                            assignee: Some(actor.id),
                            team: None,
                            note: None,
                        },
                    )?,
                    "Taken over".to_string(),
                ),
                "reply" => {
                    let auth = ops::authorize(c, &actor, Action::Reply, id)?;
                    let quoted = f.reply_to.map(crate::domain::MessageId);
                    let text = Outgoing::Text(f.text.unwrap_or_default());
                    send::reply_quoting(c, auth, text, quoted)?;
                    (ops::view(c, id)?, "Sent".to_string())
                }
                "note" => {
                    let auth = ops::authorize(c, &actor, Action::Note, id)?;
                    ops::add_note(c, auth, &f.text.unwrap_or_default(), &[])?;
                    (ops::view(c, id)?, "Note added".to_string())
                }
                "assign" => {
                    let auth = ops::authorize(c, &actor, Action::Assign, id)?;
                    let (assignee, team) = target(&f.to.unwrap_or_default())?;
                    let conv = ops::assign(
                        c,
                        auth,
                        AssignRequest {
                            assignee,
                            team,
                            note: f.note,
                        },
                    )?;
                    let notice = match (&conv.assignee, &conv.team) {
                        (Some(a), _) if a.id == actor.id.0 => "Kept".to_string(),
                        (Some(a), _) => format!("Handed to {}", a.name),
                        (None, Some(t)) => format!("Released to the {} pool", t.name),
                        (None, None) => "Released to the pool".to_string(),
                    };
                    undo_kind = Some(false);
                    (conv, notice)
                }
                "status" => {
                    let auth = ops::authorize(c, &actor, Action::SetStatus, id)?;
                    let to = f
                        .status
                        .as_deref()
                        .and_then(Status::parse)
                        .ok_or_else(|| bad_request("invalid_field", "unknown status"))?;
                    let tz = conversation_page::load_shop_tz(c)?;
                    let until = match f.preset.as_deref().filter(|p| !p.is_empty()) {
                        Some(p) => Some(
                            Preset::parse(p)
                                .and_then(|p| snooze::until(p, now, &tz))
                                .ok_or_else(|| {
                                    bad_request("invalid_field", "that snooze is not offered now")
                                })?,
                        ),
                        None => f
                            .until
                            .as_deref()
                            .filter(|u| !u.is_empty())
                            .and_then(|u| local_time(u, &tz)),
                    };
                    let conv = ops::set_status(c, auth, to, until)?;
                    let notice = match (to, conv.snoozed_until) {
                        (Status::Snoozed, Some(u)) => {
                            format!("Snoozed until {}", snooze::describe(u.0, now, &tz))
                        }
                        (Status::Resolved, _) => "Resolved".to_string(),
                        (Status::Pending, _) => "Waiting on the customer".to_string(),
                        (Status::Open, _) => "Reopened".to_string(),
                        (other, _) => format!("Now {other}"),
                    };
                    undo_kind = (to == Status::Resolved).then_some(true);
                    (conv, notice)
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
                    (ops::view(c, id)?, "Template sent".to_string())
                }
                "request" => {
                    ops::request_handoff(c, ops::authorize(c, &actor, Action::Note, id)?)?;
                    let conv = ops::view(c, id)?;
                    let notice = match &conv.assignee {
                        Some(a) => format!("Asked {} for a handoff", a.name),
                        None => "Asked for a handoff".to_string(),
                    };
                    (conv, notice)
                }
                "tags" => (
                    ops::tag(
                        c,
                        ops::authorize(c, &actor, Action::Tag, id)?,
                        &tags(f.add.as_deref()),
                        &tags(f.remove.as_deref()),
                    )?,
                    "Tags saved".to_string(),
                ),
                "undo" => {
                    let event = f
                        .event
                        .ok_or_else(|| bad_request("invalid_field", "which change to undo?"))?;
                    (
                        ownership_news::undo(c, &actor, id, event, now)?,
                        "Undone".to_string(),
                    )
                }
                _ => return Err(Error::NotFound("action")),
            };
            let undo = match undo_kind {
                Some(status) => ownership_news::latest_change_by(c, actor.id, id, status)?,
                None => None,
            };
            Ok(Done {
                visible: conversation_page::still_visible(c, &actor, &conv)?,
                notice,
                undo,
            })
        })
        .await;
    match done {
        Ok(d) => {
            let to = match (d.undo, d.visible) {
                // The page of the change offers its Undo (out of sight, it says who has it now).
                (Some(e), _) => format!("/c/{}?undo={e}", id.0),
                (None, true) => format!("/c/{}", id.0),
                // Handed on out of sight: back to the inbox.
                (None, false) => "/".to_string(),
            };
            see_other_notice(&req, &to, &d.notice)
        }
        Err(e) => {
            let x = Extra {
                error: Some(refusal(&e)),
                draft,
                ..Extra::default()
            };
            render(&viewer, &state, id, x).await
        }
    }
}
