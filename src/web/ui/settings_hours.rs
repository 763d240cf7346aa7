//! `/settings/hours`: the shop's time zone, weekly hours, holidays and pending auto-resolve
//! (owner; managers all but the time zone), saved through the settings service the API's
//! `PATCH /api/v1/settings` uses, so the same validation speaks here.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

use super::{frame, html, refusal, see_other_notice};
use crate::domain::Role;
use crate::domain::calendar::zone_names;
use crate::domain::settings::Settings;
use crate::service::{Error, bad_request, workspace};
use crate::store::settings;
use crate::web::AppState;
use crate::web::session::Viewer;
use crate::web::views::layout::message_page;
use crate::web::views::settings_hours::{HoursView, WEEKDAYS, hours_page};

/// What to show instead of the stored values after a refusal of the hours form.
struct Typed {
    timezone: Option<String>,
    hours: BTreeMap<String, Vec<[String; 2]>>,
}

async fn render(
    viewer: &Viewer,
    state: &AppState,
    error: Option<(StatusCode, String)>,
    typed: Option<Typed>,
) -> HttpResponse {
    if !workspace::may_open_settings(viewer.user.role) {
        return html(
            StatusCode::FORBIDDEN,
            message_page("Settings", "Only owners and managers change settings."),
        );
    }
    let s: Settings = match state.store.read(settings::load_settings).await {
        Ok(s) => s,
        Err(e) => {
            let (st, m) = refusal(&Error::Store(e));
            return html(st, message_page("Settings", &m));
        }
    };
    let (timezone, hours) = match typed {
        Some(t) => (t.timezone.unwrap_or(s.timezone.clone()), t.hours),
        None => (s.timezone.clone(), s.business_hours.clone()),
    };
    let mut holidays = s.holidays.clone();
    holidays.sort();
    let zones = zone_names();
    let csrf = viewer.csrf();
    let f = frame(viewer, &csrf, "settings", None);
    let (status, msg) = match &error {
        Some((st, m)) => (*st, Some(m.as_str())),
        None => (StatusCode::OK, None),
    };
    html(
        status,
        hours_page(
            &f,
            &HoursView {
                timezone: &timezone,
                zones: &zones,
                hours: &hours,
                holidays: &holidays,
                auto_resolve_secs: s.auto_resolve_pending_secs,
                is_owner: viewer.user.role == Role::Owner,
                error: msg,
            },
        ),
    )
}

/// `GET /settings/hours`.
pub(super) async fn show_hours(viewer: Viewer, state: Data<AppState>) -> HttpResponse {
    render(&viewer, &state, None, None).await
}

fn all<'a>(fields: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .collect()
}

/// The weekly hours as typed: per weekday the ranges whose two times are filled; a range with
/// one time only is refused in words.
fn typed_hours(
    fields: &[(String, String)],
) -> (BTreeMap<String, Vec<[String; 2]>>, Option<String>) {
    let mut hours = BTreeMap::new();
    let mut problem = None;
    for (key, label) in WEEKDAYS {
        let opens = all(fields, &format!("{key}_open"));
        let closes = all(fields, &format!("{key}_close"));
        let mut ranges = Vec::new();
        for i in 0..opens.len().max(closes.len()) {
            let (o, c) = (
                opens.get(i).copied().unwrap_or(""),
                closes.get(i).copied().unwrap_or(""),
            );
            match (o.is_empty(), c.is_empty()) {
                (true, true) => {}
                (false, false) => ranges.push([o.to_string(), c.to_string()]),
                _ => {
                    problem.get_or_insert(format!(
                        "{label}: give both the opening and the closing time of a range, or clear both."
                    ));
                    ranges.push([o.to_string(), c.to_string()]);
                }
            }
        }
        if !ranges.is_empty() {
            hours.insert(key.to_string(), ranges);
        }
    }
    (hours, problem)
}

/// A settings refusal as this page says it: without the key's name, a weekday by its name
/// ("Monday: 12:00–15:00 overlaps 09:00–13:00").
fn in_words(message: &str) -> String {
    let plain = match message.split_once("\": ") {
        Some((head, rest)) if head.starts_with("invalid value for \"") => rest,
        _ => message,
    };
    for (key, name) in WEEKDAYS {
        if let Some(rest) = plain.strip_prefix(&format!("{key}: ")) {
            return format!("{name}: {rest}");
        }
    }
    let mut words = plain.to_string();
    if let Some(first) = words.get(..1) {
        words.replace_range(..1, &first.to_uppercase());
    }
    words
}

/// `POST /settings/hours/{hours|holiday_add|holiday_remove|auto_resolve}`.
pub(super) async fn post_hours(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    form: Form<Vec<(String, String)>>,
) -> HttpResponse {
    let fields = form.into_inner();
    let one = |key: &str| all(&fields, key).first().copied().unwrap_or("").to_string();
    if viewer.check_csrf(&one("csrf")).is_err() {
        let e = (
            StatusCode::FORBIDDEN,
            "The form expired; reload the page and try again.".to_string(),
        );
        return render(&viewer, &state, Some(e), None).await;
    }
    let action = req
        .match_info()
        .get("action")
        .unwrap_or_default()
        .to_string();
    let actor = viewer.user.actor();
    let mut typed = None;
    let patch: Result<(Value, &str), Error> = match action.as_str() {
        "hours" => {
            let (hours, problem) = typed_hours(&fields);
            let tz = all(&fields, "timezone").first().map(|s| s.to_string());
            let mut patch = serde_json::Map::new();
            patch.insert("business_hours".into(), json!(hours));
            if let Some(tz) = &tz {
                patch.insert("timezone".into(), json!(tz));
            }
            typed = Some(Typed {
                timezone: tz,
                hours,
            });
            match problem {
                Some(words) => Err(bad_request("invalid_setting", words)),
                None => Ok((Value::Object(patch), "Business hours saved")),
            }
        }
        "holiday_add" | "holiday_remove" => {
            let date = one("date").trim().to_string();
            let current = state.store.read(settings::load_settings).await;
            match current {
                Err(e) => Err(Error::Store(e)),
                Ok(s) => {
                    let mut list = s.holidays;
                    if action == "holiday_add" {
                        list.push(date.clone());
                    } else {
                        list.retain(|d| *d != date);
                    }
                    list.sort();
                    list.dedup();
                    let said = if action == "holiday_add" {
                        "Holiday added"
                    } else {
                        "Holiday removed"
                    };
                    Ok((json!({ "holidays": list }), said))
                }
            }
        }
        "auto_resolve" => match super::settings_sla::duration_secs(&one("value"), &one("unit")) {
            Ok(v) => Ok((
                json!({ "auto_resolve_pending_secs": v }),
                "Auto-resolve saved",
            )),
            Err(words) => Err(bad_request("invalid_setting", words)),
        },
        _ => Err(Error::NotFound("page")),
    };
    let result = match patch {
        Ok((patch, said)) => {
            state
                .store
                .write(move |c| workspace::patch_settings(c, &actor, &patch).map(|_| said))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(said) => see_other_notice(&req, "/settings/hours", said),
        Err(e) => {
            let (status, message) = refusal(&e);
            let e = (status, format!("Not saved: {}", in_words(&message)));
            render(&viewer, &state, Some(e), typed).await
        }
    }
}
