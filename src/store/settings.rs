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

/// Settings that make the business calendar of reports (`domain::metrics::report_calendar`).
const CALENDAR_KEYS: [&str; 3] = ["timezone", "business_hours", "holidays"];

/// Stores changed settings (and replaces the config version, see [`find_config_version`]).
/// A change of the business calendar writes every cycle's business-hours times again
/// (`cycles::update_business_secs_all`), in the same transaction.
pub fn save_settings(conn: &Connection, changed: &Map<String, Value>) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?;
    for (k, v) in changed {
        stmt.execute(params![k, v.to_string()])?;
    }
    if CALENDAR_KEYS.iter().any(|k| changed.contains_key(*k)) {
        super::cycles::update_business_secs_all(conn)?;
    }
    update_config_version(conn)
}

/// Internal key of the config version.
const CONFIG_VERSION: &str = "_config_version";

/// The config version: a random token (32 hex digits) that every write of a setting or a routing
/// rule replaces, so a copy of them kept in memory is current exactly while the token is the
/// same. A token is never reused, also not after a rolled-back write. `None` until the first
/// such write. One primary-key lookup.
pub fn find_config_version(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([CONFIG_VERSION], |r| r.get(0))
        .optional()?)
}

/// Replaces the config version with a new random token (128 bits from SQLite's
/// `randomblob`). Called by every writer of settings and routing rules.
pub fn update_config_version(conn: &Connection) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, lower(hex(randomblob(16))))
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([CONFIG_VERSION])?;
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
