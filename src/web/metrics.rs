//! `GET /metrics`: Prometheus text exposition (the `prometheus` crate's registry and encoder)
//! behind a bearer token set by `--metrics-token` / `TEAMINBOX_METRICS_TOKEN` / `metrics_token`
//! in `teaminbox.toml`. Without a configured token, or with a wrong one, the path answers 404
//! like any unknown path, so a scanner learns nothing.
//!
//! HTTP requests are counted and timed by [`record`] (a middleware around the whole app, labelled
//! by route pattern, never by raw path, so ids do not explode the series). Everything else is read
//! from the database and the live hub at scrape time.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;
use crate::domain::time::now_ms;
use crate::service::Error;

/// The registry and the series of `/metrics`.
pub struct Metrics {
    token: Option<String>,
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    unassigned: IntGauge,
    oldest_unassigned: IntGauge,
    outbox_pending: IntGauge,
    outbox_failed: IntGaugeVec,
    webhook_lag: IntGauge,
    sse_clients: IntGauge,
    sla_breaches: IntCounter,
    sla_breached_now: IntGauge,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: T) -> T {
    // Names are fixed and distinct: registering cannot collide.
    let _ = r.register(Box::new(c.clone()));
    c
}

impl Metrics {
    /// The series, opened by `token` (`None`: `/metrics` answers 404).
    ///
    /// # Panics
    /// Never: every metric name and label set is a valid constant.
    #[allow(clippy::expect_used)]
    pub fn new(token: Option<String>) -> Metrics {
        let r = Registry::new_custom(Some("teaminbox".into()), None).expect("registry");
        let gauge =
            |name: &str, help: &str| register(&r, IntGauge::new(name, help).expect("gauge"));
        Metrics {
            token,
            requests: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "http_requests_total",
                        "HTTP requests by route pattern, method and status",
                    ),
                    &["route", "method", "status"],
                )
                .expect("counter"),
            ),
            latency: register(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "http_request_duration_seconds",
                        "Time to answer an HTTP request (to the start of the body for streams)",
                    )
                    .buckets(vec![
                        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
                    ]),
                    &["route", "method"],
                )
                .expect("histogram"),
            ),
            unassigned: gauge("queue_unassigned", "Unassigned, unresolved conversations"),
            oldest_unassigned: gauge(
                "queue_oldest_unassigned_seconds",
                "How long the longest-waiting unassigned customer has waited (0: none)",
            ),
            outbox_pending: gauge("outbox_backlog", "Outgoing messages waiting to be sent"),
            outbox_failed: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "outbox_failed",
                        "Outgoing messages that failed for good, by provider code",
                    ),
                    &["reason"],
                )
                .expect("gauge"),
            ),
            webhook_lag: gauge(
                "webhook_lag_seconds",
                "Age of the oldest WhatsApp webhook received and not processed yet (0: none)",
            ),
            sse_clients: gauge("sse_clients", "Open live event streams"),
            sla_breaches: register(
                &r,
                IntCounter::new("sla_breaches_total", "SLA breaches recorded").expect("counter"),
            ),
            sla_breached_now: gauge(
                "sla_breached_conversations",
                "Unresolved conversations with an SLA target breached",
            ),
            registry: r,
        }
    }

    fn observe(&self, route: &str, method: &str, status: u16, secs: f64) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[route, method])
            .observe(secs);
    }

    fn opens(&self, req: &HttpRequest) -> bool {
        let Some(token) = self.token.as_deref() else {
            return false;
        };
        let given = req
            .headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        bool::from(given.as_bytes().ct_eq(token.as_bytes()))
    }
}

/// Middleware: counts and times every request by its route pattern (`unmatched` for none).
///
/// # Errors
/// Whatever the wrapped service answers.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let metrics = req.app_data::<Data<Metrics>>().cloned();
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let res = next.call(req).await?;
    if let Some(m) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        m.observe(
            &route,
            &method,
            res.status().as_u16(),
            start.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

/// `GET /metrics`.
///
/// # Errors
/// 404 without the configured token; 500 when the database cannot be read.
pub async fn show_metrics(
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Some(m) = req
        .app_data::<Data<Metrics>>()
        .cloned()
        .filter(|m| m.opens(&req))
    else {
        return Err(ApiError(Error::NotFound("resource")));
    };
    let ops = state
        .store
        .read(crate::store::reports::find_operational)
        .await
        .map_err(|e| ApiError(e.into()))?;
    let now = now_ms();
    let age = |t: Option<i64>| t.map_or(0, |t| (now - t).max(0) / 1000);
    m.unassigned.set(ops.unassigned);
    m.oldest_unassigned.set(age(ops.oldest_unassigned_since));
    m.outbox_pending.set(ops.outbox_pending);
    m.outbox_failed.reset();
    for (reason, n) in &ops.outbox_failed {
        m.outbox_failed
            .with_label_values(&[reason.as_str()])
            .set(*n);
    }
    m.webhook_lag.set(age(ops.oldest_unprocessed_webhook));
    m.sse_clients
        .set(i64::try_from(state.hub.open_streams(0).1).unwrap_or(i64::MAX));
    let seen = i64::try_from(m.sla_breaches.get()).unwrap_or(i64::MAX);
    if ops.sla_breaches > seen {
        m.sla_breaches
            .inc_by((ops.sla_breaches - seen).unsigned_abs());
    }
    m.sla_breached_now.set(ops.sla_breached_now);
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&m.registry.gather(), &mut out)
        .map_err(|e| ApiError(Error::Internal(e.to_string())))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(out))
}
