//! What routing reads on every new cycle but people change rarely — the rules, the settings and
//! the business calendar built from them — parsed once and kept in memory while the database's
//! config version is the same (`store::settings::find_config_version`: a random token that every
//! write of a setting or a rule replaces, in the same transaction), so routing a new cycle costs
//! one primary-key read for them instead of reading and parsing JSON (issue #10: routing must
//! cost ingest under 10 %).

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;

use super::Result;
use crate::domain::calendar::BusinessCalendar;
use crate::domain::routing::Rule;
use crate::domain::settings::Settings;
use crate::store::routing as rules_store;
use crate::store::settings;

/// Versions kept at once: one per open database is enough (a process serves one; tests and the
/// benchmark open several), and older ones are never asked for again.
const KEEP: usize = 8;

/// The inputs of routing as of one config version.
#[derive(Debug)]
pub struct RoutingInputs {
    /// Every rule in the order they are tried (position, then id).
    pub rules: Vec<Rule>,
    /// The workspace settings.
    pub settings: Settings,
    /// The business calendar of `settings`; a zone this build does not know counts as always
    /// open in UTC rather than stopping routing (as for SLA clocks).
    pub calendar: BusinessCalendar,
    /// Whether some rule looks at the contact's tags (else they are not read).
    pub reads_contact_tags: bool,
    /// Whether some rule looks at business hours (else the calendar is not asked).
    pub reads_hours: bool,
}

impl RoutingInputs {
    fn load(conn: &Connection) -> Result<RoutingInputs> {
        let settings = settings::load_settings(conn)?;
        let rules = rules_store::list_rules(conn)?;
        let calendar = BusinessCalendar::new(
            &settings.timezone,
            &settings.business_hours,
            &settings.holidays,
        )
        .unwrap_or_else(|_| BusinessCalendar::always_open(jiff::tz::TimeZone::UTC));
        Ok(RoutingInputs {
            reads_contact_tags: rules.iter().any(|r| r.conditions.contact_tag.is_some()),
            reads_hours: rules.iter().any(|r| r.conditions.business_hours.is_some()),
            rules,
            settings,
            calendar,
        })
    }
}

/// (config version, inputs), newest last.
static CACHE: Mutex<Vec<(String, Arc<RoutingInputs>)>> = Mutex::new(Vec::new());

/// The routing inputs as the caller's transaction sees them: one primary-key read of the config
/// version, and the rules and settings themselves only when that version is new to this
/// process. A database that has no version yet (nothing written since this build) gets one
/// here, so call it inside a write transaction, as routing always runs.
///
/// # Errors
/// Storage errors only.
pub fn current(conn: &Connection) -> Result<Arc<RoutingInputs>> {
    let version = match settings::find_config_version(conn)? {
        Some(v) => v,
        None => {
            settings::update_config_version(conn)?;
            match settings::find_config_version(conn)? {
                Some(v) => v,
                None => return Ok(Arc::new(RoutingInputs::load(conn)?)),
            }
        }
    };
    // A panic elsewhere while holding the lock leaves whole entries behind: still usable.
    let found = CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(v, _)| *v == version)
        .map(|(_, i)| i.clone());
    if let Some(inputs) = found {
        return Ok(inputs);
    }
    let inputs = Arc::new(RoutingInputs::load(conn)?);
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= KEEP {
        cache.remove(0);
    }
    cache.push((version, inputs.clone()));
    Ok(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::{Actions, Conditions};

    #[test]
    fn inputs_are_read_once_per_config_version() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = crate::store::open_bare(&dir.path().join("t.db")).expect("database");
        let first = current(&conn).expect("inputs");
        assert!(first.rules.is_empty() && !first.settings.sticky_owner);
        assert!(
            Arc::ptr_eq(&first, &current(&conn).expect("inputs")),
            "kept"
        );

        let mut changed = serde_json::Map::new();
        changed.insert("sticky_owner".into(), true.into());
        settings::save_settings(&conn, &changed).expect("saved");
        let second = current(&conn).expect("inputs");
        assert!(
            second.settings.sticky_owner,
            "a setting written is read again"
        );
        assert!(Arc::ptr_eq(&second, &current(&conn).expect("inputs")));

        let rule = Rule {
            id: 0,
            position: 1,
            conditions: Conditions {
                contact_tag: Some("vip".into()),
                ..Conditions::default()
            },
            actions: Actions {
                tags: Some(vec!["vip".into()]),
                ..Actions::default()
            },
        };
        let id = rules_store::insert_rule(&conn, &rule, 1).expect("inserted");
        let third = current(&conn).expect("inputs");
        assert_eq!(third.rules.len(), 1, "a rule written is read again");
        assert!(third.reads_contact_tags && !third.reads_hours);
        rules_store::delete_rule(&conn, id).expect("deleted");
        assert!(current(&conn).expect("inputs").rules.is_empty());
    }
}
