//! Channels: creating them with their configuration, and showing them without secrets.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Error, Result, clean_text, invalid};
use crate::domain::time::Ts;
use crate::domain::time::now_ms;
use crate::domain::{ChannelId, ChannelKind, TeamId};
use crate::store::channels::{self, ChannelRecord};

/// Default Graph API base for WhatsApp channels.
pub const DEFAULT_GRAPH_API_BASE: &str = "https://graph.facebook.com/v23.0";
const WHATSAPP_SECRETS: &[&str] = &["access_token", "app_secret", "verify_token"];
const WHATSAPP_KEYS: &[&str] = &["phone_number_id", "waba_id", "graph_api_base"];

/// A channel as the API shows it: secrets replaced by whether they are set.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelView {
    /// Id.
    pub id: ChannelId,
    /// Kind.
    pub kind: ChannelKind,
    /// Name.
    pub name: String,
    /// Configuration without secrets.
    pub config: Value,
    /// Creation time.
    pub created_at: Ts,
    /// The team new conversations of this channel get when no routing rule sets one
    /// (`null`: none; they land in the general pool).
    pub default_team_id: Option<TeamId>,
    /// The secret, only in the answer to creating an API channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Shows a channel without its secrets.
pub fn redact(c: &ChannelRecord) -> ChannelView {
    let mut config = Map::new();
    if let Value::Object(m) = &c.config {
        for (k, v) in m {
            if WHATSAPP_SECRETS.contains(&k.as_str()) {
                config.insert(
                    format!("{k}_set"),
                    Value::Bool(v.as_str().is_some_and(|s| !s.is_empty())),
                );
            } else {
                config.insert(k.clone(), v.clone());
            }
        }
    }
    if c.kind == ChannelKind::Api {
        config.insert("secret_set".into(), Value::Bool(c.secret.is_some()));
    }
    ChannelView {
        id: c.id,
        kind: c.kind,
        name: c.name.clone(),
        config: Value::Object(config),
        created_at: Ts(c.created_at),
        default_team_id: c.default_team,
        secret: None,
    }
}

fn valid_url(s: &str) -> bool {
    (s.starts_with("http://") || s.starts_with("https://"))
        && s.len() <= 2048
        && s.split("://")
            .nth(1)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn config_str<'a>(config: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(
            "invalid_config",
            format!("config.{key} must be a string"),
        )),
    }
}

/// Creates a channel. An API channel gets a fresh secret, returned here only.
pub fn create(
    conn: &Connection,
    kind: ChannelKind,
    name: &str,
    config: &Value,
) -> Result<ChannelView> {
    let name = clean_text("name", name, 100)?;
    let empty = Map::new();
    let config = match config {
        Value::Object(m) => m,
        Value::Null => &empty,
        _ => return Err(invalid("invalid_config", "config must be an object")),
    };
    let stored = validated_config(kind, config)?;
    let secret = (kind == ChannelKind::Api).then(super::auth::new_secret);
    let id = channels::insert_channel(conn, kind, &name, &stored, secret.as_deref(), now_ms())?;
    let record = channels::find_channel(conn, id)?.ok_or(Error::NotFound("channel"))?;
    let mut view = redact(&record);
    view.secret = secret;
    Ok(view)
}

