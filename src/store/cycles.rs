//! Cycles: one per stretch of a conversation from a customer's first message to its resolution,
//! the unit of first-response and resolution metrics.

use rusqlite::{Connection, params};

use super::Result;
use crate::domain::{ConversationId, UserId};

/// Starts a cycle and makes it the conversation's current one.
pub fn insert_cycle(conn: &Connection, id: ConversationId, started_at: i64) -> Result<i64> {
    conn.prepare_cached("INSERT INTO cycles (conversation_id, started_at) VALUES (?1, ?2)")?
        .execute(params![id.0, started_at])?;
    let cycle = conn.last_insert_rowid();
    conn.prepare_cached("UPDATE conversations SET cycle_id = ?2 WHERE id = ?1")?
        .execute(params![id.0, cycle])?;
    Ok(cycle)
}

/// Moves the start of a cycle that has no response yet back to `at` when a late message shows
/// the customer began writing earlier (messages can arrive out of their provider order).
pub fn update_cycle_start(conn: &Connection, cycle: i64, at: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE cycles SET started_at = ?2 WHERE id = ?1 AND started_at > ?2 AND first_response_at IS NULL",
    )?
    .execute(params![cycle, at])?;
    Ok(())
}

/// Records the first staff response of a cycle (only the first counts).
pub fn mark_first_response(conn: &Connection, cycle: i64, at: i64, user: UserId) -> Result<()> {
    conn.prepare_cached(
        "UPDATE cycles SET first_response_at = ?2, first_responder_id = ?3 WHERE id = ?1 AND first_response_at IS NULL",
    )?
    .execute(params![cycle, at, user.0])?;
    Ok(())
}

/// Records (or, with `None`, withdraws) a cycle's resolution.
pub fn mark_resolved(
    conn: &Connection,
    cycle: i64,
    at: Option<i64>,
    by: Option<UserId>,
) -> Result<()> {
    conn.prepare_cached("UPDATE cycles SET resolved_at = ?2, resolved_by = ?3 WHERE id = ?1")?
        .execute(params![cycle, at, by.map(|u| u.0)])?;
    Ok(())
}
