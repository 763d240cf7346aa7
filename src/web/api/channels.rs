//! Channels: list, create and update them (owner), the API channel's inbound endpoint, and a
//! WhatsApp channel's message templates.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{nullable, present};
use crate::domain::policy::Capability;
use crate::domain::time::now_ms;
use crate::domain::{ChannelId, ChannelKind, TeamId};
use crate::service::inbound::{self, ApiInbound};
use crate::service::{self, Error};
use crate::store::channels;
use crate::web::AppState;
use crate::web::auth::{Auth, bearer};
use crate::web::body::{Body, PathId};
use crate::web::error::ApiResult;

/// `GET /api/v1/channels` (owner).
pub(super) async fn list_channels(auth: Auth, state: Data<AppState>) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageChannels)?;
    let list = state.store.read(channels::list_channels).await?;
    let items: Vec<_> = list.iter().map(service::channels::redact).collect();
    Ok(HttpResponse::Ok().json(json!({"items": items, "next": null})))
}

#[derive(Deserialize)]
pub(super) struct ChannelBody {
    kind: ChannelKind,
    name: String,
    #[serde(default, deserialize_with = "present")]
    config: Option<Value>,
    #[serde(default)]
    default_team_id: Option<TeamId>,
}

/// `POST /api/v1/channels` (owner).
pub(super) async fn post_channel(
    auth: Auth,
    state: Data<AppState>,
    body: Body<ChannelBody>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageChannels)?;
    let b = body.into_inner()?;
    let view = state
        .store
        .write(move |c| {
            let mut view =
                service::channels::create(c, b.kind, &b.name, &b.config.unwrap_or_default())?;
            if let Some(team) = b.default_team_id {
                service::channels::set_default_team(c, view.id, Some(team))?;
                view.default_team_id = Some(team);
            }
            Ok::<_, Error>(view)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Deserialize)]
pub(super) struct ChannelPatch {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    config: Option<Value>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    default_team_id: Option<Option<TeamId>>,
}

/// `PATCH /api/v1/channels/{id}` (owner): rename, or replace configuration keys (secrets stay
/// write-only).
pub(super) async fn patch_channel(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    body: Body<ChannelPatch>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageChannels)?;
    let (id, body) = (ChannelId(id.get()?), body.0);
    let view = state
        .store
        .write(move |c| {
            channels::find_channel(c, id)?.ok_or(Error::NotFound("channel"))?;
            let b = body?;
            if let Some(team) = b.default_team_id {
                service::channels::set_default_team(c, id, team)?;
            }
            service::channels::update(c, id, b.name.as_deref(), &b.config.unwrap_or_default())
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /api/v1/channels/{id}/inbound`: a customer message through an API channel,
/// authenticated with the channel's secret, idempotent on `external_id`.
pub(super) async fn post_inbound(
    req: HttpRequest,
    state: Data<AppState>,
    id: PathId,
    body: Body<ApiInbound>,
) -> ApiResult<HttpResponse> {
    let (secret, id) = (bearer(&req), id.get().ok().map(ChannelId));
    let channel = state
        .store
        .read(move |c| inbound::authenticate_api(c, id, secret.as_deref()))
        .await?;
    let checked = inbound::check_api(body.into_inner()?, now_ms())?;
    let landed = state
        .store
        .write(move |c| inbound::receive_api(c, channel, &checked))
        .await?;
    let body = json!({"conversation_id": landed.conversation_id, "message_id": landed.message_id});
    Ok(if landed.created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// `GET /api/v1/channels/{id}/templates`: the message templates of a WhatsApp channel's business
/// account, read from the Graph API (what an agent may send once the 24-hour window is closed).
pub(super) async fn list_templates(
    _auth: Auth,
    state: Data<AppState>,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let id = ChannelId(id.get()?);
    let items = service::channels::list_templates(&state.store, id).await?;
    Ok(HttpResponse::Ok().json(json!({"items": items, "next": null})))
}
