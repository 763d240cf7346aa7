//! Provider webhooks (WhatsApp Cloud API): Meta's verification handshake, and notifications —
//! signature checked over the raw bytes, body kept durably, 200, then processed in the
//! background. A well-signed body we do not understand is still kept and acknowledged: anything
//! but 200 makes Meta retry it for days.

use std::collections::HashMap;

use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse};

use crate::domain::time::now_ms;
use crate::domain::webhooks::Verdict;
use crate::service::{self, Error};
use crate::web::AppState;
use crate::web::body::{BodyLimit, RawBody};
use crate::web::error::{ApiError, ApiResult};

/// Largest webhook body (Meta sends up to 3 MB).
pub const WEBHOOK_LIMIT: usize = 4 << 20;

/// Registers the webhook routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/webhooks/whatsapp")
            .app_data(BodyLimit(WEBHOOK_LIMIT))
            .route(web::get().to(show_verification))
            .route(web::post().to(post_whatsapp))
            .default_service(web::to(|| async {
                crate::web::error::method_not_allowed("GET, POST")
            })),
    );
}

/// `GET /webhooks/whatsapp`: answers `hub.challenge` when `hub.verify_token` is the verify token
/// of a WhatsApp channel.
async fn show_verification(
    state: Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> ApiResult<HttpResponse> {
    let (Some(mode), Some(token), Some(challenge)) = (
        query.get("hub.mode"),
        query.get("hub.verify_token"),
        query.get("hub.challenge"),
    ) else {
        return Err(service::bad_request(
            "invalid_query",
            "expected hub.mode, hub.verify_token and hub.challenge",
        )
        .into());
    };
    if mode != "subscribe" || challenge.len() > 1024 {
        return Err(service::bad_request("invalid_query", "not a subscription handshake").into());
    }
    let token = token.clone();
    let known = state
        .store
        .read(move |c| service::whatsapp::verify_handshake(c, &token))
        .await?;
    if !known {
        return Err(
            service::forbidden("the verify token does not match a WhatsApp channel").into(),
        );
    }
    // Plain text (never HTML): the challenge is echoed verbatim.
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(challenge.clone()))
}

/// `POST /webhooks/whatsapp`: 401 unless signed by the app secret of a channel the body names
/// (or, for a body naming no channel we know, of some channel); else kept (committed) before the
/// 200, then processed — only the changes of channels whose secret signed it. A replay of the
/// same bytes answers 200 with the first one's id and keeps nothing new.
async fn post_whatsapp(
    req: HttpRequest,
    state: Data<AppState>,
    body: RawBody,
) -> ApiResult<HttpResponse> {
    let signature = req
        .headers()
        .get("X-Hub-Signature-256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if signature.is_empty() {
        return Err(unsigned("the X-Hub-Signature-256 header is missing"));
    }
    let body = body.0?;
    let verdict = {
        let body = body.clone();
        state
            .store
            .read(move |c| service::webhooks::authenticate(c, &signature, &body))
            .await?
    };
    let Verdict::Keep { verified } = verdict else {
        tracing::warn!(
            bytes = body.len(),
            "refused a WhatsApp webhook not signed by the app secret of a channel it names"
        );
        return Err(unsigned(
            "the signature does not match the app secret of a WhatsApp channel the body names",
        ));
    };
    // Nothing is altered: what is kept is exactly what Meta signed.
    let stored = state
        .store
        .write(move |c| service::webhooks::accept(c, &body, &verified, now_ms()))
        .await;
    let kept = match stored {
        Ok(kept) => kept,
        Err(e) => {
            // Not kept, so not acknowledged: Meta will send it again.
            tracing::error!(error = %e, "a WhatsApp webhook could not be stored");
            return Err(
                Error::Unavailable("the webhook could not be stored; try again".into()).into(),
            );
        }
    };
    // The WhatsApp job processes it (the commit wakes it); its log lines name the webhook id,
    // which this line ties to the request id.
    tracing::debug!(webhook = kept.id, new = kept.new, "kept a WhatsApp webhook");
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(format!(r#"{{"received":{}}}"#, kept.id)))
}

fn unsigned(message: &str) -> ApiError {
    Error::Unauthenticated(message.into()).into()
}
