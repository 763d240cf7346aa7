//! Messages, notes and the interleaved timeline of a conversation.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use super::Result;
use super::users::Named;
use crate::domain::events::{SendFailure, kind};
use crate::domain::time::Ts;
use crate::domain::{
    ChannelId, ConversationId, DeliveryStatus, Direction, MessageId, NoteId, UserId,
};

/// Fields of a new message.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// Conversation.
    pub conversation: ConversationId,
    /// Channel.
    pub channel: ChannelId,
    /// In or out.
    pub direction: Direction,
    /// `text`, `template`, …
    pub kind: &'a str,
    /// Text (for a template: its readable rendering).
    pub text: &'a str,
    /// Extra structured content (template, media).
    pub payload: Option<&'a Value>,
    /// Staff author.
    pub author: Option<UserId>,
    /// Initial delivery status.
    pub status: DeliveryStatus,
    /// Provider's id.
    pub external_id: Option<&'a str>,
    /// Time (provider's timestamp for inbound).
    pub created_at: i64,
}

/// Inserts a message, and its words into its conversation's search terms.
pub fn insert_message(conn: &Connection, m: &NewMessage<'_>) -> Result<MessageId> {
    conn.prepare_cached(
        "INSERT INTO messages (conversation_id, channel_id, direction, kind, text, payload, author_id, status, external_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        m.conversation.0,
        m.channel.0,
        m.direction.as_str(),
        m.kind,
        m.text,
        m.payload.map(|p| p.to_string()),
        m.author.map(|a| a.0),
        m.status.as_str(),
        m.external_id,
        m.created_at
    ])?;
    let id = MessageId(conn.last_insert_rowid());
    super::terms::insert_terms(conn, m.conversation.0, m.text)?;
    Ok(id)
}

/// The message a provider id belongs to, with its conversation.
pub fn find_by_external(
    conn: &Connection,
    channel: ChannelId,
    external_id: &str,
) -> Result<Option<(MessageId, ConversationId)>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, conversation_id FROM messages WHERE channel_id = ?1 AND external_id = ?2",
        )?
        .query_row(params![channel.0, external_id], |r| {
            Ok((MessageId(r.get(0)?), ConversationId(r.get(1)?)))
        })
        .optional()?)
}

/// A message's delivery status.
pub fn find_status(conn: &Connection, id: MessageId) -> Result<Option<DeliveryStatus>> {
    let s: Option<String> = conn
        .prepare_cached("SELECT status FROM messages WHERE id = ?1")?
        .query_row([id.0], |r| r.get(0))
        .optional()?;
    Ok(s.and_then(|s| DeliveryStatus::parse(&s)))
}

/// Sets a message's delivery status and error.
pub fn update_status(
    conn: &Connection,
    id: MessageId,
    status: DeliveryStatus,
    error: Option<&SendFailure>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE messages SET status = ?2, error_code = ?3, error_text = ?4, error_provider = ?5
          WHERE id = ?1",
    )?
    .execute(params![
        id.0,
        status.as_str(),
        error.map(|e| &e.code),
        error.map(|e| &e.message),
        error.and_then(|e| e.provider_message.as_deref())
    ])?;
    Ok(())
}

/// Sets the provider's id of a message that has none yet (an outbound message once the provider
/// accepted it); returns whether it was set.
pub fn update_external_id(conn: &Connection, id: MessageId, external_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE messages SET external_id = ?2 WHERE id = ?1 AND external_id IS NULL",
        )?
        .execute(params![id.0, external_id])?
        == 1)
}

/// A message's conversation and provider id.
pub fn find_external_id(
    conn: &Connection,
    id: MessageId,
) -> Result<Option<(ConversationId, Option<String>)>> {
    Ok(conn
        .prepare_cached("SELECT conversation_id, external_id FROM messages WHERE id = ?1")?
        .query_row([id.0], |r| Ok((ConversationId(r.get(0)?), r.get(1)?)))
        .optional()?)
}

/// Inserts a private note.
pub fn insert_note(
    conn: &Connection,
    conv: ConversationId,
    author: UserId,
    text: &str,
    now: i64,
) -> Result<NoteId> {
    conn.prepare_cached(
        "INSERT INTO notes (conversation_id, author_id, text, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![conv.0, author.0, text, now])?;
    Ok(NoteId(conn.last_insert_rowid()))
}

/// Why a message failed: `{"code","message","provider_message"}`.
pub use crate::domain::events::SendFailure as MessageError;

/// One entry of a timeline.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TimelineItem {
    /// A customer message or staff reply.
    Message {
        /// Id.
        id: i64,
        /// Time.
        at: Ts,
        /// In or out.
        direction: Direction,
        /// Text.
        text: String,
        /// Staff author (null for the customer).
        author: Option<Named>,
        /// Delivery status.
        status: DeliveryStatus,
        /// Provider error, if failed.
        error: Option<MessageError>,
        /// `text`, `template`, …
        content_type: String,
        /// True for an inbound item that is not the customer writing (a reaction, a system
        /// notice, an edit or withdrawal): shown, but it changed nothing else
        /// (`domain::conversation::InboundNature`).
        notice: bool,
        /// Structured content.
        payload: Option<Value>,
        /// Sent by the channel's automation (#13: menu, away message, survey): no author, never
        /// a response or a reply in any metric.
        automated: bool,
    },
    /// A private note.
    Note {
        /// Id.
        id: i64,
        /// Time.
        at: Ts,
        /// Author.
        author: Option<Named>,
        /// Text.
        text: String,
    },
    /// A change.
    Event {
        /// Id.
        id: i64,
        /// Time.
        at: Ts,
        /// Stable kind.
        kind: String,
        /// Who did it (null for the system).
        actor: Option<Named>,
        /// Details.
        data: Value,
    },
}

