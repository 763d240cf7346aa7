//! Contacts: one customer with the conversations of theirs the caller may see, and edits.

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde::Deserialize;
use serde_json::Value;

use super::nullable;
use crate::domain::ContactId;
use crate::domain::events::{ContactUpdated, Event};
use crate::domain::policy::{self};
use crate::domain::time::now_ms;
use crate::service::{self, Error, clean_text, invalid};
use crate::store::{contacts, conversations, events, settings};
use crate::web::AppState;
use crate::web::auth::Auth;
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
                &Event::ContactUpdated(ContactUpdated { contact_id: id }),
                Some(actor.id),
                now_ms(),
            )?;
            visible_contact(c, &actor, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(v))
}
