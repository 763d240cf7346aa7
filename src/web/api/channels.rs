//! Channels: list, create and update them (owner), the API channel's inbound endpoint, and a
//! WhatsApp channel's message templates.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::domain::policy::Capability;
use crate::domain::time::{now_ms, parse_rfc3339};
use crate::domain::{ChannelId, ChannelKind};
use crate::service::inbound::{Inbound, receive};
use crate::service::{self, Error, clean_text, invalid};
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
    #[serde(default)]
    config: Value,
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
        .write(move |c| service::channels::create(c, b.kind, &b.name, &b.config))
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Deserialize)]
pub(super) struct ChannelPatch {
    name: Option<String>,
    #[serde(default)]
    config: Value,
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
            service::channels::update(c, id, b.name.as_deref(), &b.config)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
pub(super) struct InboundContact {
    identifier: String,
    name: Option<String>,
    phone: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct InboundBody {
    external_id: String,
    contact: InboundContact,
    text: String,
    timestamp: Option<Value>,
}

/// Longest inbound text accepted.
const MAX_INBOUND_TEXT: usize = 65_536;

/// A provider timestamp: unix seconds (or milliseconds), as a number or string, or RFC 3339.
fn parse_timestamp(v: &Value) -> Result<Option<i64>, Error> {
    let bad = || {
        invalid(
            "invalid_timestamp",
            "timestamp must be unix seconds or an RFC 3339 time",
        )
    };
    let ms = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_i64().ok_or_else(bad)?,
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(n) => n,
            Err(_) => return parse_rfc3339(s.trim()).map(Some).ok_or_else(bad),
        },
        _ => return Err(bad()),
    };
    let ms = if ms.abs() < 100_000_000_000 {
        ms.saturating_mul(1000)
    } else {
        ms
    };
    if ms <= 0 {
        return Err(bad());
    }
    Ok(Some(ms))
}

/// `POST /api/v1/channels/{id}/inbound`: a customer message through an API channel,
/// authenticated with the channel's secret, idempotent on `external_id`.
pub(super) async fn post_inbound(
    req: HttpRequest,
    state: Data<AppState>,
    id: PathId,
    body: Body<InboundBody>,
) -> ApiResult<HttpResponse> {
    let unauthenticated = || {
        Error::Unauthenticated("send the channel secret as Authorization: Bearer <secret>".into())
    };
    let secret = bearer(&req).ok_or_else(unauthenticated)?;
    // An id that names no channel fails like a wrong secret: 401 before anything else.
    let id = ChannelId(id.get().map_err(|_| unauthenticated())?);
    let channel = state
        .store
        .read(move |c| channels::find_channel(c, id))
        .await?;
    let channel = match channel {
        Some(ch)
            if ch.kind == ChannelKind::Api
                && ch
                    .secret
                    .as_deref()
                    .is_some_and(|s| bool::from(s.as_bytes().ct_eq(secret.as_bytes()))) =>
        {
            ch
        }
        _ => return Err(unauthenticated().into()),
    };
    let b = body.into_inner()?;
    let external_id = clean_text("external_id", &b.external_id, 255)?;
    let identifier = clean_text("contact.identifier", &b.contact.identifier, 255)?;
    if b.text.chars().count() > MAX_INBOUND_TEXT {
        return Err(invalid(
            "too_long",
            format!("text is longer than {MAX_INBOUND_TEXT} characters"),
        )
        .into());
    }
    if b.contact
        .name
        .as_deref()
        .is_some_and(|n| n.chars().count() > 200)
    {
        return Err(invalid("too_long", "contact.name is longer than 200 characters").into());
    }
    // A customer's message is never refused for an odd phone: keep it as given.
    let phone = b
        .contact
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            service::messages::normalize_phone(p).unwrap_or_else(|_| p.chars().take(40).collect())
        });
    let at = b
        .timestamp
        .as_ref()
        .map(parse_timestamp)
        .transpose()?
        .flatten()
        .map(|t| t.min(now_ms()));
    let landed = state
        .store
        .write(move |c| {
            receive(
                c,
                &Inbound {
                    channel: channel.id,
                    channel_kind: channel.kind,
                    external_id: &external_id,
                    identity_kind: "api",
                    identifier: &identifier,
                    name: b.contact.name.as_deref(),
                    phone: phone.as_deref(),
                    kind: "text",
                    text: &b.text,
                    payload: None,
                    at,
                },
            )
        })
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
    let channel = state
        .store
        .read(move |c| crate::store::channels::find_channel(c, id))
        .await?
        .filter(|c| c.kind == ChannelKind::Whatsapp)
        .ok_or(Error::NotFound("WhatsApp channel"))?;
    let cfg =
        crate::channels::whatsapp::WaConfig::from_config(&channel.config).ok_or_else(|| {
            crate::service::invalid(
                "invalid_config",
                "the channel's configuration is incomplete",
            )
        })?;
    let client = crate::channels::whatsapp::client(15_000)
        .map_err(|e| crate::service::invalid("templates_unavailable", e.to_string()))?;
    let items = crate::channels::whatsapp::graph::list_templates(&client, &cfg)
        .await
        .map_err(|e| {
            crate::service::invalid(
                "templates_unavailable",
                format!("WhatsApp did not list the templates: {e}"),
            )
        })?;
    Ok(HttpResponse::Ok().json(json!({"items": items, "next": null})))
}
