//! The append-only event log.

use rusqlite::{Connection, params};
use serde_json::Value;

use super::Result;
use crate::domain::{ConversationId, EventId, UserId};

/// Appends an event.
pub fn insert_event(
    conn: &Connection,
    conversation: Option<ConversationId>,
    kind: &str,
    actor: Option<UserId>,
    data: &Value,
    now: i64,
) -> Result<EventId> {
    conn.prepare_cached(
        "INSERT INTO events (conversation_id, kind, actor_id, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        conversation.map(|c| c.0),
        kind,
        actor.map(|a| a.0),
        data.to_string(),
        now
    ])?;
    Ok(EventId(conn.last_insert_rowid()))
}