/// Position of a timeline item, for paging: (time, type rank, id).
pub type TimelineCursor = (i64, i64, i64);

/// The latest `limit` timeline items before `before`, in time order, with the cursor of the
/// older page. Events that repeat a message or note (`message.created`…) are left out.
pub fn timeline(
    conn: &Connection,
    conv: ConversationId,
    before: Option<TimelineCursor>,
    limit: i64,
) -> Result<(Vec<TimelineItem>, Option<TimelineCursor>)> {
    let (at, t, id) = before.unwrap_or((i64::MAX, 0, 0));
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM (
            SELECT 0 AS t, m.id, m.created_at AS at, m.direction, m.text, m.author_id, u.name, m.status,
                   m.error_code, m.error_text, m.kind, m.payload, m.error_provider
              FROM messages m LEFT JOIN users u ON u.id = m.author_id WHERE m.conversation_id = ?1
            UNION ALL
            SELECT 1, n.id, n.created_at, NULL, n.text, n.author_id, u.name, NULL, NULL, NULL, NULL, NULL, NULL
              FROM notes n LEFT JOIN users u ON u.id = n.author_id WHERE n.conversation_id = ?1
            UNION ALL
            SELECT 2, e.id, e.created_at, NULL, NULL, e.actor_id, u.name, NULL, NULL, NULL, e.kind, e.data, NULL
              FROM events e LEFT JOIN users u ON u.id = e.actor_id
             WHERE e.conversation_id = ?1 AND e.kind NOT IN (?6, ?7, ?8)
         ) WHERE (at, t, id) < (?2, ?3, ?4)
         ORDER BY at DESC, t DESC, id DESC LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![
            conv.0,
            at,
            t,
            id,
            limit + 1,
            kind::MESSAGE_CREATED,
            kind::NOTE_CREATED,
            kind::MESSAGE_STATUS
        ],
        |r| {
            let t: i64 = r.get(0)?;
            let id: i64 = r.get(1)?;
            let at: i64 = r.get(2)?;
            let author = r.get::<_, Option<i64>>(5)?.map(|aid| Named {
                id: aid,
                name: r
                    .get::<_, Option<String>>(6)
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
            });
            let item = match t {
                0 => {
                    let dir: String = r.get(3)?;
                    let status: String = r.get(7)?;
                    let code: Option<String> = r.get(8)?;
                    let provider_message: Option<String> = r.get(12)?;
                    let payload: Option<String> = r.get(11)?;
                    let content_type: String = r.get(10)?;
                    let error = code.map(|code| MessageError {
                        code,
                        message: r
                            .get::<_, Option<String>>(9)
                            .ok()
                            .flatten()
                            .unwrap_or_default(),
                        provider_message,
                    });
                    let payload: Option<Value> =
                        payload.and_then(|p| serde_json::from_str(&p).ok());
                    TimelineItem::Message {
                        id,
                        at: Ts(at),
                        direction: Direction::parse(&dir).unwrap_or(Direction::In),
                        text: r.get(4)?,
                        author,
                        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Received),
                        error,
                        notice: crate::domain::conversation::is_notice(&content_type),
                        content_type,
                        automated: dir == "out"
                            && payload
                                .as_ref()
                                .is_some_and(|p| p["automated"] == Value::Bool(true)),
                        payload,
                    }
                }
                1 => TimelineItem::Note {
                    id,
                    at: Ts(at),
                    author,
                    text: r.get(4)?,
                },
                _ => {
                    let data: String = r.get(11)?;
                    TimelineItem::Event {
                        id,
                        at: Ts(at),
                        kind: r.get(10)?,
                        actor: author,
                        data: serde_json::from_str(&data).unwrap_or(Value::Null),
                    }
                }
            };
            Ok(((at, t, id), item))
        },
    )?;
    let mut items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|(c, _)| *c)
    } else {
        None
    };
    items.reverse();
    Ok((items.into_iter().map(|(_, i)| i).collect(), next))
}
