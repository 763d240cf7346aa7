//! A channel's automation (`/api/v1/channels/{id}/automation`, #13): the menu bot, away message
//! and satisfaction survey, read by any staff member and written whole by owners and managers.

use actix_web::HttpResponse;
use actix_web::web::Data;

use crate::domain::ChannelId;
use crate::domain::bot::Automation;
use crate::domain::policy::Capability;
use crate::domain::time::now_ms;
use crate::service::bot;
use crate::web::AppState;
use crate::web::auth::Auth;
use crate::web::body::{Body, PathId};
use crate::web::error::ApiResult;

/// `GET /api/v1/channels/{id}/automation`: `{"menu","away","csat"}` (all off until written).
pub(super) async fn show_automation(
    _auth: Auth,
    state: Data<AppState>,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let channel = ChannelId(id.get()?);
    let a = state
        .store
        .read(move |c| bot::automation(c, channel))
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

/// `PUT /api/v1/channels/{id}/automation` (owner, manager): the whole object; unknown keys are
/// a 400, Meta's limits and unknown teams a 422.
pub(super) async fn put_automation(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    body: Body<Automation>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageRoutingSettings)?;
    let channel = ChannelId(id.get()?);
    let body = body.0;
    let a = state
        .store
        .write(move |c| {
            bot::automation(c, channel)?;
            bot::put_automation(c, channel, body?, now_ms())
        })
        .await?;
    Ok(HttpResponse::Ok().json(a))
}
