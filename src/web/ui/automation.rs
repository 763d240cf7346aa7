//! `/settings/automation/{id}`: a channel's menu bot, away message and survey (owner, manager)
//! through `service::bot`, the same operations as `/api/v1/channels/{id}/automation`, with a
//! live preview (`/preview`, an htmx fragment) that needs no saving.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Query};
use actix_web::{HttpRequest, HttpResponse};

use super::{form_outcome, frame, html, refusal, refused_page, see_other_notice};
use crate::domain::bot::{Automation, Away, Csat, MAX_OPTIONS, Menu, MenuOption};
use crate::domain::policy::Capability;
use crate::domain::time::now_ms;
use crate::domain::{ChannelId, Priority};
use crate::service::{Error, bot, require};
use crate::store::{channels, teams};
use crate::web::AppState;
use crate::web::session::Viewer;
use crate::web::views::automation::{AutomationView, automation_page, preview_partial};

const TITLE: &str = "Automation";

fn channel_id(req: &HttpRequest) -> Result<ChannelId, Error> {
    req.match_info()
        .get("id")
        .and_then(|s| s.parse().ok())
        .map(ChannelId)
        .ok_or(Error::NotFound("channel"))
}

async fn render(
    viewer: &Viewer,
    state: &AppState,
    id: ChannelId,
    shown: Option<Automation>,
    error: Option<(StatusCode, String)>,
) -> HttpResponse {
    let loaded = async {
        require(viewer.user.role, Capability::ManageRoutingSettings)?;
        state
            .store
            .read(move |c| {
                let ch = channels::find_channel(c, id)?.ok_or(Error::NotFound("channel"))?;
                Ok::<_, Error>((ch, bot::automation(c, id)?, teams::list_teams(c)?))
            })
            .await
    }
    .await;
    let (ch, stored, teams) = match loaded {
        Ok(v) => v,
        Err(e) => {
            return refused_page(TITLE, &e);
        }
    };
    let csrf = viewer.csrf();
    let f = frame(viewer, &csrf, "settings", None);
    let (status, msg) = form_outcome(&error);
    let shown = shown.unwrap_or(stored);
    html(
        status,
        automation_page(
            &f,
            &AutomationView {
                channel: (ch.id.0, &ch.name, ch.kind),
                automation: &shown,
                teams: &teams,
                error: msg,
            },
        ),
    )
}

/// `GET /settings/automation/{id}`.
pub(super) async fn show_automation(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
) -> HttpResponse {
    match channel_id(&req) {
        Ok(id) => render(&viewer, &state, id, None, None).await,
        Err(e) => refused_page(TITLE, &e),
    }
}

/// A slug of a title for an option without an id ("Buy something" → `buy-something`).
fn slug(title: &str, i: usize) -> String {
    let s: String = title
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    let s = s
        .split('-')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() {
        format!("option-{}", i + 1)
    } else {
        s
    }
}

/// The automation a form describes (rows without a title are left out); the service checks it.
fn from_form(fields: &[(String, String)]) -> Automation {
    let one = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect()
    };
    let options = (0..MAX_OPTIONS)
        .filter_map(|i| {
            let title = one(&format!("opt_title_{i}")).trim();
            if title.is_empty() {
                return None;
            }
            let id = one(&format!("opt_id_{i}")).trim();
            Some(MenuOption {
                id: if id.is_empty() {
                    slug(title, i)
                } else {
                    id.to_string()
                },
                title: title.to_string(),
                team_id: one(&format!("opt_team_{i}")).parse().ok(),
                tags: list(one(&format!("opt_tags_{i}"))),
                priority: Priority::parse(one(&format!("opt_priority_{i}"))),
            })
        })
        .collect();
    Automation {
        menu: Menu {
            enabled: one("menu_enabled") == "1",
            text: one("menu_text").to_string(),
            options,
            // An empty or garbled number is refused by the check (below its minimum).
            timeout_secs: one("timeout_secs").trim().parse().unwrap_or(0),
            human_keywords: list(one("human_keywords")),
        },
        away: Away {
            enabled: one("away_enabled") == "1",
            text: one("away_text").to_string(),
        },
        csat: Csat {
            enabled: one("csat_enabled") == "1",
            text: one("csat_text").to_string(),
        },
    }
}

/// `GET /settings/automation/{id}/preview?…form fields…`: the preview fragment for the form as
/// it is now (nothing is saved).
pub(super) async fn show_preview(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    query: Query<Vec<(String, String)>>,
) -> HttpResponse {
    let found = async {
        require(viewer.user.role, Capability::ManageRoutingSettings)?;
        let id = channel_id(&req)?;
        state
            .store
            .read(move |c| channels::find_channel(c, id)?.ok_or(Error::NotFound("channel")))
            .await
    }
    .await;
    match found {
        Ok(ch) => {
            let a = from_form(&query.into_inner()).trimmed();
            html(StatusCode::OK, preview_partial(&a, ch.kind))
        }
        Err(e) => {
            let (st, m) = refusal(&e);
            html(st, maud::html! { p.alert role="alert" { (m) } })
        }
    }
}

/// `POST /settings/automation/{id}`: saves the whole automation.
pub(super) async fn post_automation(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    form: Form<Vec<(String, String)>>,
) -> HttpResponse {
    let fields = form.into_inner();
    let id = match channel_id(&req) {
        Ok(id) => id,
        Err(e) => return refused_page(TITLE, &e),
    };
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let a = from_form(&fields);
    if viewer.check_csrf(csrf).is_err() {
        let e = (
            StatusCode::FORBIDDEN,
            "The form expired; reload the page and try again.".to_string(),
        );
        return render(&viewer, &state, id, Some(a), Some(e)).await;
    }
    let result = async {
        require(viewer.user.role, Capability::ManageRoutingSettings)?;
        let a = a.clone();
        state
            .store
            .write(move |c| bot::put_automation(c, id, a, now_ms()))
            .await
    }
    .await;
    match result {
        Ok(_) => see_other_notice(
            &req,
            &format!("/settings/automation/{}", id.0),
            "Automation saved",
        ),
        Err(e) => {
            let (status, message) = refusal(&e);
            render(
                &viewer,
                &state,
                id,
                Some(a),
                Some((status, format!("Not saved: {message}"))),
            )
            .await
        }
    }
}
