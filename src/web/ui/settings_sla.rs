//! `/settings/sla`: list, add and change SLA policies (owner, manager) through `service::sla`'s
//! create and update, the same operations as `/api/v1/sla-policies`.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form};
use actix_web::{HttpRequest, HttpResponse};

use super::{form_outcome, frame, html, refusal, refused_page, see_other_notice};
use crate::domain::Priority;
use crate::domain::policy::Capability;
use crate::domain::time::now_ms;
use crate::service::sla::{self, PolicyChange};
use crate::service::{Error, bad_request, require};
use crate::store::teams;
use crate::web::AppState;
use crate::web::session::Viewer;
use crate::web::views::settings_sla::{SlaView, sla_page};

async fn render(
    viewer: &Viewer,
    state: &AppState,
    error: Option<(StatusCode, String)>,
) -> HttpResponse {
    if let Err(e) = require(viewer.user.role, Capability::ManageRoutingSettings) {
        return refused_page("SLA policies", &e);
    }
    let loaded = state
        .store
        .read(|c| Ok::<_, Error>((sla::list_policies(c)?, teams::list_teams(c)?)))
        .await;
    let (policies, teams) = match loaded {
        Ok(v) => v,
        Err(e) => {
            return refused_page("SLA policies", &e);
        }
    };
    let csrf = viewer.csrf();
    let f = frame(viewer, &csrf, "settings", None);
    let (status, msg) = form_outcome(&error);
    html(
        status,
        sla_page(
            &f,
            &SlaView {
                policies: &policies,
                teams: &teams,
                error: msg,
            },
        ),
    )
}

/// `GET /settings/sla`.
pub(super) async fn show_sla(viewer: Viewer, state: Data<AppState>) -> HttpResponse {
    render(&viewer, &state, None).await
}

/// Seconds from a number and a unit (`s`, `min`, `h`, `d`); an empty number is `None`.
///
/// # Errors
/// Words for a number that is not whole or a unit that is not one of those.
pub(super) fn duration_secs(value: &str, unit: &str) -> Result<Option<i64>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let n: i64 = value
        .parse()
        .map_err(|_| format!("{value} is not a whole number"))?;
    let per = match unit {
        "s" => 1,
        "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err("choose seconds, minutes, hours or days".into()),
    };
    Ok(Some(n.saturating_mul(per)))
}

/// The policy the form describes; every field is set (an edit replaces the whole policy).
fn change(fields: &[(String, String)]) -> Result<PolicyChange, Error> {
    let one = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    };
    let target = |key: &str, words: &str| {
        duration_secs(one(&format!("{key}_value")), one(&format!("{key}_unit")))
            .map_err(|e| bad_request("invalid_field", format!("{words}: {e}")))
    };
    let team = match one("team") {
        "" => None,
        t => Some(
            t.parse()
                .map_err(|_| bad_request("invalid_field", "choose a team from the list"))?,
        ),
    };
    let priority = match one("priority") {
        "" => None,
        p => Some(
            Priority::parse(p)
                .ok_or_else(|| bad_request("invalid_field", "choose a priority from the list"))?,
        ),
    };
    let warn: f64 = one("warn_pct").parse().map_err(|_| {
        bad_request(
            "invalid_field",
            "warn at: a percentage of the target between 1 and 99",
        )
    })?;
    Ok(PolicyChange {
        name: Some(one("name").to_string()),
        team_id: Some(team),
        priority: Some(priority),
        first_response_secs: Some(target("first_response", "First response")?),
        next_response_secs: Some(target("next_response", "Next response")?),
        resolution_secs: Some(target("resolution", "Resolution")?),
        warn_at: Some(warn / 100.0),
        business_hours: Some(one("business_hours") == "1"),
        pause_when_pending: Some(one("pause_when_pending") == "1"),
    })
}

/// `POST /settings/sla` (add) and `POST /settings/sla/{id}` (change).
pub(super) async fn post_sla(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    form: Form<Vec<(String, String)>>,
) -> HttpResponse {
    let fields = form.into_inner();
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if viewer.check_csrf(csrf).is_err() {
        let e = (
            StatusCode::FORBIDDEN,
            "The form expired; reload the page and try again.".to_string(),
        );
        return render(&viewer, &state, Some(e)).await;
    }
    let id: Option<Result<i64, _>> = req.match_info().get("id").map(str::parse);
    let result = async {
        require(viewer.user.role, Capability::ManageRoutingSettings)?;
        let ch = change(&fields)?;
        match id {
            None => {
                let p = state
                    .store
                    .write(move |c| sla::create_policy(c, ch, now_ms()))
                    .await?;
                Ok(format!("Policy {} added", p.name))
            }
            Some(Ok(id)) => {
                let p = state
                    .store
                    .write(move |c| sla::update_policy(c, id, ch, now_ms()))
                    .await?;
                Ok(format!("Policy {} saved", p.name))
            }
            Some(Err(_)) => Err(Error::NotFound("sla policy")),
        }
    }
    .await;
    match result {
        Ok(said) => see_other_notice(&req, "/settings/sla", &said),
        Err(e) => {
            let (status, message) = refusal(&e);
            render(
                &viewer,
                &state,
                Some((status, format!("Not saved: {message}"))),
            )
            .await
        }
    }
}
