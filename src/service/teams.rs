//! Teams: creating and changing them, with unique names and known members.

use rusqlite::Connection;

use super::{Error, Result, clean_text, invalid};
use crate::domain::time::now_ms;
use crate::domain::{Assignment, TeamId, UserId};
use crate::store::teams::{self, Team};
use crate::store::users;

/// A change to a team; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TeamChange {
    /// New name.
    pub name: Option<String>,
    /// New routing mode.
    pub assignment: Option<Assignment>,
    /// New members (replacing the old ones).
    pub members: Option<Vec<UserId>>,
}

fn clean_name(conn: &Connection, name: &str, except: Option<TeamId>) -> Result<String> {
    let name = clean_text("name", name, 60)?;
    match teams::find_team_by_name(conn, &name)? {
        Some(t) if Some(t) != except => Err(Error::Conflict {
            code: "name_taken",
            message: format!("a team named {name} exists already"),
            data: None,
        }),
        _ => Ok(name),
    }
}

fn apply(conn: &Connection, id: TeamId, change: TeamChange) -> Result<Team> {
    if let Some(a) = change.assignment {
        teams::update_team_assignment(conn, id, a)?;
    }
    if let Some(members) = &change.members {
        for m in members {
            if users::find_user(conn, *m)?.is_none() {
                return Err(invalid("unknown_user", format!("there is no user {m}")));
            }
        }
        teams::set_team_members(conn, id, members)?;
    }
    if change.assignment.is_some() || change.members.is_some() {
        // A team that now routes, or has new members, hands out what waits in its pool.
        super::routing::offer_team(conn, id, None, now_ms())?;
    }
    teams::find_team(conn, id)?.ok_or(Error::NotFound("team"))
}

/// Creates a team (the name is required).
pub fn create_team(conn: &Connection, mut change: TeamChange) -> Result<Team> {
    let name = clean_name(conn, change.name.take().as_deref().unwrap_or(""), None)?;
    let id = teams::insert_team(conn, &name, now_ms())?;
    apply(conn, id, change)
}

/// The team named `name` (compared as stored, after trimming), created with the same rules as
/// [`create_team`] when there is none. For `teaminbox user add --team`.
pub fn find_or_create(conn: &Connection, name: &str) -> Result<TeamId> {
    let name = clean_text("team", name, 60)?;
    match teams::find_team_by_name(conn, &name)? {
        Some(id) => Ok(id),
        None => Ok(create_team(
            conn,
            TeamChange {
                name: Some(name),
                ..TeamChange::default()
            },
        )?
        .id),
    }
}

/// Changes a team.
pub fn update_team(conn: &Connection, id: TeamId, mut change: TeamChange) -> Result<Team> {
    teams::find_team(conn, id)?.ok_or(Error::NotFound("team"))?;
    if let Some(n) = change.name.take() {
        let name = clean_name(conn, &n, Some(id))?;
        teams::update_team_name(conn, id, &name)?;
    }
    apply(conn, id, change)
}
