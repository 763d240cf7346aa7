//! SLA policies (`/api/v1/sla-policies`): targets per team and priority (owner, manager).

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde::Deserialize;

use super::{nullable, present};
use crate::domain::Priority;
use crate::domain::policy::Capability;
use crate::domain::time::now_ms;
use crate::service::sla::{self, PolicyChange};
use crate::web::AppState;
use crate::web::auth::Auth;
use crate::web::body::{Body, PathId};
use crate::web::error::ApiResult;

#[derive(Deserialize)]
pub(super) struct PolicyBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    team_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    priority: Option<Option<Priority>>,
    #[serde(default, deserialize_with = "nullable")]
    first_response_secs: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    next_response_secs: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    resolution_secs: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    warn_at: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    business_hours: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pause_when_pending: Option<bool>,
}

impl From<PolicyBody> for PolicyChange {
    fn from(b: PolicyBody) -> Self {
        PolicyChange {
            name: b.name,
            team_id: b.team_id,
            priority: b.priority,
            first_response_secs: b.first_response_secs,
            next_response_secs: b.next_response_secs,
            resolution_secs: b.resolution_secs,
            warn_at: b.warn_at,
            business_hours: b.business_hours,
            pause_when_pending: b.pause_when_pending,
        }
    }
}

/// `GET /api/v1/sla-policies`.
pub(super) async fn list_policies(auth: Auth, state: Data<AppState>) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageRoutingSettings)?;
    let list = state.store.read(sla::list_policies).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": list, "next": null})))
}

/// `POST /api/v1/sla-policies`.
pub(super) async fn post_policy(
    auth: Auth,
    state: Data<AppState>,
    body: Body<PolicyBody>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageRoutingSettings)?;
    let b = body.into_inner()?;
    let p = state
        .store
        .write(move |c| sla::create_policy(c, b.into(), now_ms()))
        .await?;
    Ok(HttpResponse::Created().json(p))
}

/// `PATCH /api/v1/sla-policies/{id}`.
pub(super) async fn patch_policy(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    body: Body<PolicyBody>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageRoutingSettings)?;
    let id = id.get()?;
    let body = body.0;
    let p = state
        .store
        .write(move |c| {
            sla::find_policy(c, id)?;
            sla::update_policy(c, id, body?.into(), now_ms())
        })
        .await?;
    Ok(HttpResponse::Ok().json(p))
}
