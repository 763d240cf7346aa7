//! WhatsApp Cloud API storage: raw webhook bodies, channel lookup by phone number id, inbound
//! media records, read receipts, and the few message/conversation updates the channel needs.

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;
use super::channels::ChannelRecord;
use crate::domain::{ChannelId, ConversationId, MessageId};

/// Keeps a webhook body exactly as received, with the sha256 of its bytes (unique: see
/// [`find_webhook_by_sha256`]) and the channels whose app secret signed it (a JSON array of
/// channel ids); returns its id.
pub fn insert_webhook(
    conn: &Connection,
    body: &[u8],
    sha256: &[u8],
    verified: &[ChannelId],
    now: i64,
) -> Result<i64> {
    let verified: Vec<i64> = verified.iter().map(|c| c.0).collect();
    conn.prepare_cached(
        "INSERT INTO wa_webhooks (body, sha256, verified, received_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        body,
        sha256,
        serde_json::to_string(&verified)?,
        now
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The kept body with these sha256 bytes, if one is still kept: its id and the channels it was
/// verified for (`None` for a body kept before migration 006).
pub fn find_webhook_by_sha256(
    conn: &Connection,
    sha256: &[u8],
) -> Result<Option<(i64, Option<Vec<ChannelId>>)>> {
    let found: Option<(i64, Option<String>)> = conn
        .prepare_cached("SELECT id, verified FROM wa_webhooks WHERE sha256 = ?1")?
        .query_row([sha256], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match found {
        Some((id, verified)) => Ok(Some((id, channel_list(verified.as_deref())?))),
        None => Ok(None),
    }
}

fn channel_list(json: Option<&str>) -> Result<Option<Vec<ChannelId>>> {
    Ok(match json {
        Some(json) => Some(
            serde_json::from_str::<Vec<i64>>(json)?
                .into_iter()
                .map(ChannelId)
                .collect(),
        ),
        None => None,
    })
}

/// Widens the channels a kept body was verified for and puts it back in line if it was
/// processed or set aside, with its attempts counted afresh (processing is idempotent; the newly
/// verified channels' changes then land). The minute sweep picks it up: its id is not new.
pub fn update_webhook_verified(conn: &Connection, id: i64, verified: &[ChannelId]) -> Result<()> {
    let verified: Vec<i64> = verified.iter().map(|c| c.0).collect();
    conn.prepare_cached(
        "UPDATE wa_webhooks SET verified = ?2, processed_at = NULL, next_attempt_at = NULL,
                set_aside_at = NULL, attempts = 0
          WHERE id = ?1",
    )?
    .execute(params![id, serde_json::to_string(&verified)?])?;
    Ok(())
}

/// A kept body still to process.
#[derive(Debug, Clone)]
pub struct KeptWebhook {
    /// The raw body, byte for byte as Meta signed it.
    pub body: Vec<u8>,
    /// The channels whose app secret signed it; `None` for a body kept before migration 006
    /// (accepted then under any channel's secret).
    pub verified: Option<Vec<ChannelId>>,
}

/// A webhook still to process: neither processed nor set aside (`None` otherwise, or if unknown).
pub fn find_unprocessed(conn: &Connection, id: i64) -> Result<Option<KeptWebhook>> {
    let found: Option<(Vec<u8>, Option<String>)> = conn
        .prepare_cached(
            "SELECT body, verified FROM wa_webhooks
              WHERE id = ?1 AND processed_at IS NULL AND set_aside_at IS NULL",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((body, verified)) = found else {
        return Ok(None);
    };
    Ok(Some(KeptWebhook {
        body,
        verified: channel_list(verified.as_deref())?,
    }))
}

/// Records that a webhook was processed, and what came of it.
pub fn mark_processed(conn: &Connection, id: i64, outcome: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE wa_webhooks SET processed_at = ?2, outcome = ?3, next_attempt_at = NULL WHERE id = ?1",
    )?
    .execute(params![id, now, outcome])?;
    Ok(())
}

/// Ids of webhooks to process after id `after`, oldest first: not processed, not set aside, and
/// not waiting for a retry later than `now`.
pub fn list_due(conn: &Connection, after: i64, now: i64, limit: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM wa_webhooks
          WHERE processed_at IS NULL AND set_aside_at IS NULL AND id > ?1
            AND (next_attempt_at IS NULL OR next_attempt_at <= ?2)
          ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map([after, now, limit], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Counts a failed attempt at a webhook still to process and keeps why; returns the attempts so
/// far (`None` if it is processed, set aside or unknown).
pub fn update_webhook_failed(conn: &Connection, id: i64, error: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "UPDATE wa_webhooks SET attempts = attempts + 1, error = ?2
              WHERE id = ?1 AND processed_at IS NULL AND set_aside_at IS NULL
             RETURNING attempts",
        )?
        .query_row(params![id, error], |r| r.get(0))
        .optional()?)
}

/// Sets when a failed webhook is tried again (ms).
pub fn update_webhook_retry_at(conn: &Connection, id: i64, at: i64) -> Result<()> {
    conn.prepare_cached("UPDATE wa_webhooks SET next_attempt_at = ?2 WHERE id = ?1")?
        .execute(params![id, at])?;
    Ok(())
}

/// Sets a webhook aside: the sweep no longer tries it and pruning keeps it.
pub fn update_webhook_set_aside(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE wa_webhooks SET set_aside_at = ?2, next_attempt_at = NULL WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    Ok(())
}

/// Puts a set-aside webhook back in line with a fresh count of attempts; returns whether it was
/// set aside.
pub fn update_webhook_retry_now(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE wa_webhooks SET set_aside_at = NULL, next_attempt_at = NULL, attempts = 0
              WHERE id = ?1 AND set_aside_at IS NOT NULL AND processed_at IS NULL",
        )?
        .execute([id])?
        == 1)
}

