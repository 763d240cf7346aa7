//! The HTTP face of errors, one map for the API and the pages: [`status_of`] gives every
//! `service::Error` its status, stable code and a message safe to show. The API answers
//! `{"error": {"code", "message"}}` ([`ApiError`]); pages show the same status with the message in
//! HTML ([`refusal`], [`PageError`]), and send a visitor without a session to the login page. A
//! 500 logs its cause with the request id and shows a generic message naming that id.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::service::Error;
use crate::store::StoreError;
use crate::web::request_id;

/// The status, stable code and message safe to show of an error: the one map from
/// `service::Error` to HTTP, for the JSON API and the HTML pages alike.
///
/// A 500 (`Internal`, `Store`) never shows its cause: the message is generic and names the
/// request id (when called while handling a request) so the user can report it.
pub fn status_of(e: &Error) -> (StatusCode, &'static str, String) {
    match e {
        Error::BadRequest { code, message } => (StatusCode::BAD_REQUEST, code, message.clone()),
        Error::Unauthenticated(m) => (StatusCode::UNAUTHORIZED, "unauthenticated", m.clone()),
        Error::Forbidden { code, message } => (StatusCode::FORBIDDEN, code, message.clone()),
        Error::NotFound(what) => (
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        ),
        Error::Missing { code, message } => (StatusCode::NOT_FOUND, code, message.clone()),
        Error::Conflict { code, message, .. } => (StatusCode::CONFLICT, code, message.clone()),
        Error::Invalid { code, message } => {
            (StatusCode::UNPROCESSABLE_ENTITY, code, message.clone())
        }
        Error::TooLarge(m) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            m.clone(),
        ),
        Error::RateLimited { message, .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            message.clone(),
        ),
        Error::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", m.clone()),
        Error::Internal(_) | Error::Store(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            generic_message(request_id::current().as_deref()),
        ),
    }
}

/// What a 500 shows instead of its cause.
fn generic_message(request: Option<&str>) -> String {
    let base = "something went wrong on our side; it has been logged";
    match request {
        Some(id) => format!("{base} (request {id})"),
        None => base.to_string(),
    }
}

/// [`status_of`], and the log line a server-side failure calls for: a 500 logs its cause, a
/// 503 what was unavailable (the request span adds the request id to both).
pub fn answer(e: &Error) -> (StatusCode, &'static str, String) {
    let parts = status_of(e);
    if parts.0 == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "request failed");
    } else if parts.0 == StatusCode::SERVICE_UNAVAILABLE {
        tracing::warn!(error = %e, "request answered 503");
    }
    parts
}

/// The status and sentence a page shows for a refused action (logged as [`answer`] does).
pub fn refusal(e: &Error) -> (StatusCode, String) {
    let (status, _, message) = answer(e);
    (status, message)
}

/// An error as the API answers it.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError(Error::Store(e))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status_of(&self.0).0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code, message) = answer(&self.0);
        let mut body = json!({"error": {"code": code, "message": message}});
        if let Error::Conflict { data: Some(d), .. } = &self.0 {
            body["error"]["data"] = d.clone();
        }
        let mut resp = HttpResponse::build(status);
        resp.insert_header((CONTENT_TYPE, "application/json"));
        if let Error::RateLimited {
            retry_after_secs, ..
        } = &self.0
        {
            resp.insert_header((RETRY_AFTER, retry_after_secs.to_string()));
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        resp.body(body.to_string())
    }
}

/// 405 for a method a known path does not take: the JSON error shape (`method_not_allowed`)
/// and `Allow` with the methods it does take, such as `"GET, PATCH"` (RFC 9110 §15.5.6). Not a
/// `service::Error`: no operation is involved, only routing.
pub fn method_not_allowed(allow: &str) -> HttpResponse {
    let message = format!("this path takes only {allow}");
    HttpResponse::MethodNotAllowed()
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header((actix_web::http::header::ALLOW, allow.to_string()))
        .body(json!({"error": {"code": "method_not_allowed", "message": message}}).to_string())
}

/// Result alias of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

