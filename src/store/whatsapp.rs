//! WhatsApp Cloud API storage: raw webhook bodies, channel lookup by phone number id, inbound
//! media records, read receipts, and the few message/conversation updates the channel needs.

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;
use super::channels::ChannelRecord;
use crate::domain::{ChannelId, ConversationId, MessageId};

/// Keeps a webhook body exactly as received; returns its id.
pub fn insert_webhook(conn: &Connection, body: &[u8], now: i64) -> Result<i64> {
    conn.prepare_cached("INSERT INTO wa_webhooks (body, received_at) VALUES (?1, ?2)")?
        .execute(params![body, now])?;
    Ok(conn.last_insert_rowid())
}

/// The body of a webhook not processed yet (`None` if unknown or already processed).
pub fn find_unprocessed(conn: &Connection, id: i64) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT body FROM wa_webhooks WHERE id = ?1 AND processed_at IS NULL")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// Records that a webhook was processed, and what came of it.
pub fn mark_processed(conn: &Connection, id: i64, outcome: &str, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE wa_webhooks SET processed_at = ?2, outcome = ?3 WHERE id = ?1")?
        .execute(params![id, now, outcome])?;
    Ok(())
}

/// Ids of webhooks still to process after id `after`, oldest first.
pub fn list_unprocessed(conn: &Connection, after: i64, limit: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM wa_webhooks WHERE processed_at IS NULL AND id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map([after, limit], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The WhatsApp channel of a business phone number id.
pub fn find_channel_by_phone_number_id(
    conn: &Connection,
    phone_number_id: &str,
) -> Result<Option<ChannelId>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM channels WHERE kind = 'whatsapp'
               AND json_extract(config, '$.phone_number_id') = ?1 ORDER BY id LIMIT 1",
        )?
        .query_row([phone_number_id], |r| r.get(0))
        .optional()?
        .map(ChannelId))
}

/// Every WhatsApp channel (with secrets: for signature checks only).
pub fn list_whatsapp_channels(conn: &Connection) -> Result<Vec<ChannelRecord>> {
    Ok(super::channels::list_channels(conn)?
        .into_iter()
        .filter(|c| c.kind == crate::domain::ChannelKind::Whatsapp)
        .collect())
}

/// The message and channel an outbox row sends.
pub fn find_outbox_message(
    conn: &Connection,
    outbox_id: i64,
) -> Result<Option<(MessageId, ChannelId, String)>> {
    Ok(conn
        .prepare_cached("SELECT message_id, channel_id, state FROM outbox WHERE id = ?1")?
        .query_row([outbox_id], |r| {
            Ok((MessageId(r.get(0)?), ChannelId(r.get(1)?), r.get(2)?))
        })
        .optional()?)
}

/// Marks an outbox row sent by evidence other than the send's answer (a status webhook carrying
/// its id); returns whether it was still pending.
pub fn mark_outbox_done_by_status(conn: &Connection, outbox_id: i64, now: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE outbox SET state = 'done', done_at = ?2, last_error = NULL
             WHERE id = ?1 AND state = 'pending'",
        )?
        .execute(params![outbox_id, now])?
        == 1)
}

/// Closes a conversation's customer service window now (WhatsApp answered 131047).
pub fn close_window(conn: &Connection, id: ConversationId, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE conversations SET window_closes_at = MIN(COALESCE(window_closes_at, ?2), ?2), updated_at = ?2
         WHERE id = ?1",
    )?
    .execute(params![id.0, now])?;
    Ok(())
}

/// A media file to fetch.
#[derive(Debug, Clone)]
pub struct MediaJob {
    /// The message it belongs to.
    pub message_id: MessageId,
    /// Channel (for the token and Graph API base).
    pub channel_id: ChannelId,
    /// Meta's media id.
    pub media_id: String,
    /// Declared MIME type.
    pub mime_type: Option<String>,
    /// Attempts so far.
    pub attempts: i64,
}

/// Records an inbound media message to download (once per message).
pub fn insert_media(
    conn: &Connection,
    message: MessageId,
    channel: ChannelId,
    media_id: &str,
    mime_type: Option<&str>,
    filename: Option<&str>,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO wa_media (message_id, channel_id, media_id, mime_type, filename, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![message.0, channel.0, media_id, mime_type, filename, now])?;
    Ok(())
}

