//! Logging in and out, first-run setup, and the caller's own account.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::domain::UserStatus;
use crate::service::{self, Error};
use crate::store::now_ms;
use crate::store::tokens::TokenKind;
use crate::store::users::find_user_by_email;
use crate::web::AppState;
use crate::web::auth::{Auth, hash_password};
use crate::web::body::Body;
use crate::web::error::ApiResult;

#[derive(Deserialize)]
pub(super) struct Login {
    email: String,
    password: String,
}

fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

async fn verify(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || service::auth::verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

/// `POST /api/v1/auth/token`: email and password → a bearer token.
pub(super) async fn post_token(
    req: HttpRequest,
    state: Data<AppState>,
    body: Body<Login>,
) -> ApiResult<HttpResponse> {
    let login = body.into_inner()?;
    let address = client_address(&req);
    let retry = state
        .throttle
        .lock()
        .ok()
        .and_then(|mut t| t.check(&login.email, &address, now_ms()));
    if let Some(retry_after_secs) = retry {
        return Err(Error::RateLimited {
            message: format!(
                "too many failed logins; try again in {} minutes",
                retry_after_secs.div_ceil(60)
            ),
            retry_after_secs,
        }
        .into());
    }
    let email = login.email.trim().to_string();
    let found = state
        .store
        .read(move |c| find_user_by_email(c, &email))
        .await?;
    let hash = found.as_ref().map_or_else(
        || service::auth::dummy_hash().to_string(),
        |(_, h)| h.clone(),
    );
    let ok = verify(login.password, hash).await;
    let user = match found {
        Some((user, _)) if ok => user,
        _ => {
            if let Ok(mut t) = state.throttle.lock() {
                t.failed(&login.email, &address, now_ms());
            }
            return Err(Error::Unauthenticated("wrong email or password".into()).into());
        }
    };
    if user.disabled {
        return Err(
            Error::Unauthenticated("this account is disabled; ask the owner".into()).into(),
        );
    }
    if let Ok(mut t) = state.throttle.lock() {
        t.succeeded(&login.email);
    }
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
