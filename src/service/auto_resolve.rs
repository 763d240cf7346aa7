//! Pending auto-resolve: a conversation waiting on the customer that stays quiet for the
//! workspace's `auto_resolve_pending_secs` is resolved by the scheduler, through the one status
//! writer (`conversation.status` with no actor, the cycle closed). Off while the setting is null.

use rusqlite::Connection;

use super::conversations::write_status;
use super::{Error, Result};
use crate::domain::conversation::change_status;
use crate::domain::{ConversationId, Status};
use crate::store::conversations as convs;

/// Most conversations resolved in one transaction; a tick takes the rest in the next one.
pub const RESOLVE_BATCH: i64 = 200;

/// Resolves the pending conversations that have waited on the customer for `quiet_secs` seconds
/// or longer by `now` (UTC ms) with no customer message since: each gets `conversation.status`
/// from `pending` to `resolved` with actor null and its cycle closed with no resolver. Answers the
/// ids resolved, at most [`RESOLVE_BATCH`].
///
/// # Errors
/// Only storage errors.
pub fn resolve_quiet_pending(
    conn: &Connection,
    quiet_secs: i64,
    now: i64,
) -> Result<Vec<ConversationId>> {
    let before = now.saturating_sub(quiet_secs.saturating_mul(1000));
    let due = convs::list_quiet_pending(conn, before, RESOLVE_BATCH)?;
    for &id in &due {
        let state = convs::find_conv_state(conn, id)?.ok_or(Error::NotFound("conversation"))?;
        // Only `snoozed` needs a time, so a change to `resolved` is never refused.
        let change = change_status(Status::Pending, Status::Resolved, None, now)
            .map_err(|e| super::invalid("invalid_status", e.to_string()))?;
        write_status(conn, &state, &change, None, now)?;
    }
    Ok(due)
}
