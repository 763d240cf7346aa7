//! Tags: the workspace's tag names and which conversations carry them.

use rusqlite::{Connection, params};

use super::Result;
use crate::domain::ConversationId;

/// A tag's id, creating it if needed.
pub fn ensure_tag(conn: &Connection, name: &str) -> Result<i64> {
    conn.prepare_cached("INSERT OR IGNORE INTO tags (name) VALUES (?1)")?
        .execute([name])?;
    Ok(conn
        .prepare_cached("SELECT id FROM tags WHERE name = ?1")?
        .query_row([name], |r| r.get(0))?)
}

/// Tags a conversation; returns whether it was new.
pub fn add_tag(conn: &Connection, id: ConversationId, tag: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT OR IGNORE INTO conversation_tags (conversation_id, tag_id) VALUES (?1, ?2)",
        )?
        .execute([id.0, tag])?
        == 1)
}

/// Untags a conversation; returns whether it had the tag.
pub fn remove_tag(conn: &Connection, id: ConversationId, name: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM conversation_tags WHERE conversation_id = ?1
             AND tag_id = (SELECT id FROM tags WHERE name = ?2)",
        )?
        .execute(params![id.0, name])?
        == 1)
}

/// Tag names with how many conversations carry each.
pub fn list_tags(conn: &Connection) -> Result<Vec<(i64, String, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.id, t.name, (SELECT COUNT(*) FROM conversation_tags x WHERE x.tag_id = t.id) FROM tags t ORDER BY t.name",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Deletes a tag from every conversation.
pub fn delete_tag(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn.execute("DELETE FROM tags WHERE id = ?1", [id])? == 1)
}
