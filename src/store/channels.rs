//! Channels: where conversations come from and replies go to.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::Result;
use crate::domain::{ChannelId, ChannelKind, TeamId};

/// A channel with its full configuration (secrets included: never send this to a client as is).
#[derive(Debug, Clone)]
pub struct ChannelRecord {
    /// Id.
    pub id: ChannelId,
    /// Kind.
    pub kind: ChannelKind,
    /// Name.
    pub name: String,
    /// Configuration (JSON object).
    pub config: Value,
    /// API channel secret.
    pub secret: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// The team its new conversations get when no routing rule sets one.
    pub default_team: Option<TeamId>,
}

fn map_channel(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChannelRecord> {
    let kind: String = r.get(1)?;
    let config: String = r.get(3)?;
    Ok(ChannelRecord {
        id: ChannelId(r.get(0)?),
        kind: ChannelKind::parse(&kind).unwrap_or(ChannelKind::Api),
        name: r.get(2)?,
        config: serde_json::from_str(&config).unwrap_or(Value::Null),
        secret: r.get(4)?,
        created_at: r.get(5)?,
        default_team: r.get::<_, Option<i64>>(6)?.map(TeamId),
    })
}

const COLS: &str = "id, kind, name, config, secret, created_at, default_team_id";

/// Inserts a channel.
pub fn insert_channel(
    conn: &Connection,
    kind: ChannelKind,
    name: &str,
    config: &Value,
    secret: Option<&str>,
    now: i64,
) -> Result<ChannelId> {
    conn.execute(
        "INSERT INTO channels (kind, name, config, secret, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![kind.as_str(), name, config.to_string(), secret, now],
    )?;
    Ok(ChannelId(conn.last_insert_rowid()))
}

/// One channel.
pub fn find_channel(conn: &Connection, id: ChannelId) -> Result<Option<ChannelRecord>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLS} FROM channels WHERE id = ?1"))?
        .query_row([id.0], map_channel)
        .optional()?)
}

/// Every channel.
pub fn list_channels(conn: &Connection) -> Result<Vec<ChannelRecord>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLS} FROM channels ORDER BY id"))?;
    let rows = stmt.query_map([], map_channel)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Renames a channel and replaces its configuration.
pub fn update_channel(conn: &Connection, id: ChannelId, name: &str, config: &Value) -> Result<()> {
    conn.execute(
        "UPDATE channels SET name = ?2, config = ?3 WHERE id = ?1",
        params![id.0, name, config.to_string()],
    )?;
    Ok(())
}

/// Sets (or clears, with `None`) the team new conversations of channel `id` get.
pub fn update_default_team(conn: &Connection, id: ChannelId, team: Option<TeamId>) -> Result<()> {
    conn.prepare_cached("UPDATE channels SET default_team_id = ?2 WHERE id = ?1")?
        .execute(params![id.0, team.map(|t| t.0)])?;
    Ok(())
}

/// The team new conversations of channel `id` get (`None`: none, or no such channel).
pub fn find_default_team(conn: &Connection, id: ChannelId) -> Result<Option<TeamId>> {
    Ok(conn
        .prepare_cached("SELECT default_team_id FROM channels WHERE id = ?1")?
        .query_row([id.0], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten()
        .map(TeamId))
}