/// Why a page cannot be shown: no session (go to the login page), or a refusal shown as an HTML
/// page with the status of [`status_of`].
#[derive(Debug)]
pub enum PageError {
    /// No valid session: to the login page, then back to `next`.
    Login {
        /// The path (and query) to return to.
        next: String,
    },
    /// Refused or failed.
    Refused(Error),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::Login { .. } => f.write_str("log in first"),
            PageError::Refused(e) => e.fmt(f),
        }
    }
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        PageError::Refused(e)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Login { .. } | PageError::Refused(Error::Unauthenticated(_)) => {
                StatusCode::SEE_OTHER
            }
            PageError::Refused(e) => status_of(e).0,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let to = match self {
            PageError::Login { next } => {
                format!("/login?next={}", crate::web::session::encode(next))
            }
            PageError::Refused(Error::Unauthenticated(_)) => "/login".to_string(),
            PageError::Refused(e) => {
                let (status, message) = refusal(e);
                return HttpResponse::build(status)
                    .content_type("text/html; charset=utf-8")
                    .body(
                        crate::web::views::layout::message_page("teaminbox", &message)
                            .into_string(),
                    );
            }
        };
        HttpResponse::SeeOther()
            .insert_header((LOCATION, to))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;
    use serde_json::Value;

    use super::*;

    /// One error of every variant (the `match` makes a new variant fail to compile here).
    fn every_variant() -> Vec<Error> {
        let all = vec![
            crate::service::bad_request("invalid_json", "the body is not JSON"),
            Error::Unauthenticated("log in first".into()),
            crate::service::forbidden("your role does not allow this"),
            Error::NotFound("conversation"),
            Error::Missing {
                code: "nothing_waiting",
                message: "nobody is waiting".into(),
            },
            Error::Conflict {
                code: "not_owner",
                message: "claim it before replying".into(),
                data: Some(json!({"owner": 1})),
            },
            crate::service::invalid("too_long", "text is too long"),
            Error::TooLarge("the body is larger than 1024 KiB".into()),
            Error::RateLimited {
                message: "too many failed logins".into(),
                retry_after_secs: 60,
            },
            Error::Unavailable("the webhook could not be stored; try again".into()),
            Error::Internal("the disk is on fire".into()),
            Error::Store(StoreError::WriterGone),
        ];
        for e in &all {
            match e {
                Error::BadRequest { .. }
                | Error::Unauthenticated(_)
                | Error::Forbidden { .. }
                | Error::NotFound(_)
                | Error::Missing { .. }
                | Error::Conflict { .. }
                | Error::Invalid { .. }
                | Error::TooLarge(_)
                | Error::RateLimited { .. }
                | Error::Unavailable(_)
                | Error::Internal(_)
                | Error::Store(_) => {}
            }
        }
        all
    }

    fn header<'a>(resp: &'a HttpResponse, name: &str) -> &'a str {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn body_of(resp: HttpResponse) -> String {
        let bytes = resp.into_body().try_into_bytes().expect("a complete body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[test]
    fn the_map() {
        let expected = [
            (400, "invalid_json"),
            (401, "unauthenticated"),
            (403, "forbidden"),
            (404, "not_found"),
            (404, "nothing_waiting"),
            (409, "not_owner"),
            (422, "too_long"),
            (413, "payload_too_large"),
            (429, "rate_limited"),
            (503, "unavailable"),
            (500, "internal"),
            (500, "internal"),
        ];
        let all = every_variant();
        assert_eq!(all.len(), expected.len());
        for (e, (status, code)) in all.iter().zip(expected) {
            let (s, c, _) = status_of(e);
            assert_eq!((s.as_u16(), c), (status, code), "{e:?}");
        }
    }

    #[test]
    fn json_and_html_agree_on_every_variant() {
        // Errors are not `Clone` (a store error holds its cause): a fresh table for each use.
        let (for_json, for_page) = (every_variant(), every_variant());
        for ((e, json_e), page_e) in every_variant().iter().zip(for_json).zip(for_page) {
            let (status, code, message) = status_of(e);
            let json = ApiError(json_e).error_response();
            assert_eq!(json.status(), status, "{e:?}");
            let body: Value = serde_json::from_str(&body_of(json)).expect("json");
            assert_eq!(body["error"]["code"], code, "{e:?}");
            assert_eq!(body["error"]["message"], message.as_str(), "{e:?}");

            let (page_status, page_message) = refusal(e);
            assert_eq!((page_status, &page_message), (status, &message), "{e:?}");
            let page = PageError::Refused(page_e).error_response();
            if status == StatusCode::UNAUTHORIZED {
                // A page without a session sends the visitor to log in.
                assert_eq!(page.status(), StatusCode::SEE_OTHER);
                assert_eq!(header(&page, "location"), "/login");
            } else {
                assert_eq!(page.status(), status, "{e:?}");
                let html = body_of(page);
                assert!(
                    html.contains(&maud::html!((message)).into_string()),
                    "{e:?}: {html}"
                );
            }
        }
    }

    #[test]
    fn a_500_hides_its_cause_and_names_the_request() {
        let e = Error::Internal("the disk is on fire".into());
        let (_, _, outside) = status_of(&e);
        assert_eq!(
            outside,
            "something went wrong on our side; it has been logged"
        );
        let (inside, page) = request_id::with_id("1a2b3c4d5e6f7a8b".into(), || {
            (status_of(&e).2, refusal(&e).1)
        });
        for m in [&inside, &page] {
            assert!(!m.contains("fire"), "{m}");
            assert!(m.ends_with("(request 1a2b3c4d5e6f7a8b)"), "{m}");
        }
        let store = status_of(&Error::Store(StoreError::WriterGone)).2;
        assert!(!store.contains("writer"), "{store}");
    }

    #[test]
    fn extra_headers_and_data_stay_on_the_json() {
        let limited = ApiError(Error::RateLimited {
            message: "slow down".into(),
            retry_after_secs: 60,
        })
        .error_response();
        assert_eq!(header(&limited, "retry-after"), "60");
        let unauth = ApiError(Error::Unauthenticated("who?".into())).error_response();
        assert_eq!(header(&unauth, "www-authenticate"), "Bearer");
        let conflict = ApiError(Error::Conflict {
            code: "not_owner",
            message: "claim it".into(),
            data: Some(json!({"owner": 1})),
        })
        .error_response();
        let body: Value = serde_json::from_str(&body_of(conflict)).expect("json");
        assert_eq!(body["error"]["data"]["owner"], 1);
        let login = PageError::Login {
            next: "/c/1?x=y z".into(),
        }
        .error_response();
        assert_eq!(login.status(), StatusCode::SEE_OTHER);
        assert_eq!(header(&login, "location"), "/login?next=/c/1%3Fx%3Dy%20z");
    }
}
