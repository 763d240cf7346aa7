//! The durable outbound queue: rows written with their message, taken by the dispatcher.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::Result;
use crate::domain::{ChannelId, ContactId, ConversationId, MessageId};

/// Queues a message for sending.
pub fn insert_outbox(
    conn: &Connection,
    message: MessageId,
    channel: ChannelId,
    now: i64,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO outbox (message_id, channel_id, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?3)",
    )?
    .execute(params![message.0, channel.0, now])?;
    Ok(conn.last_insert_rowid())
}

/// Everything the dispatcher needs to send one queued message.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    /// Outbox row id (also the delivery id receivers can dedupe on).
    pub id: i64,
    /// Attempts so far.
    pub attempts: i64,
    /// The message.
    pub message_id: MessageId,
    /// Its conversation.
    pub conversation_id: ConversationId,
    /// Channel.
    pub channel_id: ChannelId,
    /// `text`, `template`…
    pub kind: String,
    /// Text.
    pub text: String,
    /// Structured content.
    pub payload: Option<Value>,
    /// Staff author (id, name).
    pub author: Option<(i64, String)>,
    /// Customer.
    pub contact_id: ContactId,
    /// Customer's name.
    pub contact_name: String,
    /// Customer's phone.
    pub contact_phone: Option<String>,
    /// Customer's identifier on this channel.
    pub identifier: Option<String>,
    /// Message time.
    pub created_at: i64,
}

/// Queued messages due at `now`, oldest first.
pub fn list_due(conn: &Connection, now: i64, limit: i64) -> Result<Vec<OutboxItem>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.id, o.attempts, m.id, m.conversation_id, o.channel_id, m.kind, m.text, m.payload,
                m.author_id, u.name, ct.id, ct.name, ct.phone,
                (SELECT identifier FROM contact_identities ci WHERE ci.contact_id = ct.id AND ci.channel_id = o.channel_id
                  ORDER BY ci.id LIMIT 1),
                m.created_at
           FROM outbox o
           JOIN messages m ON m.id = o.message_id
           JOIN conversations c ON c.id = m.conversation_id
           JOIN contacts ct ON ct.id = c.contact_id
           LEFT JOIN users u ON u.id = m.author_id
          WHERE o.state = 'pending' AND o.next_attempt_at <= ?1
          ORDER BY o.next_attempt_at, o.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        let payload: Option<String> = r.get(7)?;
        let author: Option<i64> = r.get(8)?;
        Ok(OutboxItem {
            id: r.get(0)?,
            attempts: r.get(1)?,
            message_id: MessageId(r.get(2)?),
            conversation_id: ConversationId(r.get(3)?),
            channel_id: ChannelId(r.get(4)?),
            kind: r.get(5)?,
            text: r.get(6)?,
            payload: payload.and_then(|p| serde_json::from_str(&p).ok()),
            author: author.map(|id| {
                (
                    id,
                    r.get::<_, Option<String>>(9)
                        .ok()
                        .flatten()
                        .unwrap_or_default(),
                )
            }),
            contact_id: ContactId(r.get(10)?),
            contact_name: r.get(11)?,
            contact_phone: r.get(12)?,
            identifier: r.get(13)?,
            created_at: r.get(14)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// When the next queued message is due.
pub fn next_due_at(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'")?
        .query_row([], |r| r.get(0))
        .optional()?
        .flatten())
}

/// The state of an outbox row (`pending`, `done`, `failed`) and its attempts.
pub fn find_state(conn: &Connection, id: i64) -> Result<Option<(String, i64)>> {
    Ok(conn
        .prepare_cached("SELECT state, attempts FROM outbox WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Marks a row sent; returns false if it was no longer pending.
pub fn mark_done(conn: &Connection, id: i64, attempts: i64, now: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE outbox SET state = 'done', attempts = ?2, done_at = ?3, last_error = NULL
             WHERE id = ?1 AND state = 'pending'",
        )?
        .execute(params![id, attempts, now])?
        == 1)
}

/// Schedules another attempt.
pub fn mark_retry(
    conn: &Connection,
    id: i64,
    attempts: i64,
    next_at: i64,
    error: &str,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1 AND state = 'pending'",
    )?
    .execute(params![id, attempts, next_at, error])?;
    Ok(())
}

/// Gives up on a row.
pub fn mark_failed(
    conn: &Connection,
    id: i64,
    attempts: i64,
    error: &str,
    now: i64,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE outbox SET state = 'failed', attempts = ?2, last_error = ?3, done_at = ?4
             WHERE id = ?1 AND state = 'pending'",
        )?
        .execute(params![id, attempts, error, now])?
        == 1)
}