/// The configuration to store for a channel of `kind`, checked: required keys present, URLs
/// well-formed, unknown keys dropped.
fn validated_config(kind: ChannelKind, config: &Map<String, Value>) -> Result<Value> {
    Ok(match kind {
        ChannelKind::Api => {
            let url = config_str(config, "callback_url")?
                .ok_or_else(|| invalid("invalid_config", "config.callback_url is required"))?;
            if !valid_url(url) {
                return Err(invalid(
                    "invalid_config",
                    "config.callback_url must be an http(s) URL",
                ));
            }
            json!({"callback_url": url})
        }
        ChannelKind::Whatsapp => {
            let mut stored = Map::new();
            for key in WHATSAPP_KEYS.iter().chain(WHATSAPP_SECRETS) {
                if let Some(v) = config_str(config, key)? {
                    stored.insert((*key).into(), Value::String(v.trim().into()));
                }
            }
            for key in [
                "phone_number_id",
                "waba_id",
                "access_token",
                "app_secret",
                "verify_token",
            ] {
                if stored
                    .get(key)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    return Err(invalid(
                        "invalid_config",
                        format!("config.{key} is required"),
                    ));
                }
            }
            let base = stored
                .get("graph_api_base")
                .and_then(Value::as_str)
                .unwrap_or(DEFAULT_GRAPH_API_BASE)
                .trim_end_matches('/')
                .to_string();
            if !valid_url(&base) {
                return Err(invalid(
                    "invalid_config",
                    "config.graph_api_base must be an http(s) URL",
                ));
            }
            stored.insert("graph_api_base".into(), Value::String(base));
            Value::Object(stored)
        }
    })
}

/// Renames a channel or changes its configuration (say, a new access token after Meta's 190).
/// Keys given replace the stored ones; keys left out or empty keep theirs.
pub fn update(
    conn: &Connection,
    id: ChannelId,
    name: Option<&str>,
    config: &Value,
) -> Result<ChannelView> {
    let record = channels::find_channel(conn, id)?.ok_or(Error::NotFound("channel"))?;
    let mut merged = record.config.as_object().cloned().unwrap_or_default();
    match config {
        Value::Object(given) => {
            for (k, v) in given {
                if v.as_str().is_some_and(|s| !s.trim().is_empty()) {
                    merged.insert(k.clone(), v.clone());
                } else if !v.is_null() && !v.is_string() {
                    return Err(invalid(
                        "invalid_config",
                        format!("config.{k} must be a string"),
                    ));
                }
            }
        }
        Value::Null => {}
        _ => return Err(invalid("invalid_config", "config must be an object")),
    }
    let stored = validated_config(record.kind, &merged)?;
    let name = match name {
        Some(n) => clean_text("name", n, 100)?,
        None => record.name.clone(),
    };
    channels::update_channel(conn, id, &name, &stored)?;
    let record = channels::find_channel(conn, id)?.ok_or(Error::NotFound("channel"))?;
    Ok(redact(&record))
}

/// Sets the team new conversations of channel `id` get when no routing rule sets one (`None`:
/// none). 404 for an unknown channel, 422 `unknown_team` for an unknown team.
pub fn set_default_team(conn: &Connection, id: ChannelId, team: Option<TeamId>) -> Result<()> {
    channels::find_channel(conn, id)?.ok_or(Error::NotFound("channel"))?;
    if let Some(t) = team
        && crate::store::teams::find_team(conn, t)?.is_none()
    {
        return Err(invalid("unknown_team", format!("there is no team {t}")));
    }
    channels::update_default_team(conn, id, team)?;
    Ok(())
}

/// The message templates of WhatsApp channel `id`'s business account, read from the Graph API
/// (what an agent may send once the 24-hour window is closed). 404 unless it is a WhatsApp
/// channel; 422 when its configuration is incomplete; 503 (`unavailable`) when WhatsApp does not
/// answer or refuses (a fault upstream, not the caller's).
pub async fn list_templates(
    store: &crate::store::Store,
    id: ChannelId,
) -> Result<Vec<crate::channels::whatsapp::templates::TemplateInfo>> {
    let channel = store
        .read(move |c| channels::find_channel(c, id))
        .await?
        .filter(|c| c.kind == ChannelKind::Whatsapp)
        .ok_or(Error::NotFound("WhatsApp channel"))?;
    let cfg =
        crate::channels::whatsapp::WaConfig::from_config(&channel.config).ok_or_else(|| {
            invalid(
                "invalid_config",
                "the channel's configuration is incomplete",
            )
        })?;
    let client = crate::channels::whatsapp::client(15_000)
        .map_err(|e| Error::Internal(format!("no HTTP client for the Graph API: {e}")))?;
    crate::channels::whatsapp::templates::list_templates(&client, &cfg)
        .await
        .map_err(|e| Error::Unavailable(format!("WhatsApp did not list the templates: {e}")))
}