/// A webhook set aside after failing processing for good.
#[derive(Debug, Clone)]
pub struct SetAside {
    /// Id (`teaminbox webhooks retry --id` takes it).
    pub id: i64,
    /// When it was received (ms).
    pub received_at: i64,
    /// When it was set aside (ms).
    pub set_aside_at: i64,
    /// Attempts made.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// Size of the body in bytes.
    pub size: i64,
}

/// Webhooks set aside, oldest first.
pub fn list_set_aside(conn: &Connection, limit: i64) -> Result<Vec<SetAside>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, received_at, set_aside_at, attempts, error, length(body) FROM wa_webhooks
          WHERE set_aside_at IS NOT NULL AND processed_at IS NULL ORDER BY id LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok(SetAside {
            id: r.get(0)?,
            received_at: r.get(1)?,
            set_aside_at: r.get(2)?,
            attempts: r.get(3)?,
            error: r.get(4)?,
            size: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether some processed webhook was processed before `before` (ms), i.e. is due for pruning
/// (the newest row aside, see [`delete_processed_webhooks`]).
pub fn find_prunable(conn: &Connection, before: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM wa_webhooks
              WHERE processed_at IS NOT NULL AND processed_at < ?1
                AND id < (SELECT MAX(id) FROM wa_webhooks))",
        )?
        .query_row([before], |r| r.get(0))?)
}

/// Deletes up to `limit` webhooks processed before `before` (ms), oldest first; returns how many.
/// Bodies not processed (pending or set aside) are never deleted, nor is the newest row: SQLite
/// gives a new row the highest id plus one, and ids must keep growing (the WhatsApp job follows
/// them, and a `received` id is never given twice).
pub fn delete_processed_webhooks(conn: &Connection, before: i64, limit: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM wa_webhooks WHERE id IN (
               SELECT id FROM wa_webhooks WHERE processed_at IS NOT NULL AND processed_at < ?1
                  AND id < (SELECT MAX(id) FROM wa_webhooks)
                ORDER BY processed_at LIMIT ?2)",
        )?
        .execute([before, limit])?)
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
