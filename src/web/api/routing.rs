//! Routing rules (`/api/v1/routing-rules`): ordered rules that sort new and reopened
//! conversations (owner, manager).

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde::Deserialize;

use super::present;
use crate::domain::policy::Capability;
use crate::domain::routing::{Actions, Conditions};
use crate::domain::time::now_ms;
use crate::service::routing::{self, RuleChange};
use crate::web::AppState;
use crate::web::auth::Auth;
use crate::web::body::{Body, PathId};
use crate::web::error::ApiResult;

#[derive(Deserialize)]
pub(super) struct RuleBody {
    #[serde(default, deserialize_with = "present")]
    position: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    conditions: Option<Conditions>,
    #[serde(default, deserialize_with = "present")]
    actions: Option<Actions>,
}

impl From<RuleBody> for RuleChange {
    fn from(b: RuleBody) -> Self {
        RuleChange {
            position: b.position,
            conditions: b.conditions,
            actions: b.actions,
        }
    }
}

/// `GET /api/v1/routing-rules`: every rule in the order they are tried.
pub(super) async fn list_rules(auth: Auth, state: Data<AppState>) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageRoutingSettings)?;
    let list = state.store.read(routing::list_rules).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": list, "next": null})))
}

/// `POST /api/v1/routing-rules`.
pub(super) async fn post_rule(
    auth: Auth,
    state: Data<AppState>,
    body: Body<RuleBody>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageRoutingSettings)?;
    let b = body.into_inner()?;
    let rule = state
        .store
        .write(move |c| routing::create_rule(c, b.into(), now_ms()))
        .await?;
    Ok(HttpResponse::Created().json(rule))
}

/// `PATCH /api/v1/routing-rules/{id}`: a given `conditions` or `actions` replaces the old one.
pub(super) async fn patch_rule(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    body: Body<RuleBody>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageRoutingSettings)?;
    let id = id.get()?;
    let body = body.0;
    let rule = state
        .store
        .write(move |c| {
            routing::find_rule(c, id)?;
            routing::update_rule(c, id, body?.into(), now_ms())
        })
        .await?;
    Ok(HttpResponse::Ok().json(rule))
}

/// `DELETE /api/v1/routing-rules/{id}`: 204.
pub(super) async fn delete_rule(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageRoutingSettings)?;
    let id = id.get()?;
    state
        .store
        .write(move |c| routing::delete_rule(c, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
