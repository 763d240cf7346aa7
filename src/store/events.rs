//! The append-only event log.

use rusqlite::{Connection, params};
use serde_json::Value;

use super::Result;
use crate::domain::events::Event;
use crate::domain::{ConversationId, EventId, UserId};

/// Appends an event: its kind and its data JSON, in the caller's transaction.
pub fn insert_event(
    conn: &Connection,
    conversation: Option<ConversationId>,
    event: &Event,
    actor: Option<UserId>,
    now: i64,
) -> Result<EventId> {
    conn.prepare_cached(
        "INSERT INTO events (conversation_id, kind, actor_id, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        conversation.map(|c| c.0),
        event.kind(),
        actor.map(|a| a.0),
        event.data().to_string(),
        now
    ])?;
    Ok(EventId(conn.last_insert_rowid()))
}

/// An event as the live stream carries it, with who holds its conversation now.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// Id.
    pub id: i64,
    /// Stable kind.
    pub kind: String,
    /// Time.
    pub at: i64,
    /// Conversation, if any.
    pub conversation_id: Option<i64>,
    /// Who did it (id, name).
    pub actor: Option<(i64, String)>,
    /// Details.
    pub data: Value,
    /// The conversation's assignee and team now (for visibility).
    pub ownership: Option<crate::domain::policy::Ownership>,
}

/// Events after `after`, oldest first, at most `limit`.
pub fn list_after(conn: &Connection, after: i64, limit: i64) -> Result<Vec<EventRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT e.id, e.kind, e.created_at, e.conversation_id, e.actor_id, u.name, e.data,
                c.id, c.assignee_id, c.team_id, c.status, {}
           FROM events e
           LEFT JOIN users u ON u.id = e.actor_id
           LEFT JOIN conversations c ON c.id = e.conversation_id
          WHERE e.id > ?1 ORDER BY e.id LIMIT ?2",
        super::mentions::MENTIONED_IDS
    ))?;
    let rows = stmt.query_map(params![after, limit], |r| {
        let data: String = r.get(6)?;
        let actor: Option<i64> = r.get(4)?;
        let conv: Option<i64> = r.get(7)?;
        Ok(EventRow {
            id: r.get(0)?,
            kind: r.get(1)?,
            at: r.get(2)?,
            conversation_id: r.get(3)?,
            actor: actor.map(|a| {
                (
                    a,
                    r.get::<_, Option<String>>(5)
                        .ok()
                        .flatten()
                        .unwrap_or_default(),
                )
            }),
            data: serde_json::from_str(&data).unwrap_or(Value::Null),
            ownership: match conv {
                Some(_) => Some(crate::domain::policy::Ownership {
                    assignee: r.get::<_, Option<i64>>(8)?.map(UserId),
                    team: r.get::<_, Option<i64>>(9)?.map(crate::domain::TeamId),
                    resolved: r.get::<_, Option<String>>(10)?.as_deref() == Some("resolved"),
                    mentioned: super::mentions::parse_ids(r.get(11)?),
                }),
                None => None,
            },
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Id of the newest event.
pub fn last_event_id(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))?)
}

/// One recorded change of a conversation, as [`list_conversation_changes`] reads it.
#[derive(Debug, Clone)]
pub struct ChangeRow {
    /// Event id.
    pub id: i64,
    /// Stable kind.
    pub kind: String,
    /// Time (ms).
    pub at: i64,
    /// Who did it (`None`: the server).
    pub actor: Option<UserId>,
    /// Details.
    pub data: Value,
}

/// The newest events of `kinds` on conversation `id`, newest first, at most `limit`.
pub fn list_conversation_changes(
    conn: &Connection,
    id: ConversationId,
    kinds: &[&str],
    limit: i64,
) -> Result<Vec<ChangeRow>> {
    // `kinds` are the typed enum's constants; a JSON array keeps the statement cacheable.
    let kinds = serde_json::to_string(kinds).unwrap_or_else(|_| "[]".into());
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, created_at, actor_id, data FROM events
          WHERE conversation_id = ?1 AND kind IN (SELECT value FROM json_each(?2))
          ORDER BY created_at DESC, id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![id.0, kinds, limit], |r| {
        let data: String = r.get(4)?;
        Ok(ChangeRow {
            id: r.get(0)?,
            kind: r.get(1)?,
            at: r.get(2)?,
            actor: r.get::<_, Option<i64>>(3)?.map(UserId),
            data: serde_json::from_str(&data).unwrap_or(Value::Null),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
