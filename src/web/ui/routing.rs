//! `/settings/routing` (owner, manager): routing rules (add, delete), each team's assignment
//! mode and `sticky_owner`, through the same service operations as the API.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::{form_outcome, frame, html, refusal, refused_page, see_other_notice};
use crate::domain::policy::Capability;
use crate::domain::routing::{Actions, Conditions, HoursCondition};
use crate::domain::time::now_ms;
use crate::domain::{Assignment, Priority, TeamId};
use crate::service::routing::{self, RuleChange};
use crate::service::teams::TeamChange;
use crate::service::{self, Error, bad_request, require, workspace};
use crate::store::{settings, teams};
use crate::web::AppState;
use crate::web::session::Viewer;
use crate::web::views::routing::{RoutingView, routing_page};

async fn render(
    viewer: &Viewer,
    state: &AppState,
    error: Option<(StatusCode, String)>,
) -> HttpResponse {
    if let Err(e) = require(viewer.user.role, Capability::ManageRoutingSettings) {
        return refused_page("Routing", &e);
    }
    let loaded = state
        .store
        .read(|c| {
            Ok::<_, Error>((
                routing::list_rules(c)?,
                teams::list_teams(c)?,
                crate::store::channels::list_channels(c)?,
                settings::load_settings(c)?.sticky_owner,
            ))
        })
        .await;
    let (rules, teams, channels, sticky_owner) = match loaded {
        Ok(v) => v,
        Err(e) => {
            return refused_page("Routing", &e);
        }
    };
    let csrf = viewer.csrf();
    let f = frame(viewer, &csrf, "settings", None);
    let (status, msg) = form_outcome(&error);
    let channels: Vec<_> = channels.iter().map(service::channels::redact).collect();
    html(
        status,
        routing_page(
            &f,
            &RoutingView {
                rules: &rules,
                teams: &teams,
                channels: &channels,
                sticky_owner,
                error: msg,
            },
        ),
    )
}

/// `GET /settings/routing`.
pub(super) async fn show_routing(viewer: Viewer, state: Data<AppState>) -> HttpResponse {
    render(&viewer, &state, None).await
}

/// The form's fields (each at most once).
struct Fields(Vec<(String, String)>);

impl Fields {
    /// A field, trimmed; empty counts as absent.
    fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A comma-separated list; empty entries dropped.
    fn list(&self, key: &str) -> Option<Vec<String>> {
        self.one(key).map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect()
        })
    }

    fn number(&self, key: &str) -> Result<Option<i64>, Error> {
        self.one(key)
            .map(|v| {
                v.parse().map_err(|_| {
                    bad_request("invalid_field", format!("{key} must be a whole number"))
                })
            })
            .transpose()
    }
}

/// The new rule the add form describes.
fn rule_of(f: &Fields) -> Result<RuleChange, Error> {
    let hours = match f.one("business_hours") {
        None => None,
        Some("inside") => Some(HoursCondition::Inside),
        Some("outside") => Some(HoursCondition::Outside),
        Some(_) => {
            return Err(bad_request(
                "invalid_field",
                "time is inside or outside business hours",
            ));
        }
    };
    let priority = match f.one("priority") {
        None => None,
        Some(p) => Some(Priority::parse(p).ok_or_else(|| {
            bad_request("invalid_field", "priority is low, normal, high or urgent")
        })?),
    };
    Ok(RuleChange {
        position: f.number("position")?,
        conditions: Some(Conditions {
            channel_id: f.number("channel_id")?,
            keywords: f.list("keywords"),
            contact_tag: f.one("contact_tag").map(String::from),
            business_hours: hours,
        }),
        actions: Some(Actions {
            team_id: f.number("team_id")?,
            tags: f.list("tags"),
            priority,
        }),
    })
}

async fn apply(
    req: &HttpRequest,
    viewer: &Viewer,
    state: &AppState,
    f: Fields,
) -> Result<String, Error> {
    require(viewer.user.role, Capability::ManageRoutingSettings)?;
    let id: Option<i64> = req.match_info().get("id").and_then(|s| s.parse().ok());
    let path = req.path();
    if path == "/settings/routing" {
        let change = rule_of(&f)?;
        state
            .store
            .write(move |c| routing::create_rule(c, change, now_ms()))
            .await?;
        Ok("Rule added".into())
    } else if path == "/settings/routing/sticky" {
        let actor = viewer.user.actor();
        let patch = json!({"sticky_owner": f.one("sticky_owner").is_some()});
        state
            .store
            .write(move |c| workspace::patch_settings(c, &actor, &patch))
            .await?;
        Ok("Saved".into())
    } else if path.starts_with("/settings/routing/teams/") {
        let tid = TeamId(id.ok_or(Error::NotFound("team"))?);
        let mode = f
            .one("assignment")
            .and_then(Assignment::parse)
            .ok_or_else(|| {
                bad_request(
                    "invalid_field",
                    "choose manual, round robin or least loaded",
                )
            })?;
        let change = TeamChange {
            assignment: Some(mode),
            ..TeamChange::default()
        };
        let team = state
            .store
            .write(move |c| service::teams::update_team(c, tid, change))
            .await?;
        Ok(format!("Team {} saved", team.name))
    } else if path.ends_with("/delete") {
        let rid = id.ok_or(Error::NotFound("routing rule"))?;
        state
            .store
            .write(move |c| routing::delete_rule(c, rid))
            .await?;
        Ok("Rule deleted".into())
    } else {
        Err(Error::NotFound("page"))
    }
}

/// `POST /settings/routing`, `/settings/routing/{id}/delete`, `/settings/routing/teams/{id}`,
/// `/settings/routing/sticky`: one form each, then back to the page (303).
pub(super) async fn post_routing(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    form: Form<Vec<(String, String)>>,
) -> HttpResponse {
    let fields = Fields(form.into_inner());
    let csrf = fields
        .0
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if viewer.check_csrf(&csrf).is_err() {
        return render(
            &viewer,
            &state,
            Some((
                StatusCode::FORBIDDEN,
                "The form expired; reload the page and try again.".into(),
            )),
        )
        .await;
    }
    match apply(&req, &viewer, &state, fields).await {
        Ok(notice) => see_other_notice(&req, "/settings/routing", &notice),
        Err(e) => render(&viewer, &state, Some(refusal(&e))).await,
    }
}
