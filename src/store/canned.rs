//! Canned replies: text inserted in the composer with `/shortcut`.

use rusqlite::{Connection, params};
use serde::Serialize;

use super::Result;

/// A canned reply.
#[derive(Debug, Clone, Serialize)]
pub struct Canned {
    /// Id.
    pub id: i64,
    /// What follows the slash.
    pub shortcut: String,
    /// The text inserted.
    pub body: String,
}

/// Every canned reply, by shortcut.
pub fn list_canned(conn: &Connection) -> Result<Vec<Canned>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, shortcut, body FROM canned_replies ORDER BY shortcut")?;
    let rows = stmt.query_map([], |r| {
        Ok(Canned {
            id: r.get(0)?,
            shortcut: r.get(1)?,
            body: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether a shortcut is taken (any case).
pub fn shortcut_exists(conn: &Connection, shortcut: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM canned_replies WHERE shortcut = ?1)",
        [shortcut],
        |r| r.get(0),
    )?)
}

/// Adds a canned reply.
pub fn insert_canned(conn: &Connection, shortcut: &str, body: &str, now: i64) -> Result<i64> {
    conn.execute(
        "INSERT INTO canned_replies (shortcut, body, created_at) VALUES (?1, ?2, ?3)",
        params![shortcut, body, now],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Removes a canned reply; returns whether it existed.
pub fn delete_canned(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn.execute("DELETE FROM canned_replies WHERE id = ?1", [id])? == 1)
}
