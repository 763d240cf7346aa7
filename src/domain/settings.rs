//! Workspace settings: the keys, their defaults, their validation and who may change them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Role, Visibility, calendar};

/// The workspace settings, as the API shows them (a flat object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// What agents may see.
    pub agent_visibility: Visibility,
    /// The shop's IANA time zone, for display and business hours.
    pub timezone: String,
    /// Weekday (`mon`…`sun`) → list of `["HH:MM","HH:MM"]` intervals.
    pub business_hours: BTreeMap<String, Vec<[String; 2]>>,
    /// Dates (`YYYY-MM-DD`) outside business hours.
    pub holidays: Vec<String>,
    /// Alert when a conversation sits unassigned this long.
    pub unassigned_alert_secs: Option<i64>,
    /// Agents must take the oldest conversation once it waited this long (null = off).
    pub oldest_first_after_secs: Option<i64>,
    /// Take a conversation back to the pool after its owner ignored it this long (null = off).
    pub take_back_secs: Option<i64>,
    /// Mark a user offline after this long with no open event stream.
    pub auto_offline_secs: Option<i64>,
    /// Route a returning customer to their previous owner.
    pub sticky_owner: bool,
    /// Set `pending` automatically when staff reply.
    pub auto_pending_on_reply: bool,
    /// Period of the background scheduler.
    pub scheduler_tick_ms: i64,
    /// Resolve a pending conversation after the customer stayed quiet this long (null = off).
    pub auto_resolve_pending_secs: Option<i64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            agent_visibility: Visibility::OwnAndPool,
            timezone: "UTC".into(),
            business_hours: BTreeMap::new(),
            holidays: Vec::new(),
            unassigned_alert_secs: Some(300),
            oldest_first_after_secs: None,
            take_back_secs: None,
            auto_offline_secs: Some(900),
            sticky_owner: false,
            auto_pending_on_reply: true,
            scheduler_tick_ms: 1000,
            auto_resolve_pending_secs: None,
        }
    }
}

/// Keys a manager may change (routing and SLA); the owner may change all.
const MANAGER_KEYS: &[&str] = &[
    "business_hours",
    "holidays",
    "unassigned_alert_secs",
    "oldest_first_after_secs",
    "take_back_secs",
    "auto_offline_secs",
    "sticky_owner",
    "auto_resolve_pending_secs",
];

/// Why a settings change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// Not an object.
    #[error("settings must be a JSON object")]
    NotObject,
    /// A key that does not exist.
    #[error("unknown setting \"{0}\"")]
    UnknownKey(String),
    /// A value of the wrong type or out of range.
    #[error("invalid value for \"{key}\": {reason}")]
    Invalid {
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The role may not change this key.
    #[error("your role may not change \"{0}\"")]
    Forbidden(String),
}

