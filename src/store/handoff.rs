//! What the end-of-shift screen lists: a person's unresolved conversations with their customer,
//! last message and clocks.

use rusqlite::{Connection, params};

use super::Result;
use crate::domain::{ConversationId, Status, UserId};

/// One conversation on the end-of-shift screen.
#[derive(Debug, Clone)]
pub struct ShiftRow {
    /// Id.
    pub id: ConversationId,
    /// The customer's name.
    pub contact: String,
    /// The last message, shortened.
    pub preview: String,
    /// Open, pending or snoozed.
    pub status: Status,
    /// Last message time (UTC ms).
    pub last_message_at: i64,
    /// Since when the customer waits on us (UTC ms), if they do.
    pub waiting_since: Option<i64>,
    /// When the 24-hour customer service window closes (UTC ms), on channels that have one.
    pub window_closes_at: Option<i64>,
    /// The conversation's team, by name.
    pub team: Option<String>,
}

/// `user`'s unresolved conversations (open, pending, snoozed), oldest activity first — the same
/// set and order the handoff moves — at most `limit`.
pub fn list_shift_rows(conn: &Connection, user: UserId, limit: i64) -> Result<Vec<ShiftRow>> {
    let mut st = conn.prepare_cached(
        "SELECT c.id, ct.name, c.preview, c.status, c.last_message_at, c.waiting_since,
                c.window_closes_at, t.name
         FROM conversations c
         JOIN contacts ct ON ct.id = c.contact_id
         LEFT JOIN teams t ON t.id = c.team_id
         WHERE c.assignee_id = ?1 AND c.status <> 'resolved'
         ORDER BY c.last_message_at, c.id LIMIT ?2",
    )?;
    let rows = st
        .query_map(params![user.0, limit], |r| {
            let status: String = r.get(3)?;
            Ok(ShiftRow {
                id: ConversationId(r.get(0)?),
                contact: r.get(1)?,
                preview: r.get(2)?,
                status: Status::parse(&status).unwrap_or(Status::Open),
                last_message_at: r.get(4)?,
                waiting_since: r.get(5)?,
                window_closes_at: r.get(6)?,
                team: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
