//! Contacts, channels (and the API channel's inbound endpoint), settings and health.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::nullable;
use crate::domain::policy::{self, Capability};
use crate::domain::time::parse_rfc3339;
use crate::domain::{ChannelId, ChannelKind, ContactId};
use crate::service::inbound::{Inbound, receive};
use crate::service::{self, Error, clean_text, invalid};
use crate::store::{channels, contacts, conversations, events, now_ms, settings};
use crate::web::AppState;
use crate::web::auth::{Auth, bearer};
use crate::web::body::{Body, PathId};
use crate::web::error::ApiResult;

/// A contact with the conversations of theirs the caller may see; 404 if they may see none.
fn visible_contact(
    c: &rusqlite::Connection,
    auth_actor: &policy::Actor,
    id: ContactId,
) -> Result<Value, Error> {
    let contact = contacts::find_contact(c, id)?.ok_or(Error::NotFound("contact"))?;
    let settings = settings::load_settings(c)?;
    let scope = policy::scope(auth_actor, settings.agent_visibility);
    let mut convs = Vec::new();
    for (conv_id, ownership) in conversations::list_for_contact(c, id)? {
        if scope.contains(ownership)
            && let Some(conv) = conversations::find_conversation(c, conv_id)?
        {
            convs.push(conv);
        }
    }
    if convs.is_empty() && !auth_actor.is_manager() {
        return Err(Error::NotFound("contact"));
    }
    let mut v = serde_json::to_value(contact).map_err(crate::store::StoreError::from)?;
    v["conversations"] = serde_json::to_value(convs).map_err(crate::store::StoreError::from)?;
    Ok(v)
}

/// `GET /api/v1/contacts/{id}`.
pub(super) async fn show_contact(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let (actor, id) = (auth.actor(), ContactId(id.get()?));
    let v = state
        .store
        .read(move |c| visible_contact(c, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Deserialize)]
pub(super) struct ContactPatch {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    phone: Option<Option<String>>,
    attributes: Option<serde_json::Map<String, Value>>,
}

/// `PATCH /api/v1/contacts/{id}`.
pub(super) async fn patch_contact(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    body: Body<ContactPatch>,
) -> ApiResult<HttpResponse> {
    let (actor, id, body) = (auth.actor(), ContactId(id.get()?), body.0);
    let v = state
        .store
        .write(move |c| {
            visible_contact(c, &actor, id)?;
            let b = body?;
            let name = b
                .name
                .as_deref()
                .map(|n| clean_text("name", n, 200))
                .transpose()?;
            let phone = match &b.phone {
                Some(Some(p)) => Some(Some(service::messages::normalize_phone(p)?)),
                Some(None) => Some(None),
                None => None,
            };
            let attributes = b.attributes.map(Value::Object);
            if attributes
                .as_ref()
                .is_some_and(|a| a.to_string().len() > 16 * 1024)
            {
                return Err(invalid("too_long", "attributes are limited to 16 KiB"));
            }
            contacts::update_contact(
                c,
                id,
                name.as_deref(),
                phone.as_ref().map(|p| p.as_deref()),
                attributes.as_ref(),
            )?;
            events::insert_event(
                c,
                None,
                "contact.updated",
                Some(actor.id),
                &json!({"contact_id": id}),
                now_ms(),
            )?;
            visible_contact(c, &actor, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

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
