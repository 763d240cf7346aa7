//! Browser sessions: the `ti_session` cookie (HttpOnly, SameSite=Lax, Secure over TLS) names a
//! session token stored hashed; every state-changing browser request carries the session's CSRF
//! token (a hidden form field, or the `X-CSRF-Token` header for scripts).

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use futures_util::future::LocalBoxFuture;

use super::AppState;
use super::error::PageError;
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
    /// What the previous action left to say on this page ("Ana Agent added"), see
    /// [`super::notice`].
    pub notice: Option<String>,
    /// Id of the newest committed event when the request arrived: a page built now reflects at
    /// least that much, so its live stream resumes after it.
    pub last_event: i64,
    /// The shop's time zone (the `timezone` setting, an IANA name): every time a page shows,
    /// on the server or in app.js, is in it.
    pub timezone: String,
}

impl Viewer {
    /// The CSRF token to put in forms.
    pub fn csrf(&self) -> String {
        service::auth::csrf_token(&self.session)
    }

    /// Refuses (403) a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, given: &str) -> Result<(), service::Error> {
        if service::auth::check_csrf(&self.session, given) {
            Ok(())
        } else {
            Err(service::Error::Forbidden {
                code: "csrf",
                message: "the form expired; reload the page and try again".into(),
            })
        }
    }
}

/// Percent-encodes a path for a query parameter (`/` kept, so `?next=/c/12` stays readable).
pub fn encode(s: &str) -> String {
    const QUERY_PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(s, QUERY_PATH).to_string()
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
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>().cloned();
        let session = cookie_session(req);
        let notice_req = req
            .cookie(super::notice::COOKIE)
            .is_some()
            .then(|| req.clone());
        let next = match req.query_string() {
            "" => req.path().to_string(),
            q => format!("{}?{q}", req.path()),
        };
        Box::pin(async move {
            let (Some(state), Some(session)) = (state, session) else {
                return Err(PageError::Login { next });
            };
            let secret = session.clone();
            let found = state
                .store
                .read(move |c| {
                    let user = service::auth::authenticate(c, &secret, TokenKind::Session)?;
                    let tz = match user {
                        Some(_) => crate::store::settings::load_settings(c)?.timezone,
                        None => String::new(),
                    };
                    Ok::<_, service::Error>(user.map(|u| (u, tz)))
                })
                .await;
            match found {
                Ok(Some((user, timezone))) => Ok(Viewer {
                    timezone,
                    user,
                    notice: notice_req
                        .as_ref()
                        .and_then(|r| super::notice::take(r, &session)),
                    session,
                    last_event: state.store.subscribe().borrow().last_event_id,
                }),
                Ok(None) => Err(PageError::Login { next }),
                Err(e) => Err(PageError::Refused(e)),
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
