//! Browser sessions: the `ti_session` cookie (HttpOnly, SameSite=Lax, Secure over TLS) names a
//! session token stored hashed; every state-changing browser request carries the session's CSRF
//! token (a hidden form field, or the `X-CSRF-Token` header for scripts).

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header::LOCATION;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, dev::Payload};
use futures_util::future::LocalBoxFuture;

use super::AppState;
use crate::service::{self, auth::SESSION_MS};
use crate::store::tokens::TokenKind;
use crate::store::users::User;

/// Name of the session cookie.
pub const COOKIE: &str = "ti_session";

/// The logged-in person of a browser request.
pub struct Viewer {
    /// Who.
    pub user: User,
    /// Their session secret.
    pub session: String,
}

impl Viewer {
    /// The CSRF token to put in forms.
    pub fn csrf(&self) -> String {
        service::auth::csrf_token(&self.session)
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, given: &str) -> Result<(), NeedLogin> {
        if service::auth::check_csrf(&self.session, given) {
            Ok(())
        } else {
            Err(NeedLogin::Csrf)
        }
    }
}

/// Why a page cannot be shown to this request.
#[derive(Debug)]
pub enum NeedLogin {
    /// No valid session: go to the login page.
    Login(String),
    /// A form without the right CSRF token.
    Csrf,
    /// A fault of ours.
    Internal,
}

impl std::fmt::Display for NeedLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NeedLogin::Login(_) => f.write_str("log in first"),
            NeedLogin::Csrf => f.write_str("the form expired; reload the page and try again"),
            NeedLogin::Internal => f.write_str("something went wrong on our side"),
        }
    }
}

impl ResponseError for NeedLogin {
    fn status_code(&self) -> actix_web::http::StatusCode {
        match self {
            NeedLogin::Login(_) => actix_web::http::StatusCode::SEE_OTHER,
            NeedLogin::Csrf => actix_web::http::StatusCode::FORBIDDEN,
            NeedLogin::Internal => actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            NeedLogin::Login(next) => HttpResponse::SeeOther()
                .insert_header((LOCATION, format!("/login?next={}", encode(next))))
                .finish(),
            other => HttpResponse::build(other.status_code())
                .content_type("text/html; charset=utf-8")
                .body(
                    super::views::layout::message_page("teaminbox", &other.to_string())
                        .into_string(),
                ),
        }
    }
}

/// Percent-encodes a path for a query parameter.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The session secret of a request's cookie.
pub fn cookie_session(req: &HttpRequest) -> Option<String> {
    req.cookie(COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
}

/// Resolves a session secret to an enabled user.
pub async fn session_user(
    state: &AppState,
    session: String,
) -> Result<Option<User>, service::Error> {
    state
        .store
        .read(move |c| service::auth::authenticate(c, &session, TokenKind::Session))
        .await
}

impl FromRequest for Viewer {
    type Error = NeedLogin;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>().cloned();
        let session = cookie_session(req);
        let next = match req.query_string() {
            "" => req.path().to_string(),
            q => format!("{}?{q}", req.path()),
        };
        Box::pin(async move {
            let (Some(state), Some(session)) = (state, session) else {
                return Err(NeedLogin::Login(next));
            };
            match session_user(&state, session.clone()).await {
                Ok(Some(user)) => Ok(Viewer { user, session }),
                Ok(None) => Err(NeedLogin::Login(next)),
                Err(e) => {
                    tracing::error!(error = %e, "reading a session failed");
                    Err(NeedLogin::Internal)
                }
            }
        })
    }
}

/// The cookie that holds a new session.
pub fn session_cookie(req: &HttpRequest, token: String) -> Cookie<'static> {
    Cookie::build(COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(req.connection_info().scheme() == "https")
        .max_age(CookieDuration::milliseconds(SESSION_MS))
        .finish()
}

/// The cookie that ends a session in the browser.
pub fn clear_cookie() -> Cookie<'static> {
    let mut c = Cookie::build(COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish();
    c.make_removal();
    c
}
