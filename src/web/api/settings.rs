//! Workspace settings and the health check.

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde_json::{Value, json};

use crate::domain::policy::Capability;
use crate::service::{self};
use crate::store::settings;
use crate::web::AppState;
use crate::web::auth::Auth;
use crate::web::body::Body;
use crate::web::error::ApiResult;

/// `GET /api/v1/settings`.
pub(super) async fn show_settings(_auth: Auth, state: Data<AppState>) -> ApiResult<HttpResponse> {
    let s = state.store.read(settings::load_settings).await?;
    Ok(HttpResponse::Ok().json(s))
}

/// `PATCH /api/v1/settings` (owner; managers the routing and SLA keys).
pub(super) async fn patch_settings(
    auth: Auth,
    state: Data<AppState>,
    body: Body<Value>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageRoutingSettings)?;
    let (actor, body) = (auth.actor(), body.0);
    let s = state
        .store
        .write(move |c| service::workspace::patch_settings(c, &actor, &body?))
        .await?;
    Ok(HttpResponse::Ok().json(s))
}

/// `GET /healthz`: the process answers and the database reads.
pub(super) async fn show_health(state: Data<AppState>) -> ApiResult<HttpResponse> {
    state
        .store
        .read(|c| settings::load_settings(c).map(|_| ()))
        .await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ok"})))
}
