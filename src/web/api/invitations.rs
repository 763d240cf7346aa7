//! Invitation and password-reset links (#14): `POST`/`DELETE /api/v1/users/{id}/invitation`
//! (owner) and `POST /api/v1/invitations/accept` (anyone holding a link).

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{Value, json};

use super::present;
use crate::domain::UserId;
use crate::domain::policy::Capability;
use crate::domain::time::format_ms;
use crate::service::{self, invitations::Issued};
use crate::store::tokens::TokenKind;
use crate::store::users::User;
use crate::web::AppState;
use crate::web::auth::{Auth, accept_invitation};
use crate::web::body::{Body, PathId};
use crate::web::error::ApiResult;

/// `{"url", "expires_at", "kind"}` of a link just issued, built on the LAN base `base`.
fn link_json(issued: &Issued, base: &str) -> Value {
    json!({
        "url": issued.url(base),
        "expires_at": format_ms(issued.expires_at),
        "kind": issued.kind,
    })
}

/// A user as the API shows them, plus `"invitation": {"url", "expires_at", "kind"}`.
pub(super) fn with_invitation(user: &User, issued: &Issued, base: &str) -> Value {
    let mut v = serde_json::to_value(user).unwrap_or_else(|_| json!({}));
    v["invitation"] = link_json(issued, base);
    v
}

/// `POST /api/v1/users/{id}/invitation` (owner): a new one-time link for the user, revoking
/// the one they had. A user whose newest link is an unused invitation gets a fresh invitation;
/// anyone else a password reset. 201 `{"url", "expires_at", "kind"}`.
pub(super) async fn post_invitation(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageUsers)?;
    let id = UserId(id.get()?);
    let by = auth.user.id;
    let issued = state
        .store
        .write(move |c| service::invitations::reissue(c, id, Some(by)))
        .await?;
    Ok(HttpResponse::Created().json(link_json(&issued, state.base())))
}

/// `DELETE /api/v1/users/{id}/invitation` (owner): revokes the user's live link, if any. 204.
pub(super) async fn delete_invitation(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageUsers)?;
    let id = UserId(id.get()?);
    state
        .store
        .write(move |c| service::invitations::revoke(c, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
pub(super) struct AcceptBody {
    token: String,
    password: String,
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
}

/// `POST /api/v1/invitations/accept`: sets the password (and the name, when given) with a
/// link, ends every other session and token of that person, and answers 201 `{"token", "user"}`
/// like a login. 410 `invitation_invalid` for a used, expired, revoked or unknown link; 429
/// while throttled.
pub(super) async fn post_accept(
    req: HttpRequest,
    state: Data<AppState>,
    body: Body<AcceptBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner()?;
    let accepted = accept_invitation(
        &state,
        &req,
        b.token,
        b.password,
        b.name,
        TokenKind::Api,
        None,
    )
    .await?;
    Ok(HttpResponse::Created().json(json!({"token": accepted.token, "user": accepted.user})))
}
