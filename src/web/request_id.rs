//! The request id: every HTTP response carries `X-Request-Id`, and every log line written while
//! handling the request carries it too (a `request` span with `request_id`, method and path), so
//! a user who reports "request 1a2b…" can be matched to the cause in the log.
//!
//! A sane incoming `X-Request-Id` (1–64 characters of `[A-Za-z0-9._-]`, as a proxy in front may
//! set) is kept; anything else is replaced by 16 random hex characters.

use std::future::{Future, Ready, ready};
use std::pin::Pin;

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use tracing::Instrument;

/// The header that names a request.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest incoming id that is kept.
pub const MAX_LEN: usize = 64;

tokio::task_local! {
    /// The id of the request whose future is being polled.
    static CURRENT: String;
}

/// The id of the request being handled, if called while handling one.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `f` as if handling the request `id` (so [`current`] answers `id`).
pub fn with_id<T>(id: String, f: impl FnOnce() -> T) -> T {
    CURRENT.sync_scope(id, f)
}

/// Whether an incoming id may be reused as is: short, and nothing a log line or header could
/// be confused by.
pub fn is_sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A new id: 16 random hex characters.
pub fn new_id() -> String {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness: an id only has to tell requests apart in the log.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        b = nanos.to_le_bytes();
    }
    hex::encode(b)
}

/// The id of a request with these headers: the incoming one if sane, else a new one.
pub fn for_headers(headers: &HeaderMap) -> String {
    headers
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v))
        .map_or_else(new_id, str::to_string)
}

/// The middleware: `App::new().wrap(RequestId)`. Wrap it last, so it is the outermost and also
/// covers the other middleware.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestId;

impl<S, B> Transform<S, ServiceRequest> for RequestId
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = RequestIdService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestIdService { service }))
    }
}

/// The service [`RequestId`] wraps around the app.
pub struct RequestIdService<S> {
    service: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

impl<S, B> Service<ServiceRequest> for RequestIdService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let id = for_headers(req.headers());
        // ERROR level so the span stays on even when the log filter is `warn` or `error`: the
        // lines that matter most must carry the id.
        let span = tracing::error_span!(
            "request",
            request_id = %id,
            method = %req.method(),
            path = %req.path(),
        );
        let value = HeaderValue::from_str(&id).ok();
        let fut = {
            let _entered = span.enter();
            CURRENT.sync_scope(id.clone(), || self.service.call(req))
        };
        let fut = CURRENT.scope(id, fut);
        Box::pin(
            async move {
                // The app turns every error into a response itself, so an `Err` here only comes
                // from a failure of the server machinery, which answers without our headers.
                let mut res = fut.await?;
                if let Some(v) = value {
                    res.headers_mut().insert(HEADER, v);
                }
                Ok(res)
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use actix_web::test::{TestRequest, call_service, init_service, read_body};
    use actix_web::{App, HttpResponse, web};

    use super::*;
    use crate::service::Error as ServiceError;
    use crate::store::{Store, StoreError};
    use crate::web::error::ApiError;

    /// Log output kept in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines_with(&self, needle: &str) -> Vec<String> {
            let all = String::from_utf8_lossy(&self.0.lock().expect("log lock")).to_string();
            all.lines()
                .filter(|l| l.contains(needle))
                .map(String::from)
                .collect()
        }
    }

    /// A handler that logs on its own thread, on a reader and on the writer, then fails.
    async fn boom(store: web::Data<Store>) -> Result<HttpResponse, ApiError> {
        tracing::warn!("boom: in the handler");
        store
            .read(|_| {
                tracing::warn!("boom: on a reader");
                Ok::<_, StoreError>(())
            })
            .await?;
        store
            .write(|_| {
                tracing::warn!("boom: on the writer");
                Ok::<_, StoreError>(())
            })
            .await?;
        Err(ServiceError::Internal("boom: the disk is on fire".into()).into())
    }

    #[actix_web::test]
    async fn the_id_is_on_the_response_and_on_every_log_line_of_the_request() {
        let logs = Captured::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || sink.clone())
            .finish();
        // Global: the reader and the writer log from their own threads.
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let app = init_service(
            App::new()
                .wrap(RequestId)
                .app_data(web::Data::new(store))
                .route("/boom", web::get().to(boom)),
        )
        .await;

        let req = TestRequest::get()
            .uri("/boom")
            .insert_header((HEADER, "ticket-7"))
            .to_request();
        let resp = call_service(&app, req).await;
        assert_eq!(resp.status().as_u16(), 500);
        assert_eq!(
            resp.headers().get(&HEADER).expect("X-Request-Id"),
            "ticket-7"
        );
        let body = String::from_utf8(read_body(resp).await.to_vec()).expect("utf-8");
        assert!(body.contains("(request ticket-7)"), "{body}");
        assert!(!body.contains("fire"), "{body}");

        let lines = logs.lines_with("boom:");
        assert_eq!(lines.len(), 4, "{lines:#?}");
        for l in &lines {
            assert!(
                l.contains("request_id=ticket-7") && l.contains("method=GET"),
                "{l}"
            );
        }
        assert!(
            lines
                .iter()
                .any(|l| l.contains("request failed") && l.contains("on fire")),
            "the cause is logged: {lines:#?}"
        );

        // No incoming id: a new one, also on the response.
        let resp = call_service(&app, TestRequest::get().uri("/nowhere").to_request()).await;
        assert_eq!(resp.status().as_u16(), 404);
        let id = resp
            .headers()
            .get(&HEADER)
            .expect("X-Request-Id")
            .to_str()
            .expect("ascii")
            .to_string();
        assert_eq!(id.len(), 16, "{id}");
    }

    #[test]
    fn sane_ids_are_short_and_plain() {
        assert!(is_sane("1a2b3c4d5e6f7a8b"));
        assert!(is_sane("edge-7.abc_DEF"));
        assert!(is_sane(&"a".repeat(MAX_LEN)));
        assert!(!is_sane(""));
        assert!(!is_sane(&"a".repeat(MAX_LEN + 1)));
        assert!(!is_sane("a b"));
        assert!(!is_sane("a\u{7}b"));
        assert!(!is_sane("ünï"));
        assert!(!is_sane("a/b"));
    }

    #[test]
    fn new_ids_are_sixteen_hex_and_differ() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(is_sane(&a));
        assert_ne!(a, b);
    }
}
