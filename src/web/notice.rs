//! The one-time notice ("Handed to Bruno", "Ana Agent added") that a successful browser action
//! leaves for the next page: a short-lived `ti_notice` cookie (HttpOnly, SameSite=Lax), signed
//! with the session so nothing but this server's answer to this session can set its text, shown
//! once in the frame's `#notice` and cleared by [`clear_shown`] in the same response.

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, SET_COOKIE};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Name of the notice cookie.
pub const COOKIE: &str = "ti_notice";

/// Longest notice kept, in characters (a notice is a short sentence; the rest is cut).
const MAX_CHARS: usize = 200;

/// Seconds a notice waits for the next page; one that was never shown is gone after this.
const MAX_AGE_SECS: i64 = 60;

/// Marks a request whose page took the notice, for [`clear_shown`].
#[derive(Clone, Copy)]
struct Shown;

fn mac(session: &str, text: &str) -> String {
    // HMAC takes a key of any length; an empty answer never verifies (see `take`).
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(session.as_bytes()) else {
        return String::new();
    };
    m.update(b"notice:");
    m.update(text.as_bytes());
    hex::encode(&m.finalize().into_bytes()[..12])
}

/// The cookie that carries `text` to the next page of `session` (cut to 200 characters).
pub fn cookie(req: &HttpRequest, session: &str, text: &str) -> Cookie<'static> {
    let text: String = text.chars().take(MAX_CHARS).collect();
    let value = format!(
        "{}.{}",
        mac(session, &text),
        percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC)
    );
    Cookie::build(COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(req.connection_info().scheme() == "https")
        .max_age(CookieDuration::seconds(MAX_AGE_SECS))
        .finish()
}

/// The notice waiting for `session`'s next page, if any and if this server signed it for that
/// session; the response then clears it (see [`clear_shown`]).
pub fn take(req: &HttpRequest, session: &str) -> Option<String> {
    let c = req.cookie(COOKIE)?;
    req.extensions_mut().insert(Shown);
    let (sig, encoded) = c.value().split_once('.')?;
    let text = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()?
        .into_owned();
    let expected = mac(session, &text);
    if expected.is_empty() {
        return None;
    }
    bool::from(subtle::ConstantTimeEq::ct_eq(
        expected.as_bytes(),
        sig.as_bytes(),
    ))
    .then_some(text)
}

/// Middleware: a response to a request whose page took the notice clears the cookie, unless the
/// response sets a new one (an action answered with the next notice).
pub async fn clear_shown(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut res = next.call(req).await?;
    if res.request().extensions().get::<Shown>().is_none() {
        return Ok(res);
    }
    let sets_new = res
        .headers()
        .get_all(SET_COOKIE)
        .any(|v| v.to_str().is_ok_and(|v| v.starts_with("ti_notice=")));
    if !sets_new {
        let mut gone = Cookie::build(COOKIE, "").path("/").http_only(true).finish();
        gone.make_removal();
        if let Ok(v) = HeaderValue::from_str(&gone.to_string()) {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn a_notice_reads_back_only_for_the_session_that_signed_it() {
        let req = TestRequest::default().to_http_request();
        let made = cookie(&req, "session-a", "Team Support created · «ok» 👍");
        let cases = [
            (
                "session-a",
                made.value().to_string(),
                Some("Team Support created · «ok» 👍"),
            ),
            ("session-b", made.value().to_string(), None),
            ("session-a", "0000.Hacked".to_string(), None),
            ("session-a", "no-dot".to_string(), None),
        ];
        for (session, value, want) in cases {
            let req = TestRequest::default()
                .cookie(Cookie::new(COOKIE, value.clone()))
                .to_http_request();
            assert_eq!(take(&req, session).as_deref(), want, "{session} {value}");
        }
    }

    #[test]
    fn a_long_notice_is_cut() {
        let req = TestRequest::default().to_http_request();
        let long = "x".repeat(500);
        let made = cookie(&req, "s", &long);
        let req = TestRequest::default().cookie(made).to_http_request();
        assert_eq!(take(&req, "s").map(|t| t.len()), Some(MAX_CHARS));
    }
}
