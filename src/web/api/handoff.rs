//! The end-of-shift handoff: `POST /api/v1/me/handoff` and `POST /api/v1/users/{id}/handoff`.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde::Deserialize;

use super::{nullable, present};
use crate::domain::{ConversationId, TeamId, UserId};
use crate::service::handoff::{self, HandoffRequest};
use crate::web::AppState;
use crate::web::auth::Auth;
use crate::web::body::{Body, PathId};
use crate::web::error::ApiResult;

#[derive(Deserialize)]
pub(super) struct Target {
    #[serde(deserialize_with = "nullable_id")]
    assignee_id: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    team_id: Option<Option<i64>>,
}

/// `assignee_id` is required and may be null (the pool).
fn nullable_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<i64>::deserialize(d)
}

#[derive(Deserialize)]
pub(super) struct HandoffBody {
    to: Target,
    #[serde(default, deserialize_with = "present")]
    note: Option<String>,
    /// Conversation id (as a JSON object key) → its own note.
    #[serde(default, deserialize_with = "present")]
    notes: Option<BTreeMap<i64, String>>,
    #[serde(default, deserialize_with = "present")]
    conversation_ids: Option<Vec<i64>>,
    #[serde(default, deserialize_with = "present")]
    go_offline: Option<bool>,
}

impl From<HandoffBody> for HandoffRequest {
    fn from(b: HandoffBody) -> Self {
        HandoffRequest {
            assignee: b.to.assignee_id.map(UserId),
            team: b.to.team_id.flatten().map(TeamId),
            note: b.note,
            notes: b
                .notes
                .unwrap_or_default()
                .into_iter()
                .map(|(id, text)| (ConversationId(id), text))
                .collect(),
            conversation_ids: b
                .conversation_ids
                .map(|l| l.into_iter().map(ConversationId).collect()),
            go_offline: b.go_offline.unwrap_or(false),
        }
    }
}

async fn run(
    auth: Auth,
    state: Data<AppState>,
    from: UserId,
    body: Body<HandoffBody>,
) -> ApiResult<HttpResponse> {
    let actor = auth.user.actor();
    let body = body.0;
    let moved = state
        .store
        .write(move |c| {
            handoff::check(c, &actor, from)?;
            handoff::hand_off(c, &actor, from, body?.into())
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"moved": moved})))
}

/// `POST /api/v1/me/handoff`: hand my open conversations over (any staff member).
pub(super) async fn post_my_handoff(
    auth: Auth,
    state: Data<AppState>,
    body: Body<HandoffBody>,
) -> ApiResult<HttpResponse> {
    let me = auth.user.id;
    run(auth, state, me, body).await
}

/// `POST /api/v1/users/{id}/handoff`: the same for someone else (owner, manager).
pub(super) async fn post_user_handoff(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    body: Body<HandoffBody>,
) -> ApiResult<HttpResponse> {
    let from = UserId(id.get()?);
    run(auth, state, from, body).await
}
