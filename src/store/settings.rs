//! Workspace settings and internal key/value state (such as the one-time setup token).

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use super::Result;
use crate::domain::settings::Settings;

/// Stored settings over the defaults.
pub fn load_settings(conn: &Connection) -> Result<Settings> {
    let mut current = match serde_json::to_value(Settings::default())? {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut stmt = conn.prepare_cached("SELECT key, value FROM settings")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (k, v) = row?;
        if current.contains_key(&k) {
            current.insert(k, serde_json::from_str(&v)?);
        }
    }
    // A stored value that no longer fits falls back to the default rather than failing.
    Ok(serde_json::from_value(Value::Object(current)).unwrap_or_default())
}

/// Stores changed settings.
pub fn save_settings(conn: &Connection, changed: &Map<String, Value>) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?;
    for (k, v) in changed {
        stmt.execute(params![k, v.to_string()])?;
    }
    Ok(())
}

/// An internal value (keys start with `_`, so they never clash with settings).
pub fn find_internal(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Stores an internal value; `None` deletes it.
pub fn set_internal(conn: &Connection, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, v],
        )?,
        None => conn.execute("DELETE FROM settings WHERE key = ?1", [key])?,
    };
    Ok(())
}
