//! The bot's tables and columns (#13): each channel's automation, the menu bot's hold on a
//! conversation (`bot_until`, `bot_misses`), the survey awaiting an answer (`csat_cycle_id`) and
//! the away message sent once per cycle (`cycles.away_sent_at`).

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;
use crate::domain::bot::Automation;
use crate::domain::{ChannelId, ConversationId};

/// A channel's automation as stored; `None` when it was never written (or no longer parses).
pub fn find_automation(conn: &Connection, channel: ChannelId) -> Result<Option<Automation>> {
    let raw: Option<String> = conn
        .prepare_cached("SELECT config FROM automations WHERE channel_id = ?1")?
        .query_row([channel.0], |r| r.get(0))
        .optional()?;
    Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
}

/// Writes a channel's automation whole.
pub fn upsert_automation(
    conn: &Connection,
    channel: ChannelId,
    a: &Automation,
    now: i64,
) -> Result<()> {
    let config = serde_json::to_string(a).unwrap_or_default();
    conn.prepare_cached(
        "INSERT INTO automations (channel_id, config, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (channel_id) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
    )?
    .execute(params![channel.0, config, now])?;
    Ok(())
}

/// The bot's hold on a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    /// When the bot gives up and hands over (UTC ms).
    pub until: i64,
    /// Answers that matched no option so far.
    pub misses: i64,
}

/// The bot's hold on `id`, if it holds it; and the survey cycle awaiting an answer, if any.
pub fn find_bot_state(
    conn: &Connection,
    id: ConversationId,
) -> Result<(Option<Hold>, Option<i64>)> {
    Ok(conn
        .prepare_cached(
            "SELECT bot_until, bot_misses, csat_cycle_id FROM conversations WHERE id = ?1",
        )?
        .query_row([id.0], |r| {
            let until: Option<i64> = r.get(0)?;
            let misses: i64 = r.get(1)?;
            Ok((until.map(|until| Hold { until, misses }), r.get(2)?))
        })
        .optional()?
        .unwrap_or((None, None)))
}

/// Whether the bot holds `id`.
pub fn find_held(conn: &Connection, id: ConversationId) -> Result<bool> {
    Ok(find_bot_state(conn, id)?.0.is_some())
}

/// The bot takes (or keeps) `id` until `until` with `misses` unmatched answers. The customer
/// does not wait on a person meanwhile (`waiting_since` NULL keeps it out of Take next and the
/// unassigned alert).
pub fn update_hold(
    conn: &Connection,
    id: ConversationId,
    until: i64,
    misses: i64,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE conversations SET bot_until = ?2, bot_misses = ?3, waiting_since = NULL, updated_at = ?4
          WHERE id = ?1",
    )?
    .execute(params![id.0, until, misses, now])?;
    Ok(())
}

/// The bot lets go of `id` at `at`: the customer waits on a person from then on, and the current
/// cycle (unless someone already answered it) starts then, so its first response and SLA count
/// from the handoff.
pub fn update_release(conn: &Connection, id: ConversationId, at: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE conversations SET bot_until = NULL, bot_misses = 0, waiting_since = ?2, updated_at = ?2
          WHERE id = ?1",
    )?
    .execute(params![id.0, at])?;
    conn.prepare_cached(
        "UPDATE cycles SET started_at = ?2
          WHERE id = (SELECT cycle_id FROM conversations WHERE id = ?1) AND first_response_at IS NULL",
    )?
    .execute(params![id.0, at])?;
    Ok(())
}

/// The bot lets go of `id` without a handoff (it was resolved meanwhile).
pub fn update_hold_cleared(conn: &Connection, id: ConversationId) -> Result<()> {
    conn.prepare_cached("UPDATE conversations SET bot_until = NULL, bot_misses = 0 WHERE id = ?1")?
        .execute([id.0])?;
    Ok(())
}

/// Conversations whose bot hold ran out by `now`, soonest first, at most `limit`.
pub fn list_bot_due(conn: &Connection, now: i64, limit: i64) -> Result<Vec<ConversationId>> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM conversations INDEXED BY conv_bot_until
          WHERE bot_until IS NOT NULL AND bot_until <= ?1 ORDER BY bot_until LIMIT ?2",
    )?;
    let rows = st
        .query_map(params![now, limit], |r| r.get(0).map(ConversationId))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Sets (or with `None` clears) the survey cycle awaiting an answer on `id`.
pub fn update_csat_cycle(conn: &Connection, id: ConversationId, cycle: Option<i64>) -> Result<()> {
    conn.prepare_cached("UPDATE conversations SET csat_cycle_id = ?2 WHERE id = ?1")?
        .execute(params![id.0, cycle])?;
    Ok(())
}

/// Marks the away message sent in `cycle`; answers false when it already was.
pub fn update_away_sent(conn: &Connection, cycle: i64, at: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE cycles SET away_sent_at = ?2 WHERE id = ?1 AND away_sent_at IS NULL",
        )?
        .execute(params![cycle, at])?
        == 1)
}

/// Records an automated message on its conversation: it becomes the newest activity and the
/// preview, and nothing else changes (status, wait, assignee stay).
pub fn update_after_automated(
    conn: &Connection,
    id: ConversationId,
    preview: &str,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE conversations SET last_message_at = MAX(last_message_at, ?3), preview = ?2, updated_at = ?3
          WHERE id = ?1",
    )?
    .execute(params![id.0, preview, now])?;
    Ok(())
}

/// How many times a bot started (`bot.started` events), for the benchmark.
pub fn count_bot_started(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM events WHERE kind = ?1")?
        .query_row([crate::domain::events::kind::BOT_STARTED], |r| r.get(0))?)
}
