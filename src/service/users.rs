//! Staff: creating, changing, disabling, availability.

use rusqlite::Connection;

use super::{Error, Result, clean_text, invalid};
use crate::domain::events::{Event, Named, UserStatusChanged, UserUpdated};
use crate::domain::policy::Actor;
use crate::domain::time::now_ms;
use crate::domain::{Role, TeamId, UserId, UserStatus};
use crate::store::users::{self, NewUser, User};
use crate::store::{events, teams, tokens};

/// The one form of an account's email that login looks up and throttles by: trimmed, ASCII
/// lowercase (the store compares emails without ASCII case), so `" Ana@Shop.example"` is the
/// same account, and the same lock, as `ana@shop.example`.
pub fn login_key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// Checks an email address well enough to catch typos.
pub fn clean_email(email: &str) -> Result<String> {
    let e = email.trim().to_string();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(e)
    } else {
        Err(invalid(
            "invalid_email",
            format!("\"{e}\" is not an email address"),
        ))
    }
}

fn check_teams(conn: &Connection, ids: &[TeamId]) -> Result<()> {
    for id in ids {
        if teams::find_team(conn, *id)?.is_none() {
            return Err(invalid("unknown_team", format!("there is no team {id}")));
        }
    }
    Ok(())
}

/// Creates a user (the password is already hashed) in the given teams.
pub fn create_user(conn: &Connection, mut new: NewUser, team_ids: &[TeamId]) -> Result<User> {
    new.email = clean_email(&new.email)?;
    new.name = clean_text("name", &new.name, 100)?;
    // The login form of the address: an account that differs only in case or surrounding
    // space is the same login, so it is taken.
    if users::email_exists(conn, &login_key(&new.email))? {
        return Err(Error::Conflict {
            code: "email_taken",
            message: format!("a user with the email {} exists already", new.email),
            data: None,
        });
    }
    check_teams(conn, team_ids)?;
    let id = users::insert_user(conn, &new, now_ms())?;
    users::set_user_teams(conn, id, team_ids)?;
    load(conn, id)
}

/// A user that must exist.
pub fn load(conn: &Connection, id: UserId) -> Result<User> {
    users::find_user(conn, id)?.ok_or(Error::NotFound("user"))
}

/// A change to a user; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct UserPatch {
    /// New name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// New teams.
    pub teams: Option<Vec<TeamId>>,
    /// New capacity (`Some(None)` clears it).
    pub capacity: Option<Option<i64>>,
    /// New password hash. Setting one signs the user out everywhere (every session and API
    /// token) except `keep_token`.
    pub password_hash: Option<String>,
    /// The caller's own token or session secret, kept alive when they change their own password
    /// (ignored when it belongs to someone else).
    pub keep_token: Option<String>,
}

/// Changes a user. Keeps at least one enabled owner; disabling revokes every token at once; a
/// new password revokes every token and session of that user but the caller's own
/// (`UserPatch::keep_token`), so a reset or a suspected leak ends every other sign-in.
pub fn patch_user(
    conn: &Connection,
    by: Option<&Actor>,
    id: UserId,
    patch: UserPatch,
) -> Result<User> {
    let before = load(conn, id)?;
    if let Some(teams) = &patch.teams {
        check_teams(conn, teams)?;
    }
    if let Some(Some(c)) = patch.capacity
        && !(0..=10_000).contains(&c)
    {
        return Err(invalid(
            "invalid_capacity",
            "capacity must be between 0 and 10000",
        ));
    }
    let loses_owner = before.role == Role::Owner
        && !before.disabled
        && (patch.role.is_some_and(|r| r != Role::Owner) || patch.disabled == Some(true));
    if loses_owner && users::count_active_owners(conn)? <= 1 {
        return Err(Error::Conflict {
            code: "last_owner",
            message: "this is the only owner; make someone else owner first".into(),
            data: None,
        });
    }
    if let Some(name) = &patch.name {
        users::update_user_name(conn, id, &clean_text("name", name, 100)?)?;
    }
    if let Some(role) = patch.role {
        users::update_user_role(conn, id, role)?;
    }
    if let Some(teams) = &patch.teams {
        users::set_user_teams(conn, id, teams)?;
    }
    if let Some(capacity) = patch.capacity {
        users::update_user_capacity(conn, id, capacity)?;
        // More room (or none left to wait for): offer their teams' pools.
        if before.status == crate::domain::UserStatus::Available && !before.disabled {
            super::routing::offer_to(conn, id, None, now_ms())?;
        }
    }
    if let Some(hash) = &patch.password_hash {
        users::update_user_password(conn, id, hash)?;
        let keep = patch.keep_token.as_deref().map(super::auth::hash_token);
        tokens::revoke_user_tokens_except(conn, id, keep.as_deref(), now_ms())?;
    }
    if let Some(disabled) = patch.disabled {
        users::update_user_disabled(conn, id, disabled)?;
        if disabled {
            tokens::revoke_user_tokens(conn, id, now_ms())?;
        }
    }
    let after = load(conn, id)?;
    events::insert_event(
        conn,
        None,
        &Event::UserUpdated(UserUpdated {
            user: Named {
                id: id.0,
                name: after.name.clone(),
            },
            role: after.role,
            disabled: after.disabled,
        }),
        by.map(|a| a.id),
        now_ms(),
    )?;
    Ok(after)
}

/// Sets a user's availability and records it.
pub fn set_status(conn: &Connection, id: UserId, status: UserStatus) -> Result<User> {
    users::clear_status_before_away(conn, id)?;
    change_status(conn, id, status, false)
}

fn change_status(conn: &Connection, id: UserId, status: UserStatus, auto: bool) -> Result<User> {
    let before = load(conn, id)?;
    if before.status != status {
        users::update_user_status(conn, id, status)?;
        events::insert_event(
            conn,
            None,
            &Event::UserStatus(UserStatusChanged {
                user: Named {
                    id: id.0,
                    name: before.name.clone(),
                },
                from: before.status,
                to: status,
                auto,
            }),
            (!auto).then_some(id),
            now_ms(),
        )?;
        // Re-offer: the waiting conversations of their teams go out by each team's mode.
        if super::routing::became_available(before.status, status) {
            super::routing::offer_to(conn, id, None, now_ms())?;
        }
    }
    load(conn, id)
}

/// The server marks a user offline who has had no open event stream for the workspace's
/// `auto_offline_secs`; the status they had is kept for their return. Returns whether it changed.
pub fn mark_away(conn: &Connection, id: UserId) -> Result<bool> {
    let user = load(conn, id)?;
    if user.disabled || user.status == UserStatus::Offline {
        return Ok(false);
    }
    change_status(conn, id, UserStatus::Offline, true)?;
    users::update_user_away(conn, id, user.status)?;
    Ok(true)
}

/// Opening an event stream restores the status the server took away, if it did.
pub fn mark_back(conn: &Connection, id: UserId) -> Result<bool> {
    let Some(before) = users::find_status_before_away(conn, id)? else {
        return Ok(false);
    };
    users::clear_status_before_away(conn, id)?;
    if load(conn, id)?.status != UserStatus::Offline {
        return Ok(false);
    }
    change_status(conn, id, before, true)?;
    Ok(true)
}
