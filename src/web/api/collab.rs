//! Working together: the caller's mentions, and one action on many conversations.

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde::Deserialize;
use serde_json::json;

use super::{nullable, page_limit, present};
use crate::domain::{ConversationId, Status, TeamId, UserId};
use crate::service::bulk::{self, BulkRequest};
use crate::service::{bad_request, mentions};
use crate::web::AppState;
use crate::web::auth::Auth;
use crate::web::body::{Body, QueryOf};
use crate::web::error::ApiResult;

#[derive(Deserialize)]
pub(super) struct MentionParams {
    limit: Option<i64>,
    before: Option<String>,
    /// `true`: only the ones not opened yet.
    unseen: Option<bool>,
}

/// `GET /api/v1/me/mentions`: notes that mention the caller, newest first, each with its
/// conversation and `seen`; paged like every list (`limit`, `before`, `next`).
pub(super) async fn list_my_mentions(
    auth: Auth,
    state: Data<AppState>,
    params: QueryOf<MentionParams>,
) -> ApiResult<HttpResponse> {
    let p = params.get()?;
    let actor = auth.actor();
    let limit = page_limit(p.limit);
    let unseen = p.unseen.unwrap_or(false);
    let (items, next) = state
        .store
        .read(move |c| mentions::list_mine(c, &actor, unseen, p.before.as_deref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(json!({"items": items, "next": next})))
}

#[derive(Deserialize)]
pub(super) struct BulkAssign {
    #[serde(default, deserialize_with = "nullable")]
    assignee_id: Option<Option<UserId>>,
    #[serde(default, deserialize_with = "nullable")]
    team_id: Option<Option<TeamId>>,
}

#[derive(Deserialize)]
pub(super) struct BulkTags {
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
}

#[derive(Deserialize)]
pub(super) struct BulkBody {
    conversation_ids: Vec<ConversationId>,
    #[serde(default, deserialize_with = "present")]
    assign: Option<BulkAssign>,
    #[serde(default, deserialize_with = "present")]
    status: Option<Status>,
    #[serde(default, deserialize_with = "present")]
    tags: Option<BulkTags>,
}

/// `POST /api/v1/conversations/bulk` (manager, owner): one action on many conversations, all or
/// nothing; 200 `{"updated":[ids]}`.
pub(super) async fn post_bulk(
    auth: Auth,
    state: Data<AppState>,
    body: Body<BulkBody>,
) -> ApiResult<HttpResponse> {
    let actor = auth.actor();
    if !actor.is_manager() {
        // 403 before looking at the body (API.md: 403 before 400/422).
        return Err(crate::service::forbidden(
            "only managers and owners act on many conversations at once",
        )
        .into());
    }
    let b = body.into_inner()?;
    let assign = match b.assign {
        Some(a) => Some((
            a.assignee_id.ok_or_else(|| {
                bad_request(
                    "invalid_field",
                    "assign.assignee_id is required (null releases to the pool)",
                )
            })?,
            a.team_id,
        )),
        None => None,
    };
    let req = BulkRequest {
        ids: b.conversation_ids,
        assign,
        status: b.status,
        tags: b.tags.map(|t| (t.add, t.remove)),
    };
    let updated = state
        .store
        .write(move |c| bulk::apply(c, &actor, req))
        .await?;
    Ok(HttpResponse::Ok().json(json!({"updated": updated})))
}
