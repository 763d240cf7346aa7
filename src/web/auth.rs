//! Who is calling: the `Auth` extractor resolves a bearer token to an enabled user (401 if not).

use actix_web::{FromRequest, HttpRequest, dev::Payload, web::Data};
use futures_util::future::LocalBoxFuture;

use super::AppState;
use super::error::ApiError;
use crate::domain::policy::{Actor, Capability};
use crate::domain::time::now_ms;
use crate::service::{self, Error};
use crate::store::tokens::TokenKind;
use crate::store::users::{User, find_user_by_email};

/// The authenticated caller.
pub struct Auth {
    /// The user.
    pub user: User,
    /// The token used.
    pub token: String,
}

impl Auth {
    /// 403 unless the caller's role has `cap`.
    pub fn require(&self, cap: Capability) -> Result<(), Error> {
        service::require(self.user.role, cap)
    }

    /// The policy's view of the caller.
    pub fn actor(&self) -> Actor {
        self.user.actor()
    }
}

/// The bearer token of a request, if any.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let h = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = h.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>().cloned();
        // A bearer token wins; else the browser's session cookie, whose unsafe requests must
        // carry the session's CSRF token in X-CSRF-Token.
        let (token, kind) = match (bearer(req), super::session::cookie_session(req)) {
            (Some(t), _) => (Some(t), TokenKind::Api),
            (None, Some(s)) => (Some(s), TokenKind::Session),
            (None, None) => (None, TokenKind::Api),
        };
        let unsafe_method = !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
        let csrf = req
            .headers()
            .get("X-CSRF-Token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        Box::pin(async move {
            let (Some(state), Some(token)) = (state, token) else {
                return Err(Error::Unauthenticated(
                    "log in first: send Authorization: Bearer <token>".into(),
                )
                .into());
            };
            let t = token.clone();
            let user = state
                .store
                .read(move |c| service::auth::authenticate(c, &t, kind))
                .await?;
            let Some(user) = user else {
                return Err(Error::Unauthenticated(
                    "the token is not valid (expired, revoked or unknown)".into(),
                )
                .into());
            };
            if kind == TokenKind::Session
                && unsafe_method
                && !service::auth::check_csrf(&token, &csrf)
            {
                return Err(Error::Forbidden {
                    code: "csrf",
                    message: "send the page's CSRF token in X-CSRF-Token".into(),
                }
                .into());
            }
            Ok(Auth { user, token })
        })
    }
}

/// Password hashes computed at once (#12, memory). Each argon2 run holds 19 MiB for its
/// duration, so a shift change's logins at once would add 19 MiB each to the peak; on the 2-core
/// machines the product targets, more than two at once finish no sooner anyway. The rest wait.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Runs an argon2 computation `f` on a blocking thread, at most [`HASHING`]'s permits at once.
async fn argon2<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| Error::Internal(format!("the hashing queue closed: {e}")))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("hashing a password failed: {e}")))
}

/// Hashes a password on a blocking thread (argon2 is slow on purpose).
pub async fn hash_password(password: String) -> Result<String, Error> {
    argon2(move || service::auth::hash_password(&password)).await?
}

/// Checks an email and password with login throttling (per account and per address): the user,
/// or why not (429 while locked out, 401 otherwise). The same for the API and the login page.
pub async fn check_login(
    state: &AppState,
    req: &HttpRequest,
    email: &str,
    password: String,
) -> Result<User, Error> {
    let key = service::users::login_key(email);
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let retry = state
        .throttle
        .lock()
        .ok()
        .and_then(|mut t| t.check(&key, &address, now_ms()));
    if let Some(retry_after_secs) = retry {
        return Err(Error::RateLimited {
            message: format!(
                "Too many failed logins. Try again in {} minutes.",
                retry_after_secs.div_ceil(60)
            ),
            retry_after_secs,
        });
    }
    let wanted = key.clone();
    let found = state
        .store
        .read(move |c| find_user_by_email(c, &wanted))
        .await?;
    // An unknown email costs as much as a wrong password, so timing does not tell them apart.
    let hash = found.as_ref().map_or_else(
        || service::auth::dummy_hash().to_string(),
        |(_, h)| h.clone(),
    );
    let ok = argon2(move || service::auth::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let user = match found {
        Some((user, _)) if ok => user,
        _ => {
            if let Ok(mut t) = state.throttle.lock() {
                t.failed(&key, &address, now_ms());
            }
            return Err(Error::Unauthenticated("Wrong email or password.".into()));
        }
    };
    if user.disabled {
        return Err(Error::Unauthenticated(
            "This account is disabled; ask the owner.".into(),
        ));
    }
    if let Ok(mut t) = state.throttle.lock() {
        t.succeeded(&key);
    }
    Ok(user)
}

/// The throttle's account key for invitation links tried from `address`: a guessed token names
/// no account, so five dead or unknown links from one address lock that address out of links
/// (and count towards its 20 failures of any login) for the login window.
fn invitation_key(address: &str) -> String {
    format!("invitation-link@{address}")
}

/// The live link `token` opens, with its person, throttled like a login: the `/invite` page
/// and the API check every link through here, so guessing tokens is throttled whichever door
/// is used.
///
/// # Errors
/// 429 while this address is locked out (even for a good link); 410 `invitation_invalid` for
/// an unknown, used, expired or revoked link, counted as a failed attempt.
pub async fn check_invitation(
    state: &AppState,
    req: &HttpRequest,
    token: String,
) -> Result<(crate::store::invitations::Invitation, User), Error> {
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let key = invitation_key(&address);
    let retry = state
        .throttle
        .lock()
        .ok()
        .and_then(|mut t| t.check(&key, &address, now_ms()));
    if let Some(retry_after_secs) = retry {
        return Err(Error::RateLimited {
            message: format!(
                "Too many links that do not work were tried from here. Try again in {} minutes.",
                retry_after_secs.div_ceil(60)
            ),
            retry_after_secs,
        });
    }
    let found = state
        .store
        .read(move |c| service::invitations::check(c, &token))
        .await;
    if let Err(Error::Gone { message, .. }) = &found {
        // The request span says the path (never the query, which holds the token).
        tracing::info!(%address, reason = %message, "an invitation link that cannot be used was tried");
        if let Ok(mut t) = state.throttle.lock() {
            t.failed(&key, &address, now_ms());
        }
    }
    found
}

/// Accepts an invitation or reset link (the same for the API and the `/invite` page): checked
/// with [`check_invitation`] before the password is hashed; then, in one transaction, the
/// password and name set, every old session and token ended, the link used up and a token of
/// `kind` issued (a browser session when `expires_at` is given).
///
/// # Errors
/// As [`check_invitation`] (429, 410); 422 for a weak password or a bad name; 410 also when
/// the link was used by someone else in the meantime.
pub async fn accept_invitation(
    state: &AppState,
    req: &HttpRequest,
    token: String,
    password: String,
    name: Option<String>,
    kind: TokenKind,
    expires_at: Option<i64>,
) -> Result<service::invitations::Accepted, Error> {
    check_invitation(state, req, token.clone()).await?;
    let hash = hash_password(password).await?;
    let accepted = state
        .store
        .write(move |c| service::invitations::accept(c, &token, hash, name, kind, expires_at))
        .await?;
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    if let Ok(mut t) = state.throttle.lock() {
        t.succeeded(&invitation_key(&address));
    }
    tracing::info!(
        user = accepted.user.id.0,
        "a password was set with an invitation link"
    );
    Ok(accepted)
}
