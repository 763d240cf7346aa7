//! Logging in and out, first-run setup, and the caller's own account.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::domain::UserStatus;
use crate::service::{self, Error};
use crate::store::tokens::TokenKind;
use crate::web::AppState;
use crate::web::auth::{Auth, check_login, hash_password};
use crate::web::body::Body;
use crate::web::error::ApiResult;

#[derive(Deserialize)]
pub(super) struct Login {
    email: String,
    password: String,
}

/// `POST /api/v1/auth/token`: email and password → a bearer token.
pub(super) async fn post_token(
    req: HttpRequest,
    state: Data<AppState>,
    body: Body<Login>,
) -> ApiResult<HttpResponse> {
    let login = body.into_inner()?;
    let user = check_login(&state, &req, &login.email, login.password).await?;
    let u = user.clone();
    let token = state
        .store
        .write(move |c| service::auth::issue_token(c, &u, TokenKind::Api, None))
        .await?;
    Ok(HttpResponse::Created().json(json!({"token": token, "user": user})))
}

/// `DELETE /api/v1/auth/token`: revokes the token in use.
pub(super) async fn delete_token(auth: Auth, state: Data<AppState>) -> ApiResult<HttpResponse> {
    let token = auth.token;
    state
        .store
        .write(move |c| service::auth::revoke(c, &token))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
pub(super) struct Setup {
    token: String,
    name: String,
    email: String,
    password: String,
}

/// `POST /api/v1/setup`: creates the first owner with the one-time token printed at start.
pub(super) async fn post_setup(
    state: Data<AppState>,
    body: Body<Setup>,
) -> ApiResult<HttpResponse> {
    let setup = body.into_inner()?;
    let token = setup.token.clone();
    if !state
        .store
        .read(move |c| service::auth::check_setup_token(c, &token))
        .await?
    {
        return Err(Error::Unauthenticated(
            "this setup link is not valid any more; restart teaminbox to get a new one, or log in"
                .into(),
        )
        .into());
    }
    let password = setup.password.clone();
    let hash = hash_password(password).await?;
    let user = state
        .store
        .write(move |c| {
            let user =
                service::auth::complete_setup(c, &setup.token, &setup.name, &setup.email, hash)?;
            let token = service::auth::issue_token(c, &user, TokenKind::Api, None)?;
            Ok::<_, Error>((user, token))
        })
        .await?;
    Ok(HttpResponse::Created().json(json!({"token": user.1, "user": user.0})))
}

/// `GET /api/v1/me`.
pub(super) async fn show_me(auth: Auth) -> HttpResponse {
    HttpResponse::Ok().json(auth.user)
}

#[derive(Deserialize)]
pub(super) struct StatusBody {
    status: UserStatus,
}

/// `PUT /api/v1/me/status`.
pub(super) async fn put_status(
    auth: Auth,
    state: Data<AppState>,
    body: Body<StatusBody>,
) -> ApiResult<HttpResponse> {
    let status = body.into_inner()?.status;
    let id = auth.user.id;
    let user = state
        .store
        .write(move |c| service::users::set_status(c, id, status))
        .await?;
    Ok(HttpResponse::Ok().json(user))
}
