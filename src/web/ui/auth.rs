//! Login, logout and first-run setup in the browser.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{html, refusal, see_other};
use crate::domain::time::now_ms;
use crate::service::{self, Error};
use crate::store::tokens::TokenKind;
use crate::web::AppState;
use crate::web::auth::{check_login, hash_password};
use crate::web::session::{Viewer, clear_cookie, cookie_session, session_cookie, session_user};
use crate::web::views::auth::{login_page, setup_page};
use crate::web::views::layout::message_page;

/// A POST without a session must come from our own pages (login CSRF).
pub(super) fn same_origin(req: &HttpRequest) -> bool {
    let host = req.connection_info().host().to_string();
    match req.headers().get("Origin").and_then(|v| v.to_str().ok()) {
        Some(origin) => origin.split("://").nth(1).is_some_and(|h| h == host),
        None => true,
    }
}

#[derive(Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

/// `GET /login`.
pub(super) async fn show_login(
    req: HttpRequest,
    state: Data<AppState>,
    q: Query<NextQuery>,
) -> HttpResponse {
    let next = service::auth::safe_next(q.next.as_deref()).to_string();
    if let Some(s) = cookie_session(&req)
        && let Ok(Some(_)) = session_user(&state, s).await
    {
        return see_other(&req, &next);
    }
    html(StatusCode::OK, login_page(None, "", &next))
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// `POST /login`: the same checks and throttling as the API's token login.
pub(super) async fn post_login(
    req: HttpRequest,
    state: Data<AppState>,
    form: Form<LoginForm>,
) -> HttpResponse {
    let f = form.into_inner();
    let next = service::auth::safe_next(f.next.as_deref()).to_string();
    if !same_origin(&req) {
        return html(
            StatusCode::FORBIDDEN,
            login_page(Some("Log in from this site's own page."), &f.email, &next),
        );
    }
    let user = match check_login(&state, &req, &f.email, f.password.clone()).await {
        Ok(u) => u,
        Err(e) => {
            let (status, m) = refusal(&e);
            return html(status, login_page(Some(&m), &f.email, &next));
        }
    };
    let expires = now_ms() + service::auth::SESSION_MS;
    let token = state
        .store
        .write(move |c| service::auth::issue_token(c, &user, TokenKind::Session, Some(expires)))
        .await;
    match token {
        Ok(t) => {
            let mut resp = see_other(&req, &next);
            let _ = resp.add_cookie(&session_cookie(&req, t));
            resp
        }
        Err(e) => {
            let (s, m) = refusal(&e);
            html(s, login_page(Some(&m), &f.email, &next))
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

/// `POST /logout`: ends this session everywhere it is stored.
pub(super) async fn post_logout(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    form: Form<CsrfForm>,
) -> HttpResponse {
    if viewer.check_csrf(&form.csrf).is_err() {
        return html(
            StatusCode::FORBIDDEN,
            message_page(
                "Log out",
                "The form expired; reload the page and try again.",
            ),
        );
    }
    let session = viewer.session.clone();
    let _ = state
        .store
        .write(move |c| service::auth::revoke(c, &session))
        .await;
    let mut resp = HttpResponse::SeeOther()
        .insert_header(("Location", "/login"))
        .finish();
    if req.headers().contains_key("HX-Request") {
        resp = HttpResponse::Ok()
            .insert_header(("HX-Redirect", "/login"))
            .finish();
    }
    let _ = resp.add_cookie(&clear_cookie());
    resp
}

#[derive(Deserialize)]
pub(super) struct TokenQuery {
    token: Option<String>,
}

/// `GET /setup?token=…`: the first-run page, only while there is no user.
pub(super) async fn show_setup(state: Data<AppState>, q: Query<TokenQuery>) -> HttpResponse {
    let token = q.token.clone().unwrap_or_default();
    let t = token.clone();
    match state
        .store
        .read(move |c| service::auth::check_setup_token(c, &t))
        .await
    {
        Ok(true) => html(StatusCode::OK, setup_page(&token, None, "", "")),
        Ok(false) => html(
            StatusCode::NOT_FOUND,
            message_page(
                "Setup link not valid",
                "This setup link was used or replaced. Log in, or restart teaminbox to get a new link if nobody has an account yet.",
            ),
        ),
        Err::<_, Error>(e) => {
            let (s, m) = refusal(&e);
            html(s, message_page("Setup", &m))
        }
    }
}

#[derive(Deserialize)]
pub(super) struct SetupForm {
    token: String,
    name: String,
    email: String,
    password: String,
}

/// `POST /setup`: creates the owner, logs them in.
pub(super) async fn post_setup(
    req: HttpRequest,
    state: Data<AppState>,
    form: Form<SetupForm>,
) -> HttpResponse {
    let f = form.into_inner();
    let again = |e: &Error| {
        let (s, m) = refusal(e);
        html(s, setup_page(&f.token, Some(&m), &f.name, &f.email))
    };
    if !same_origin(&req) {
        return again(&service::forbidden("set up from this site's own page"));
    }
    let hash = match hash_password(f.password.clone()).await {
        Ok(h) => h,
        Err(e) => return again(&e),
    };
    let (token, name, email) = (f.token.clone(), f.name.clone(), f.email.clone());
    let done = state
        .store
        .write(move |c| {
            let user = service::auth::complete_setup(c, &token, &name, &email, hash)?;
            let expires = now_ms() + service::auth::SESSION_MS;
            service::auth::issue_token(c, &user, TokenKind::Session, Some(expires))
        })
        .await;
    match done {
        Ok(session) => {
            let mut resp = see_other(&req, "/");
            let _ = resp.add_cookie(&session_cookie(&req, session));
            resp
        }
        Err(e) => again(&e),
    }
}