impl Settings {
    /// All keys.
    pub fn keys() -> Vec<String> {
        match serde_json::to_value(Settings::default()) {
            Ok(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Applies a partial update by `role`, validating every key; nothing changes on error.
    /// Returns the changed keys with their new JSON values.
    pub fn patch(
        &self,
        role: Role,
        patch: &Value,
    ) -> Result<(Settings, Map<String, Value>), SettingsError> {
        let Value::Object(patch) = patch else {
            return Err(SettingsError::NotObject);
        };
        let Value::Object(mut current) =
            serde_json::to_value(self).map_err(|_| SettingsError::NotObject)?
        else {
            return Err(SettingsError::NotObject);
        };
        for (key, value) in patch {
            if !current.contains_key(key) {
                return Err(SettingsError::UnknownKey(key.clone()));
            }
            if role != Role::Owner
                && !(role == Role::Manager && MANAGER_KEYS.contains(&key.as_str()))
            {
                return Err(SettingsError::Forbidden(key.clone()));
            }
            validate(key, value)?;
            current.insert(key.clone(), value.clone());
        }
        let next: Settings =
            serde_json::from_value(Value::Object(current)).map_err(|e| SettingsError::Invalid {
                key: patch.keys().next().cloned().unwrap_or_default(),
                reason: e.to_string(),
            })?;
        Ok((next, patch.clone()))
    }
}

fn invalid(key: &str, reason: &str) -> SettingsError {
    SettingsError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

fn is_date(s: &str) -> bool {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).is_ok()
}

/// Checks `business_hours`: weekday (`mon`…`sun`) → list of `["HH:MM","HH:MM"]`, each opening
/// before it closes (`24:00` may close a day), the ranges of a day not overlapping (touching is
/// fine: 09:00–12:00 and 12:00–14:00). An empty list means closed that day.
fn validate_hours(v: &Value) -> Result<(), String> {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let Value::Object(days) = v else {
        return Err("expected an object of weekday to intervals".into());
    };
    for (day, intervals) in days {
        if !DAYS.contains(&day.as_str()) {
            return Err(format!(
                "weekdays are mon, tue, wed, thu, fri, sat, sun (got {day:?})"
            ));
        }
        let Some(list) = intervals.as_array() else {
            return Err(format!("{day}: expected a list of [\"HH:MM\",\"HH:MM\"]"));
        };
        let mut ranges: Vec<(u16, u16, &str, &str)> = Vec::with_capacity(list.len());
        for iv in list {
            let pair = iv
                .as_array()
                .filter(|p| p.len() == 2)
                .and_then(|p| Some((p[0].as_str()?, p[1].as_str()?)));
            let Some((a, b)) = pair else {
                return Err(format!("{day}: each range is [\"HH:MM\",\"HH:MM\"]"));
            };
            let (Some(open), Some(close)) = (calendar::parse_hhmm(a), calendar::parse_hhmm(b))
            else {
                return Err(format!(
                    "{day}: {a}–{b} is not two times HH:MM between 00:00 and 24:00"
                ));
            };
            if close <= open {
                return Err(format!(
                    "{day}: {a}–{b} closes before it opens (for a night past midnight, end the day at 24:00 and open the next at 00:00)"
                ));
            }
            ranges.push((open, close, a, b));
        }
        ranges.sort_unstable();
        for w in ranges.windows(2) {
            let ((_, close, a, b), (open, _, c, d)) = (w[0], w[1]);
            if open < close {
                return Err(format!("{day}: {c}–{d} overlaps {a}–{b}"));
            }
        }
    }
    Ok(())
}

fn validate(key: &str, v: &Value) -> Result<(), SettingsError> {
    let secs = |nullable: bool| match v {
        Value::Null if nullable => Ok(()),
        Value::Number(n) if n.as_i64().is_some_and(|n| n >= 0) => Ok(()),
        _ => Err(invalid(
            key,
            if nullable {
                "expected a whole number of seconds (0 or more) or null"
            } else {
                "expected a whole number (0 or more)"
            },
        )),
    };
    match key {
        "agent_visibility" => match v.as_str().and_then(Visibility::parse) {
            Some(_) => Ok(()),
            None => Err(invalid(
                key,
                "expected one of own, own_and_pool, all_read_only",
            )),
        },
        "timezone" => match v.as_str().map(calendar::zone) {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(invalid(key, &e.to_string())),
            None => Err(invalid(
                key,
                "expected a time zone name such as Europe/Lisbon",
            )),
        },
        "business_hours" => validate_hours(v).map_err(|reason| invalid(key, &reason)),
        "holidays" => match v.as_array() {
            Some(list) => match list.iter().find(|d| !d.as_str().is_some_and(is_date)) {
                None => Ok(()),
                Some(bad) => Err(invalid(
                    key,
                    &format!(
                        "{} is not a date YYYY-MM-DD (such as 2026-12-25)",
                        bad.as_str().map_or_else(|| bad.to_string(), String::from)
                    ),
                )),
            },
            None => Err(invalid(key, "expected a list of dates YYYY-MM-DD")),
        },
        "unassigned_alert_secs"
        | "oldest_first_after_secs"
        | "take_back_secs"
        | "auto_offline_secs" => secs(true),
        "auto_resolve_pending_secs" => match v {
            Value::Null => Ok(()),
            Value::Number(n) if n.as_i64().is_some_and(|n| n >= 1) => Ok(()),
            _ => Err(invalid(
                key,
                "expected a whole number of seconds (1 or more) or null (off)",
            )),
        },
        "scheduler_tick_ms" => match v.as_i64() {
            Some(n) if (10..=60_000).contains(&n) => Ok(()),
            _ => Err(invalid(key, "expected milliseconds between 10 and 60000")),
        },
        "sticky_owner" | "auto_pending_on_reply" => match v {
            Value::Bool(_) => Ok(()),
            _ => Err(invalid(key, "expected true or false")),
        },
        _ => secs(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults() {
        let s = Settings::default();
        assert_eq!(s.agent_visibility, Visibility::OwnAndPool);
        assert!(s.auto_pending_on_reply);
        assert!(Settings::keys().contains(&"timezone".to_string()));
    }

    #[test]
    fn patch_validates_and_respects_roles() {
        let s = Settings::default();
        let (n, changed) = s
            .patch(
                Role::Owner,
                &json!({"agent_visibility": "own", "take_back_secs": 60}),
            )
            .expect("valid");
        assert_eq!(n.agent_visibility, Visibility::Own);
        assert_eq!(n.take_back_secs, Some(60));
        assert_eq!(changed.len(), 2);
        assert!(matches!(
            s.patch(Role::Owner, &json!({"nope": 1})),
            Err(SettingsError::UnknownKey(_))
        ));
        assert!(matches!(
            s.patch(Role::Owner, &json!({"agent_visibility": "everything"})),
            Err(SettingsError::Invalid { .. })
        ));
        assert!(matches!(
            s.patch(Role::Owner, &json!({"auto_pending_on_reply": "yes"})),
            Err(SettingsError::Invalid { .. })
        ));
        assert!(matches!(
            s.patch(Role::Manager, &json!({"agent_visibility": "own"})),
            Err(SettingsError::Forbidden(_))
        ));
        assert!(
            s.patch(Role::Manager, &json!({"take_back_secs": null}))
                .is_ok()
        );
        assert!(matches!(
            s.patch(Role::Agent, &json!({"take_back_secs": 5})),
            Err(SettingsError::Forbidden(_))
        ));
        assert!(
            s.patch(
                Role::Owner,
                &json!({"business_hours": {"mon": [["09:00", "18:00"]]}})
            )
            .is_ok()
        );
        assert!(
            s.patch(
                Role::Owner,
                &json!({"business_hours": {"mon": [["18:00", "09:00"]]}})
            )
            .is_err()
        );
        assert!(
            s.patch(Role::Owner, &json!({"holidays": ["2026-12-25"]}))
                .is_ok()
        );
        assert!(
            s.patch(Role::Owner, &json!({"holidays": ["25/12"]}))
                .is_err()
        );
        assert!(s.patch(Role::Owner, &json!([1])).is_err());
    }
}
