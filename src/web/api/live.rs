//! `GET /api/v1/events`: the caller's Server-Sent Events stream.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};

use crate::realtime;
use crate::store::settings;
use crate::web::AppState;
use crate::web::auth::Auth;
use crate::web::error::ApiResult;

/// Resumes after `Last-Event-ID` (header, or `?last_event_id=` for clients that cannot set it);
/// without it the stream starts from now.
pub(super) async fn show_events(
    req: HttpRequest,
    auth: Auth,
    state: Data<AppState>,
) -> ApiResult<HttpResponse> {
    let from_query = req
        .query_string()
        .split('&')
        .find_map(|kv| kv.strip_prefix("last_event_id="))
        .map(str::to_string);
    let last = req
        .headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(from_query)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|v| *v >= 0);
    let s = state.store.read(settings::load_settings).await?;
    let body = realtime::stream(&state.hub, state.store.clone(), auth.actor(), s, last);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        // Not compressed: the middleware would hold events back to fill its buffers.
        .insert_header(("Content-Encoding", "identity"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}
