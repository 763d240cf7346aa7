//! Staff accounts and team memberships.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::Result;
use crate::domain::policy::Actor;
use crate::domain::{Role, TeamId, UserId, UserStatus};

pub use crate::domain::events::Named;

/// A staff member as the API shows them.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Login email.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Availability.
    pub status: UserStatus,
    /// Teams.
    pub teams: Vec<Named>,
    /// Most open conversations routing gives them (null = no limit).
    pub capacity: Option<i64>,
    /// Disabled users cannot log in.
    pub disabled: bool,
}

impl User {
    /// The policy's view of this user.
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id,
            role: self.role,
            teams: self.teams.iter().map(|t| TeamId(t.id)).collect(),
        }
    }
}

/// Fields of a new user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
}

const USER_COLS: &str = "id, name, email, role, status, capacity, disabled";

fn map_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(3)?;
    let status: String = r.get(4)?;
    Ok(User {
        id: UserId(r.get(0)?),
        name: r.get(1)?,
        email: r.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Agent),
        status: UserStatus::parse(&status).unwrap_or(UserStatus::Offline),
        teams: Vec::new(),
        capacity: r.get(5)?,
        disabled: r.get::<_, i64>(6)? != 0,
    })
}

fn with_teams(conn: &Connection, mut user: User) -> Result<User> {
    user.teams = list_user_teams(conn, user.id)?;
    Ok(user)
}

/// Teams of one user.
pub fn list_user_teams(conn: &Connection, user: UserId) -> Result<Vec<Named>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.id, t.name FROM memberships m JOIN teams t ON t.id = m.team_id
         WHERE m.user_id = ?1 ORDER BY t.name",
    )?;
    let rows = stmt.query_map([user.0], |r| {
        Ok(Named {
            id: r.get(0)?,
            name: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A user's name (`None`: no such user), without their teams: what an event names them by.
pub fn find_user_name(conn: &Connection, id: UserId) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT name FROM users WHERE id = ?1")?
        .query_row([id.0], |r| r.get(0))
        .optional()?)
}

/// One user by id.
pub fn find_user(conn: &Connection, id: UserId) -> Result<Option<User>> {
    let user = conn
        .prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1"))?
        .query_row([id.0], map_user)
        .optional()?;
    user.map(|u| with_teams(conn, u)).transpose()
}

/// One user by email (any case), with their password hash.
pub fn find_user_by_email(conn: &Connection, email: &str) -> Result<Option<(User, String)>> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {USER_COLS}, password_hash FROM users WHERE email = ?1 COLLATE NOCASE"
        ))?
        .query_row([email], |r| Ok((map_user(r)?, r.get::<_, String>(7)?)))
        .optional()?;
    row.map(|(u, h)| Ok((with_teams(conn, u)?, h))).transpose()
}

/// Every user, by name.
pub fn list_users(conn: &Connection) -> Result<Vec<User>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {USER_COLS} FROM users ORDER BY name, id"))?;
    let users = stmt
        .query_map([], map_user)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    users.into_iter().map(|u| with_teams(conn, u)).collect()
}

/// Number of users.
pub fn count_users(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
}

/// Number of enabled owners.
pub fn count_active_owners(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM users WHERE role = 'owner' AND disabled = 0",
        [],
        |r| r.get(0),
    )?)
}

/// Whether the email is taken (any ASCII case, as login compares).
pub fn email_exists(conn: &Connection, email: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM users WHERE email = ?1 COLLATE NOCASE",
            [email],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Inserts a user.
pub fn insert_user(conn: &Connection, u: &NewUser, now: i64) -> Result<UserId> {
    conn.prepare_cached(
        "INSERT INTO users (email, name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![u.email, u.name, u.role.as_str(), u.password_hash, now])?;
    Ok(UserId(conn.last_insert_rowid()))
}

/// Replaces a user's teams.
pub fn set_user_teams(conn: &Connection, user: UserId, teams: &[TeamId]) -> Result<()> {
    conn.execute("DELETE FROM memberships WHERE user_id = ?1", [user.0])?;
    let mut stmt = conn
        .prepare_cached("INSERT OR IGNORE INTO memberships (user_id, team_id) VALUES (?1, ?2)")?;
    for t in teams {
        stmt.execute([user.0, t.0])?;
    }
    Ok(())
}

/// Sets a user's role.
pub fn update_user_role(conn: &Connection, user: UserId, role: Role) -> Result<()> {
    conn.execute(
        "UPDATE users SET role = ?2 WHERE id = ?1",
        params![user.0, role.as_str()],
    )?;
    Ok(())
}

/// Enables or disables a user.
pub fn update_user_disabled(conn: &Connection, user: UserId, disabled: bool) -> Result<()> {
    conn.execute(
        "UPDATE users SET disabled = ?2 WHERE id = ?1",
        params![user.0, disabled],
    )?;
    Ok(())
}

/// Sets a user's capacity.
pub fn update_user_capacity(conn: &Connection, user: UserId, capacity: Option<i64>) -> Result<()> {
    conn.execute(
        "UPDATE users SET capacity = ?2 WHERE id = ?1",
        params![user.0, capacity],
    )?;
    Ok(())
}

/// Sets a user's name.
pub fn update_user_name(conn: &Connection, user: UserId, name: &str) -> Result<()> {
    conn.execute(
        "UPDATE users SET name = ?2 WHERE id = ?1",
        params![user.0, name],
    )?;
    Ok(())
}

/// Sets a user's password hash.
pub fn update_user_password(conn: &Connection, user: UserId, hash: &str) -> Result<()> {
    conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![user.0, hash],
    )?;
    Ok(())
}

/// Sets a user's availability.
pub fn update_user_status(conn: &Connection, user: UserId, status: UserStatus) -> Result<()> {
    conn.execute(
        "UPDATE users SET status = ?2 WHERE id = ?1",
        params![user.0, status.as_str()],
    )?;
    Ok(())
}

/// Marks a user offline by the server, remembering the status they had.
pub fn update_user_away(conn: &Connection, user: UserId, before: UserStatus) -> Result<()> {
    conn.execute(
        "UPDATE users SET status = 'offline', status_before_away = ?2 WHERE id = ?1",
        params![user.0, before.as_str()],
    )?;
    Ok(())
}

/// The status a user had before the server marked them offline, if it did.
pub fn find_status_before_away(conn: &Connection, user: UserId) -> Result<Option<UserStatus>> {
    let s: Option<String> = conn
        .query_row(
            "SELECT status_before_away FROM users WHERE id = ?1",
            [user.0],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(s.as_deref().and_then(UserStatus::parse))
}

/// Forgets the remembered status (the person set one themselves, or it was restored).
pub fn clear_status_before_away(conn: &Connection, user: UserId) -> Result<()> {
    conn.execute(
        "UPDATE users SET status_before_away = NULL WHERE id = ?1",
        [user.0],
    )?;
    Ok(())
}
