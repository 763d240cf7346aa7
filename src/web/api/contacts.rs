//! Contacts: one customer with the conversations of theirs the caller may see, and edits.

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde::Deserialize;
use serde_json::Value;

use super::{nullable, present};
use crate::domain::ContactId;
use crate::service::contacts::{self, ContactPatch};
use crate::web::AppState;
use crate::web::auth::Auth;
use crate::web::body::{Body, PathId};
use crate::web::error::ApiResult;

/// `GET /api/v1/contacts/{id}`.
pub(super) async fn show_contact(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let (actor, id) = (auth.actor(), ContactId(id.get()?));
    let seen = state
        .store
        .read(move |c| contacts::show(c, &actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(seen.view()))
}

#[derive(Deserialize)]
pub(super) struct PatchBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    attributes: Option<serde_json::Map<String, Value>>,
}

/// `PATCH /api/v1/contacts/{id}`.
pub(super) async fn patch_contact(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    body: Body<PatchBody>,
) -> ApiResult<HttpResponse> {
    let (actor, id, body) = (auth.actor(), ContactId(id.get()?), body.0);
    let v = state
        .store
        .write(move |c| {
            let seen = contacts::show(c, &actor, id)?;
            let b = body?;
            let patch = ContactPatch {
                name: b.name,
                phone: b.phone,
                attributes: b.attributes,
            };
            contacts::patch(c, seen, patch)
        })
        .await?;
    Ok(HttpResponse::Ok().json(v))
}