fn map_job(r: &rusqlite::Row<'_>) -> rusqlite::Result<MediaJob> {
    Ok(MediaJob {
        message_id: MessageId(r.get(0)?),
        channel_id: ChannelId(r.get(1)?),
        media_id: r.get(2)?,
        mime_type: r.get(3)?,
        attempts: r.get(4)?,
    })
}

/// The pending download of one message, if any.
pub fn find_pending_media(conn: &Connection, message: MessageId) -> Result<Option<MediaJob>> {
    Ok(conn
        .prepare_cached(
            "SELECT message_id, channel_id, media_id, mime_type, attempts FROM wa_media
             WHERE message_id = ?1 AND state = 'pending'",
        )?
        .query_row([message.0], map_job)
        .optional()?)
}

/// Downloads still pending and not touched since `before`, oldest first.
pub fn list_pending_media(conn: &Connection, before: i64, limit: i64) -> Result<Vec<MediaJob>> {
    let mut stmt = conn.prepare_cached(
        "SELECT message_id, channel_id, media_id, mime_type, attempts FROM wa_media
         WHERE state = 'pending' AND updated_at <= ?1 ORDER BY updated_at LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![before, limit], map_job)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records a stored file.
pub fn mark_media_done(
    conn: &Connection,
    message: MessageId,
    path: &str,
    size: i64,
    sha256: &str,
    mime_type: &str,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE wa_media SET state = 'done', path = ?2, size = ?3, sha256 = ?4, mime_type = ?5,
            attempts = attempts + 1, error = NULL, updated_at = ?6 WHERE message_id = ?1",
    )?
    .execute(params![message.0, path, size, sha256, mime_type, now])?;
    Ok(())
}

/// Records a failed download: pending again unless `give_up`.
pub fn mark_media_failed(
    conn: &Connection,
    message: MessageId,
    error: &str,
    give_up: bool,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE wa_media SET state = CASE WHEN ?3 THEN 'failed' ELSE 'pending' END,
            attempts = attempts + 1, error = ?2, updated_at = ?4 WHERE message_id = ?1",
    )?
    .execute(params![message.0, error, give_up, now])?;
    Ok(())
}

/// A stored media file as staff download it.
#[derive(Debug, Clone)]
pub struct StoredMedia {
    /// Conversation of the message (for the visibility check).
    pub conversation_id: ConversationId,
    /// `pending`, `done` or `failed`.
    pub state: String,
    /// Path relative to the data dir.
    pub path: Option<String>,
    /// MIME type.
    pub mime_type: Option<String>,
    /// File name the customer gave (documents).
    pub filename: Option<String>,
    /// Why the download failed.
    pub error: Option<String>,
}

/// The media record of a message.
pub fn find_media(conn: &Connection, message: MessageId) -> Result<Option<StoredMedia>> {
    Ok(conn
        .prepare_cached(
            "SELECT m.conversation_id, w.state, w.path, w.mime_type, w.filename, w.error
               FROM wa_media w JOIN messages m ON m.id = w.message_id WHERE w.message_id = ?1",
        )?
        .query_row([message.0], |r| {
            Ok(StoredMedia {
                conversation_id: ConversationId(r.get(0)?),
                state: r.get(1)?,
                path: r.get(2)?,
                mime_type: r.get(3)?,
                filename: r.get(4)?,
                error: r.get(5)?,
            })
        })
        .optional()?)
}

/// The newest inbound message of a conversation with a provider id, and whether a read receipt
/// was already sent for it.
pub fn find_unread_inbound(
    conn: &Connection,
    conv: ConversationId,
) -> Result<Option<(MessageId, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT m.id, m.external_id FROM messages m
              WHERE m.conversation_id = ?1 AND m.direction = 'in' AND m.external_id IS NOT NULL
                AND m.id > COALESCE((SELECT message_id FROM wa_read_marks WHERE conversation_id = ?1), 0)
              ORDER BY m.created_at DESC, m.id DESC LIMIT 1",
        )?
        .query_row([conv.0], |r| Ok((MessageId(r.get(0)?), r.get(1)?)))
        .optional()?)
}

/// Records the read receipt of a conversation up to `message`.
pub fn upsert_read_mark(
    conn: &Connection,
    conv: ConversationId,
    message: MessageId,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO wa_read_marks (conversation_id, message_id, marked_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (conversation_id) DO UPDATE SET message_id = MAX(message_id, excluded.message_id),
            marked_at = excluded.marked_at",
    )?
    .execute(params![conv.0, message.0, now])?;
    Ok(())
}
