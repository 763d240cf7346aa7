//! actix: the app (routes, extractors, error mapping). The server around it is `crate::server`.

pub mod api;
pub mod assets;
pub mod auth;
pub mod body;
pub mod error;
pub mod in_flight;
pub mod metrics;
pub mod notice;
pub mod openapi;
pub mod request_id;
pub mod session;
pub mod ui;
pub mod views;
pub mod webhooks;

use std::sync::Mutex;

use actix_web::HttpResponse;
use actix_web::web::{self, Data};

use crate::domain::throttle::Throttle;
use crate::service::{self, Error};
use crate::store::Store;
use error::ApiError;

/// No inline script or style, nothing from elsewhere.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// What every request can reach.
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Login failures.
    pub throttle: Mutex<Throttle>,
    /// Live event fan-out.
    pub hub: crate::realtime::Hub,
    /// Requests to background jobs (read receipts).
    pub jobs: crate::jobs::JobsHandle,
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(Error::NotFound("resource").into())
}

/// Registers the whole application on an actix `App`.
pub fn configure(state: Data<AppState>) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(state.clone())
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, _| ApiError(Error::NotFound("resource")).into()),
            )
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                ApiError(service::bad_request(
                    "invalid_query",
                    format!("the query string does not fit: {e}"),
                ))
                .into()
            }))
            .configure(api::configure)
            .configure(webhooks::configure)
            .configure(ui::configure)
            .route("/metrics", web::get().to(metrics::show_metrics))
            .default_service(web::to(not_found));
    }
}
