//! Mentions: who a note names, whether they have seen it, and each person's list of them.

use rusqlite::{Connection, params};

use super::Result;
use crate::domain::{ConversationId, NoteId, UserId};

/// The SQL expression (over conversations `c`) of the ids a conversation's notes mention, as
/// `"3,7"` or NULL; [`parse_ids`] reads it.
pub(crate) const MENTIONED_IDS: &str =
    "(SELECT group_concat(DISTINCT m.user_id) FROM mentions m WHERE m.conversation_id = c.id)";

/// User ids from a `group_concat` of integers (`None`, empty or junk: none).
pub(crate) fn parse_ids(s: Option<String>) -> Vec<UserId> {
    s.as_deref()
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.trim().parse().ok().map(UserId))
        .collect()
}

/// Records that note `note` of conversation `conv` mentions `user` (once per note and person).
pub fn insert_mention(
    conn: &Connection,
    note: NoteId,
    conv: ConversationId,
    user: UserId,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO mentions (note_id, conversation_id, user_id, created_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![note.0, conv.0, user.0, now])?;
    Ok(())
}

/// Marks every mention of `user` in conversation `conv` seen at `now`; returns how many were
/// unseen.
pub fn update_seen(
    conn: &Connection,
    conv: ConversationId,
    user: UserId,
    now: i64,
) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE mentions SET seen_at = ?3
              WHERE conversation_id = ?1 AND user_id = ?2 AND seen_at IS NULL",
        )?
        .execute(params![conv.0, user.0, now])?)
}

/// Whether `user` has an unseen mention in conversation `conv` (a read, so opening a page
/// writes only when there is something to mark).
pub fn find_unseen(conn: &Connection, conv: ConversationId, user: UserId) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM mentions
              WHERE conversation_id = ?1 AND user_id = ?2 AND seen_at IS NULL)",
        )?
        .query_row(params![conv.0, user.0], |r| r.get(0))?)
}

/// The ids of the unresolved conversations whose notes mention `user`, ascending: the part of a
/// narrower scope a search reads on its own (store::queue). A person's mentions are few (one
/// index range), and resolved conversations drop out with one row look-up each.
pub fn list_unresolved_mentioning(conn: &Connection, user: UserId) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT m.conversation_id FROM mentions m
           JOIN conversations c ON c.id = m.conversation_id
          WHERE m.user_id = ?1 AND c.status <> 'resolved'
          ORDER BY m.conversation_id",
    )?;
    let ids = stmt.query_map([user.0], |r| r.get(0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}

/// How many mentions of `user` are unseen.
pub fn count_unseen(conn: &Connection, user: UserId) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM mentions WHERE user_id = ?1 AND seen_at IS NULL")?
        .query_row([user.0], |r| r.get(0))?)
}

/// One mention as a list shows it.
#[derive(Debug, Clone)]
pub struct MentionRow {
    /// The mention's id (the page cursor).
    pub id: i64,
    /// The note.
    pub note_id: NoteId,
    /// Its text.
    pub text: String,
    /// Who wrote it (id, name).
    pub author: (i64, String),
    /// When (ms).
    pub created_at: i64,
    /// When the person opened the conversation after it (ms), if they did.
    pub seen_at: Option<i64>,
    /// The conversation.
    pub conversation_id: ConversationId,
}

/// Mentions of `user`, newest first, at most `limit`, older than mention id `before`; only
/// unseen ones when `unseen_only`.
pub fn list_mentions(
    conn: &Connection,
    user: UserId,
    unseen_only: bool,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<MentionRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.id, m.note_id, n.text, n.author_id, COALESCE(u.name, ''), m.created_at,
                m.seen_at, m.conversation_id
           FROM mentions m
           JOIN notes n ON n.id = m.note_id
           LEFT JOIN users u ON u.id = n.author_id
          WHERE m.user_id = ?1 AND (?2 = 0 OR m.seen_at IS NULL) AND m.id < ?3
          ORDER BY m.id DESC LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![user.0, unseen_only, before.unwrap_or(i64::MAX), limit],
        |r| {
            Ok(MentionRow {
                id: r.get(0)?,
                note_id: NoteId(r.get(1)?),
                text: r.get(2)?,
                author: (r.get(3)?, r.get(4)?),
                created_at: r.get(5)?,
                seen_at: r.get(6)?,
                conversation_id: ConversationId(r.get(7)?),
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
