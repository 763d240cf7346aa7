//! Teams and their members.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::Result;
use super::users::Named;
use crate::domain::{Assignment, TeamId, UserId};

/// A team as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Team {
    /// Id.
    pub id: TeamId,
    /// Name.
    pub name: String,
    /// Routing mode.
    pub assignment: Assignment,
    /// Members.
    pub members: Vec<Named>,
}

fn members(conn: &Connection, team: TeamId) -> Result<Vec<Named>> {
    let mut stmt = conn.prepare_cached(
        "SELECT u.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.team_id = ?1 ORDER BY u.name, u.id",
    )?;
    let rows = stmt.query_map([team.0], |r| {
        Ok(Named {
            id: r.get(0)?,
            name: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn map_team(r: &rusqlite::Row<'_>) -> rusqlite::Result<Team> {
    let a: String = r.get(2)?;
    Ok(Team {
        id: TeamId(r.get(0)?),
        name: r.get(1)?,
        assignment: Assignment::parse(&a).unwrap_or(Assignment::Manual),
        members: Vec::new(),
    })
}

/// Every team, by name.
pub fn list_teams(conn: &Connection) -> Result<Vec<Team>> {
    let mut stmt = conn.prepare_cached("SELECT id, name, assignment FROM teams ORDER BY name")?;
    let teams = stmt
        .query_map([], map_team)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    teams
        .into_iter()
        .map(|mut t| {
            t.members = members(conn, t.id)?;
            Ok(t)
        })
        .collect()
}

/// One team.
pub fn find_team(conn: &Connection, id: TeamId) -> Result<Option<Team>> {
    let team = conn
        .prepare_cached("SELECT id, name, assignment FROM teams WHERE id = ?1")?
        .query_row([id.0], map_team)
        .optional()?;
    team.map(|mut t| {
        t.members = members(conn, t.id)?;
        Ok(t)
    })
    .transpose()
}

/// A team's name and routing mode, without its members (what an event or a routing decision
/// needs: one primary-key read).
pub fn find_team_head(conn: &Connection, id: TeamId) -> Result<Option<(String, Assignment)>> {
    Ok(conn
        .prepare_cached("SELECT name, assignment FROM teams WHERE id = ?1")?
        .query_row([id.0], |r| {
            let a: String = r.get(1)?;
            Ok((
                r.get(0)?,
                Assignment::parse(&a).unwrap_or(Assignment::Manual),
            ))
        })
        .optional()?)
}

/// A team's id by name (any case).
pub fn find_team_by_name(conn: &Connection, name: &str) -> Result<Option<TeamId>> {
    Ok(conn
        .query_row("SELECT id FROM teams WHERE name = ?1", [name], |r| r.get(0))
        .optional()?
        .map(TeamId))
}

/// Inserts a team.
pub fn insert_team(conn: &Connection, name: &str, now: i64) -> Result<TeamId> {
    conn.execute(
        "INSERT INTO teams (name, created_at) VALUES (?1, ?2)",
        params![name, now],
    )?;
    Ok(TeamId(conn.last_insert_rowid()))
}

/// Renames a team.
pub fn update_team_name(conn: &Connection, id: TeamId, name: &str) -> Result<()> {
    conn.execute(
        "UPDATE teams SET name = ?2 WHERE id = ?1",
        params![id.0, name],
    )?;
    Ok(())
}

/// Sets a team's routing mode.
pub fn update_team_assignment(conn: &Connection, id: TeamId, a: Assignment) -> Result<()> {
    conn.execute(
        "UPDATE teams SET assignment = ?2 WHERE id = ?1",
        params![id.0, a.as_str()],
    )?;
    Ok(())
}

/// Replaces a team's members.
pub fn set_team_members(conn: &Connection, id: TeamId, users: &[UserId]) -> Result<()> {
    conn.execute("DELETE FROM memberships WHERE team_id = ?1", [id.0])?;
    let mut stmt = conn
        .prepare_cached("INSERT OR IGNORE INTO memberships (user_id, team_id) VALUES (?1, ?2)")?;
    for u in users {
        stmt.execute([u.0, id.0])?;
    }
    Ok(())
}
