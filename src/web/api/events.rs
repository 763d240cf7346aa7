//! `GET /api/v1/events`: the caller's Server-Sent Events stream.

use actix_web::http::ConnectionType;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::domain::events::{Event, Named, Presence};
use crate::realtime;
use crate::store::settings;
use crate::web::AppState;
use crate::web::auth::Auth;
use crate::web::error::{ApiError, ApiResult};

/// Resumes after `Last-Event-ID` (header, or `?last_event_id=` for clients that cannot set it);
/// without it the stream starts from now. Beyond the caps on open streams
/// ([`realtime::StreamLimits`]) it answers 429 `rate_limited` with `Retry-After` and closes the
/// connection, so a client that keeps retrying does not hold a descriptor per attempt.
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
    let admission = match state.hub.admit(auth.user.id.0) {
        Ok(a) => a,
        Err(e) => {
            let mut refused = ApiError(e).error_response();
            refused
                .head_mut()
                .set_connection_type(ConnectionType::Close);
            return Ok(refused);
        }
    };
    let s = state.store.read(settings::load_settings).await?;
    let body = realtime::stream(
        &state.hub,
        admission,
        state.store.clone(),
        auth.actor(),
        s,
        last,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        // Not compressed: the middleware would hold events back to fill its buffers.
        .insert_header(("Content-Encoding", "identity"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

#[derive(serde::Deserialize)]
pub(super) struct PresenceBody {
    state: String,
}

/// `POST /api/v1/conversations/{id}/presence` `{"state":"viewing|typing|left"}`: tells the others
/// who can see this conversation that the caller is on it (an SSE `presence` event, not stored).
pub(super) async fn post_presence(
    auth: Auth,
    state: Data<AppState>,
    id: crate::web::body::PathId,
    body: crate::web::body::Body<PresenceBody>,
) -> ApiResult<HttpResponse> {
    use crate::domain::ConversationId;
    use crate::domain::policy::Action;
    let (actor, id) = (auth.actor(), ConversationId(id.get()?));
    let a = actor.clone();
    let conv = state
        .store
        .read(move |c| crate::service::conversations::authorize(c, &a, Action::View, id))
        .await?;
    let presence = body.into_inner()?.state;
    if !matches!(presence.as_str(), "viewing" | "typing" | "left") {
        return Err(crate::service::bad_request(
            "invalid_field",
            "state is viewing, typing or left",
        )
        .into());
    }
    let event = Event::Presence(Presence {
        state: presence,
        user: Named {
            id: actor.id.0,
            name: auth.user.name.clone(),
        },
    });
    state.hub.publish_passing(crate::store::events::EventRow {
        id: 0,
        kind: event.kind().into(),
        at: crate::domain::time::now_ms(),
        conversation_id: Some(id.0),
        actor: Some((actor.id.0, auth.user.name.clone())),
        data: event.data(),
        ownership: Some(conv.state().ownership()),
    });
    Ok(HttpResponse::NoContent().finish())
}
