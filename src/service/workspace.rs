//! Workspace administration shared by the settings pages: canned replies, tags and settings
//! changes, each checked against the role policy.

use rusqlite::Connection;
use serde_json::{Value, json};

use super::{Error, Result, clean_text, forbidden, invalid, require};
use crate::domain::Role;
use crate::domain::events::Event;
use crate::domain::policy::{Actor, Capability, allows};
use crate::domain::settings::{Settings, SettingsError};
use crate::domain::time::now_ms;
use crate::store::{canned, events, settings};

/// Adds a canned reply (owners and managers).
pub fn add_canned(conn: &Connection, actor: &Actor, shortcut: &str, body: &str) -> Result<i64> {
    require(actor.role, Capability::ManageTeams)?;
    let shortcut = clean_text("shortcut", shortcut.trim().trim_start_matches('/'), 30)?;
    if !shortcut
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(
            "invalid_shortcut",
            "a shortcut is one word: letters, digits, - and _",
        ));
    }
    let body = clean_text("text", body, 4096)?;
    if canned::shortcut_exists(conn, &shortcut)? {
        return Err(Error::Conflict {
            code: "shortcut_taken",
            message: format!("/{shortcut} exists already"),
            data: None,
        });
    }
    Ok(canned::insert_canned(conn, &shortcut, &body, now_ms())?)
}

/// Removes a canned reply (owners and managers).
pub fn remove_canned(conn: &Connection, actor: &Actor, id: i64) -> Result<()> {
    require(actor.role, Capability::ManageTeams)?;
    canned::delete_canned(conn, id)?
        .then_some(())
        .ok_or(Error::NotFound("canned reply"))
}

/// Deletes a tag everywhere (owners and managers).
pub fn remove_tag(conn: &Connection, actor: &Actor, id: i64) -> Result<()> {
    require(actor.role, Capability::ManageTeams)?;
    crate::store::tags::delete_tag(conn, id)?
        .then_some(())
        .ok_or(Error::NotFound("tag"))
}

/// Applies a settings change by `role` and records it; the whole new settings come back.
pub fn patch_settings(conn: &Connection, actor: &Actor, patch: &Value) -> Result<Settings> {
    if !allows(actor.role, Capability::ManageRoutingSettings) {
        return Err(forbidden("your role may not change settings"));
    }
    let current = settings::load_settings(conn)?;
    let (next, changed) = current.patch(actor.role, patch).map_err(|e| match e {
        SettingsError::Forbidden(_) => forbidden(e.to_string()),
        SettingsError::NotObject => super::bad_request("invalid_field", e.to_string()),
        SettingsError::UnknownKey(_) => invalid("unknown_setting", e.to_string()),
        SettingsError::Invalid { .. } => invalid("invalid_setting", e.to_string()),
    })?;
    settings::save_settings(conn, &changed)?;
    events::insert_event(
        conn,
        None,
        &Event::SettingsUpdated(changed),
        Some(actor.id),
        now_ms(),
    )?;
    Ok(next)
}

/// Whether `role` may see the settings pages at all.
pub fn may_open_settings(role: Role) -> bool {
    role != Role::Agent
}

/// The canned replies as JSON for the composer.
pub fn canned_json(conn: &Connection) -> Result<Value> {
    let list = canned::list_canned(conn)?;
    Ok(json!(
        list.into_iter()
            .map(|c| (c.shortcut, c.body))
            .collect::<std::collections::BTreeMap<_, _>>()
    ))
}
