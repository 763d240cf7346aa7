//! The HTTP face of errors: every failure becomes `{"error": {"code", "message"}}` with the
//! status the API contract names; a 500 logs its cause and shows a generic message.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Value, json};

use crate::service::Error;
use crate::store::StoreError;

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

impl ApiError {
    fn parts(&self) -> (StatusCode, &str, String, Option<&Value>) {
        match &self.0 {
            Error::BadRequest { code, message } => {
                (StatusCode::BAD_REQUEST, code, message.clone(), None)
            }
            Error::Unauthenticated(m) => {
                (StatusCode::UNAUTHORIZED, "unauthenticated", m.clone(), None)
            }
            Error::Forbidden { code, message } => {
                (StatusCode::FORBIDDEN, code, message.clone(), None)
            }
            Error::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
                None,
            ),
            Error::Conflict {
                code,
                message,
                data,
            } => (StatusCode::CONFLICT, code, message.clone(), data.as_ref()),
            Error::Invalid { code, message } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                message.clone(),
                None,
            ),
            Error::TooLarge(m) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                m.clone(),
                None,
            ),
            Error::RateLimited { message, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                message.clone(),
                None,
            ),
            Error::Store(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "something went wrong on our side; it has been logged".into(),
                None,
            ),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code, message, data) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self.0, "request failed");
        }
        let mut body = json!({"error": {"code": code, "message": message}});
        if let Some(d) = data {
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

/// Result alias of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
