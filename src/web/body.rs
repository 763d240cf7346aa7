//! Request bodies read after the caller is known: the extractor never fails on its own, it keeps
//! a parse error (400) or an oversize body (413) for the handler to raise after 401/403/404.

use actix_web::dev::Payload;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::service::{Error, bad_request};

/// Largest JSON body the API reads.
pub const API_LIMIT: usize = 1 << 20;

/// The body size limit of a scope, as app data (default [`API_LIMIT`]).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON body, or why it could not be read.
pub struct Body<T>(pub Result<T, Error>);

impl<T> Body<T> {
    /// The parsed body, or its error.
    pub fn into_inner(self) -> Result<T, Error> {
        self.0
    }
}

/// Raw bytes of a body, or why they could not be read.
pub struct RawBody(pub Result<actix_web::web::Bytes, Error>);

fn too_large(limit: usize) -> Error {
    Error::TooLarge(format!("the body is larger than {} KiB", limit / 1024))
}

async fn read(req: &HttpRequest, mut payload: Payload) -> Result<actix_web::web::Bytes, Error> {
    let limit = req.app_data::<BodyLimit>().map_or(API_LIMIT, |l| l.0);
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let mut buf = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            bad_request(
                "unreadable_body",
                format!("the body could not be read: {e}"),
            )
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Parses JSON, telling malformed syntax from fields of the wrong type.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(bad_request("empty_body", "the request needs a JSON body"));
    }
    if std::str::from_utf8(bytes).is_err() {
        return Err(bad_request("invalid_json", "the body is not valid UTF-8"));
    }
    // Every body of this API is an object; serde would otherwise accept a struct as an array.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(bad_request(
            "invalid_json",
            "the body must be a JSON object",
        ));
    }
    // Syntax first, then shape: serde alone reports some misfits (null for an enum) as syntax.
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| bad_request("invalid_json", format!("the body is not valid JSON: {e}")))?;
    serde_json::from_value(value)
        .map_err(|e| bad_request("invalid_field", format!("the JSON body does not fit: {e}")))
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move { Ok(Body(read(&req, payload).await.and_then(|b| parse_json(&b)))) })
    }
}

impl FromRequest for RawBody {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move { Ok(RawBody(read(&req, payload).await)) })
    }
}

/// The `{id}` of the path, or a 404 kept for after authentication (a non-numeric id names
/// nothing).
pub struct PathId(pub Result<i64, Error>);

impl PathId {
    /// The id, or the 404.
    pub fn get(self) -> Result<i64, Error> {
        self.0
    }
}

impl FromRequest for PathId {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .match_info()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or(Error::NotFound("resource"));
        std::future::ready(Ok(PathId(id)))
    }
}

/// The query string parsed as `T`, or a 400 kept for after authentication.
pub struct QueryOf<T>(pub Result<T, Error>);

impl<T> QueryOf<T> {
    /// The parsed query, or the 400.
    pub fn get(self) -> Result<T, Error> {
        self.0
    }
}

impl<T: DeserializeOwned> FromRequest for QueryOf<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = actix_web::web::Query::<T>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .map_err(|e| {
                bad_request(
                    "invalid_query",
                    format!("the query string does not fit: {e}"),
                )
            });
        std::future::ready(Ok(QueryOf(parsed)))
    }
}
