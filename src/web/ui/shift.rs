//! `/shift`: the end-of-shift screen — hand my open conversations (or, for a manager, someone's
//! with `?user=ID`) to one colleague or pool, each with its note, in one submit through the
//! handoff service (one transaction: all or nothing).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{form_outcome, frame, html, refusal, refused_page, see_other_notice};
use crate::domain::time::now_ms;
use crate::domain::{ConversationId, TeamId, UserId};
use crate::service::Error;
use crate::service::handoff::{self, HandoffRequest};
use crate::web::AppState;
use crate::web::session::Viewer;
use crate::web::views::shift::{ShiftForm, ShiftView, shift_page};

/// `?user=ID`: whose shift (default: the viewer's).
#[derive(Deserialize)]
pub(super) struct Whose {
    user: Option<i64>,
}

fn whose(viewer: &Viewer, q: &Whose) -> UserId {
    q.user.map(UserId).unwrap_or(viewer.user.id)
}

async fn render(
    viewer: &Viewer,
    state: &AppState,
    from: UserId,
    error: Option<(StatusCode, String)>,
    form: Option<&ShiftForm>,
) -> HttpResponse {
    let actor = viewer.user.actor();
    let sheet = state
        .store
        .read(move |c| handoff::shift_sheet(c, &actor, from))
        .await;
    let sheet = match sheet {
        Ok(s) => s,
        Err(e) => {
            return refused_page("End of shift", &e);
        }
    };
    let csrf = viewer.csrf();
    let f = frame(viewer, &csrf, "shift", None);
    let (status, msg) = form_outcome(&error);
    html(
        status,
        shift_page(
            &f,
            &ShiftView {
                sheet: &sheet,
                own: from == viewer.user.id,
                now: now_ms(),
                error: msg,
                form,
            },
        ),
    )
}

/// `GET /shift[?user=ID]`.
pub(super) async fn show_shift(
    viewer: Viewer,
    state: Data<AppState>,
    q: Query<Whose>,
) -> HttpResponse {
    let from = whose(&viewer, &q);
    render(&viewer, &state, from, None, None).await
}

/// Reads the submitted form: ticked ids (`c`), notes (`note_<id>`), target (`to`), `go_offline`.
fn read_form(fields: &[(String, String)]) -> ShiftForm {
    let mut form = ShiftForm::default();
    for (k, v) in fields {
        match k.as_str() {
            "c" => {
                if let Ok(id) = v.parse() {
                    form.ticked.insert(id);
                }
            }
            "to" => form.target = v.clone(),
            "go_offline" => form.go_offline = true,
            _ => {
                if let Some(id) = k.strip_prefix("note_").and_then(|s| s.parse().ok()) {
                    form.notes.insert(id, v.clone());
                }
            }
        }
    }
    form
}

/// The handoff the form asks for, or why it cannot be one.
fn request(form: &ShiftForm) -> Result<HandoffRequest, String> {
    let (assignee, team) = match form.target.split_once(':') {
        Some(("user", id)) => (id.parse().ok().map(UserId), None),
        Some(("team", id)) => (None, id.parse().ok().map(TeamId)),
        _ if form.target == "pool" => (None, None),
        _ if form.ticked.is_empty() => (None, None),
        _ => return Err("Choose who takes the conversations: a colleague or a pool.".into()),
    };
    if assignee.is_none() && team.is_none() && form.target.contains(':') {
        return Err("Choose who takes the conversations: a colleague or a pool.".into());
    }
    let notes: BTreeMap<ConversationId, String> = form
        .notes
        .iter()
        .filter(|(id, _)| form.ticked.contains(id))
        .map(|(&id, text)| (ConversationId(id), text.clone()))
        .collect();
    Ok(HandoffRequest {
        assignee,
        team,
        note: None,
        notes,
        conversation_ids: Some(form.ticked.iter().copied().map(ConversationId).collect()),
        go_offline: form.go_offline,
    })
}

/// The words for a refusal of the handoff, on the screen (nothing moved).
fn refusal_words(e: &Error) -> (StatusCode, String) {
    let (status, message) = refusal(e);
    match e {
        Error::Forbidden {
            code: "not_owner", ..
        } => (
            status,
            "One of these conversations changed hands or was resolved meanwhile, so nothing was \
             moved. The list below is up to date: check it and submit again."
                .into(),
        ),
        _ => (status, format!("Nothing was moved: {message}")),
    }
}

/// `POST /shift[?user=ID]`: one handoff for everything ticked.
pub(super) async fn post_shift(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    q: Query<Whose>,
    form: Form<Vec<(String, String)>>,
) -> HttpResponse {
    let from = whose(&viewer, &q);
    let fields = form.into_inner();
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let submitted = read_form(&fields);
    if viewer.check_csrf(csrf).is_err() {
        let e = (
            StatusCode::FORBIDDEN,
            "The form expired; reload the page and try again.".to_string(),
        );
        return render(&viewer, &state, from, Some(e), Some(&submitted)).await;
    }
    let hand = match request(&submitted) {
        Ok(r) => r,
        Err(words) => {
            let e = (StatusCode::UNPROCESSABLE_ENTITY, words);
            return render(&viewer, &state, from, Some(e), Some(&submitted)).await;
        }
    };
    let target_name = match (&hand.assignee, &hand.team) {
        (Some(_), _) | (_, Some(_)) => None,
        _ => Some("the pool".to_string()),
    };
    let actor = viewer.user.actor();
    let done = state
        .store
        .write(move |c| {
            let to = match (hand.assignee, hand.team) {
                (Some(u), _) => crate::store::users::find_user(c, u)?.map(|u| u.name),
                (None, Some(t)) => {
                    crate::store::teams::find_team(c, t)?.map(|t| format!("team {}'s pool", t.name))
                }
                _ => target_name,
            };
            let moved = handoff::hand_off(c, &actor, from, hand)?;
            Ok::<_, Error>((moved.len(), to.unwrap_or_default()))
        })
        .await;
    match done {
        Ok((moved, to)) => {
            let mut notice = match moved {
                0 => "Nothing handed over".to_string(),
                1 => format!("1 conversation handed to {to}"),
                n => format!("{n} conversations handed to {to}"),
            };
            if submitted.go_offline {
                notice.push_str(if from == viewer.user.id {
                    "; you are offline"
                } else {
                    "; set offline"
                });
            }
            see_other_notice(&req, "/", &notice)
        }
        Err(e) => {
            let e = refusal_words(&e);
            render(&viewer, &state, from, Some(e), Some(&submitted)).await
        }
    }
}
