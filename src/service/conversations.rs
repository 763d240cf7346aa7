//! Conversation operations: claim, assign (handoff, transfer, release), status, tags, notes,
//! replies and starting an outbound conversation. Each runs in the caller's write transaction
//! and appends its events there.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Error, Result, clean_text, invalid};
use crate::domain::conversation::{self as rules, StatusError};
use crate::domain::policy::{self, Action, Actor, Denied};
use crate::domain::settings::Settings;
use crate::domain::time::Ts;
use crate::domain::{
    ChannelId, ChannelKind, ConversationId, DeliveryStatus, Direction, Status, TeamId, UserId,
};
use crate::store::conversations::{self as convs, ConvState, Conversation, NewConversation};
use crate::store::messages::{self, NewMessage};
use crate::store::users::Named;
use crate::store::{channels, contacts, events, now_ms, outbox, settings, teams, users};

/// Longest message or note.
pub const MAX_TEXT: usize = 4096;

fn named_user(conn: &Connection, id: Option<UserId>) -> Result<Value> {
    Ok(match id {
        Some(id) => match users::find_user(conn, id)? {
            Some(u) => json!({"id": u.id, "name": u.name}),
            None => json!({"id": id, "name": ""}),
        },
        None => Value::Null,
    })
}

fn named_team(conn: &Connection, id: Option<TeamId>) -> Result<Value> {
    Ok(match id {
        Some(id) => match teams::find_team(conn, id)? {
            Some(t) => json!({"id": t.id, "name": t.name}),
            None => json!({"id": id, "name": ""}),
        },
        None => Value::Null,
    })
}

/// Turns a policy refusal into the error the caller sees.
fn denied(conn: &Connection, d: Denied) -> Error {
    let who = |id: Option<UserId>| -> (Value, String) {
        let v = named_user(conn, id).unwrap_or(Value::Null);
        let name = v["name"].as_str().unwrap_or("someone").to_string();
        (v, name)
    };
    match d {
        Denied::NotVisible => Error::NotFound("conversation"),
        Denied::Forbidden => {
            super::forbidden("your role does not allow this on a conversation you do not own")
        }
        Denied::NotOwner { owner: None } => Error::Conflict {
            code: "not_owner",
            message: "nobody owns this conversation yet: claim it before replying".into(),
            data: Some(json!({"assignee": null})),
        },
        Denied::NotOwner { owner } => {
            let (v, name) = who(owner);
            Error::Conflict {
                code: "not_owner",
                message: format!(
                    "{name} owns this conversation; only the owner can reply. Ask for a handoff."
                ),
                data: Some(json!({"assignee": v})),
            }
        }
        Denied::AlreadyAssigned { owner } => {
            let (v, name) = who(Some(owner));
            Error::Conflict {
                code: "already_assigned",
                message: format!("{name} already owns this conversation"),
                data: Some(json!({"assignee": v})),
            }
        }
    }
}

/// Loads a conversation and checks `action` for `actor`; 404 when it does not exist or is hidden.
pub fn authorize(
    conn: &Connection,
    actor: &Actor,
    action: Action,
    id: ConversationId,
) -> Result<(ConvState, Settings)> {
    let state = convs::find_conv_state(conn, id)?.ok_or(Error::NotFound("conversation"))?;
    let settings = settings::load_settings(conn)?;
    policy::check(actor, settings.agent_visibility, action, state.ownership())
        .map_err(|d| denied(conn, d))?;
    Ok((state, settings))
}

/// The conversation as the API shows it.
pub fn view(conn: &Connection, id: ConversationId) -> Result<Conversation> {
    convs::find_conversation(conn, id)?.ok_or(Error::NotFound("conversation"))
}

/// Takes an unassigned conversation. Atomic: of two concurrent claims exactly one wins, and the
/// other learns who did (409 `already_assigned`).
pub fn claim(conn: &Connection, actor: &Actor, id: ConversationId) -> Result<Conversation> {
    let (state, _) = authorize(conn, actor, Action::Claim, id)?;
    if state.assignee == Some(actor.id) {
        return view(conn, id);
    }
    let now = now_ms();
    if !convs::claim_if_unassigned(conn, id, actor.id, now)? {
        let owner = convs::find_conv_state(conn, id)?.and_then(|s| s.assignee);
        return Err(denied(
            conn,
            Denied::AlreadyAssigned {
                owner: owner.unwrap_or(actor.id),
            },
        ));
    }
    events::insert_event(
        conn,
        Some(id),
        "conversation.claimed",
        Some(actor.id),
        &json!({"from": null, "to": named_user(conn, Some(actor.id))?, "team": named_team(conn, state.team)?}),
        now,
    )?;
    view(conn, id)
}

/// A handoff: new assignee (or none: back to the pool), optionally a new team, optionally a note.
#[derive(Debug, Clone)]
pub struct AssignRequest {
    /// The new assignee; `None` releases to the pool.
    pub assignee: Option<UserId>,
    /// `None`: keep the team; `Some(None)`: no team; `Some(Some(t))`: team `t`.
    pub team: Option<Option<TeamId>>,
    /// A private note stored with the handoff.
    pub note: Option<String>,
}

/// Assigns, transfers or releases a conversation; the note and the event are stored together.
pub fn assign(
    conn: &Connection,
    actor: &Actor,
    id: ConversationId,
    req: AssignRequest,
) -> Result<Conversation> {
    let (state, _) = authorize(conn, actor, Action::Assign, id)?;
    if let Some(uid) = req.assignee {
        match users::find_user(conn, uid)? {
            Some(u) if !u.disabled => {}
            Some(_) => {
                return Err(invalid(
                    "invalid_assignee",
                    format!("user {uid} is disabled"),
                ));
            }
            None => {
                return Err(invalid(
                    "invalid_assignee",
                    format!("there is no user {uid}"),
                ));
            }
        }
    }
    if let Some(Some(t)) = req.team
        && teams::find_team(conn, t)?.is_none()
    {
        return Err(invalid("unknown_team", format!("there is no team {t}")));
    }
    let note = req
        .note
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .map(|n| clean_text("note", n, MAX_TEXT))
        .transpose()?;
    let team = req.team.unwrap_or(state.team);
    if req.assignee == state.assignee && team == state.team && note.is_none() {
        return view(conn, id);
    }
    let now = now_ms();
    let note_id = match &note {
        Some(text) => {
            let nid = messages::insert_note(conn, id, actor.id, text, now)?;
            events::insert_event(
                conn,
                Some(id),
                "note.created",
                Some(actor.id),
                &json!({"note_id": nid}),
                now,
            )?;
            Some(nid)
        }
        None => None,
    };
    convs::update_assignment(conn, id, req.assignee, team, now)?;
    events::insert_event(
        conn,
        Some(id),
        "conversation.assigned",
        Some(actor.id),
        &json!({
            "from": named_user(conn, state.assignee)?,
            "to": named_user(conn, req.assignee)?,
            "by": named_user(conn, Some(actor.id))?,
            "team": named_team(conn, team)?,
            "note_id": note_id,
        }),
        now,
    )?;
    view(conn, id)
}

/// Changes the status (`until` is the snooze end, ms).
pub fn set_status(
    conn: &Connection,
    actor: &Actor,
    id: ConversationId,
    to: Status,
    until: Option<i64>,
) -> Result<Conversation> {
    let (state, _) = authorize(conn, actor, Action::SetStatus, id)?;
    let now = now_ms();
    let change = rules::change_status(state.status, to, until, now).map_err(|e| match e {
        StatusError::SnoozeNeedsFuture => invalid("invalid_until", e.to_string()),
    })?;
    if state.status == to && to != Status::Snoozed {
        return view(conn, id);
    }
    convs::update_status(conn, id, change.to, change.snoozed_until, now)?;
    if let Some(cycle) = state.cycle_id {
        if change.resolved {
            convs::mark_resolved(conn, cycle, Some(now), Some(actor.id))?;
        } else if change.reopened {
            convs::mark_resolved(conn, cycle, None, None)?;
        }
    }
    events::insert_event(
        conn,
        Some(id),
        "conversation.status",
        Some(actor.id),
        &json!({"from": state.status, "to": change.to, "until": change.snoozed_until.map(Ts)}),
        now,
    )?;
    view(conn, id)
}

/// Adds and removes tags.
pub fn tag(
    conn: &Connection,
    actor: &Actor,
    id: ConversationId,
    add: &[String],
    remove: &[String],
) -> Result<Conversation> {
    authorize(conn, actor, Action::Tag, id)?;
    let clean = |list: &[String]| -> Result<Vec<String>> {
        list.iter().map(|t| clean_text("tag", t, 50)).collect()
    };
    let (add, remove) = (clean(add)?, clean(remove)?);
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for name in &add {
        let tag = convs::ensure_tag(conn, name)?;
        if convs::add_tag(conn, id, tag)? {
            added.push(name.clone());
        }
    }
    for name in &remove {
        if convs::remove_tag(conn, id, name)? {
            removed.push(name.clone());
        }
    }
    if !added.is_empty() || !removed.is_empty() {
        events::insert_event(
            conn,
            Some(id),
            "conversation.tagged",
            Some(actor.id),
            &json!({"added": added, "removed": removed}),
            now_ms(),
        )?;
    }
    view(conn, id)
}

/// A created note or message, as its timeline item.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    /// `message` or `note`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Id.
    pub id: i64,
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Time.
    pub at: Ts,
    /// Author.
    pub author: Option<Named>,
    /// Text.
    pub text: String,
    /// `out` for messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Delivery status for messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<DeliveryStatus>,
    /// Error for messages (none when just created).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// Template or media.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

/// Writes a private note.
pub fn add_note(
    conn: &Connection,
    actor: &Actor,
    id: ConversationId,
    text: &str,
) -> Result<Created> {
    authorize(conn, actor, Action::Note, id)?;
    let text = clean_text("text", text, MAX_TEXT)?;
    let now = now_ms();
    let nid = messages::insert_note(conn, id, actor.id, &text, now)?;
    events::insert_event(
        conn,
        Some(id),
        "note.created",
        Some(actor.id),
        &json!({"note_id": nid}),
        now,
    )?;
    Ok(Created {
        kind: "note",
        id: nid.0,
        conversation_id: id,
        at: Ts(now),
        author: author(conn, actor.id)?,
        text,
        direction: None,
        status: None,
        error: None,
        payload: None,
    })
}

fn author(conn: &Connection, id: UserId) -> Result<Option<Named>> {
    Ok(users::find_user(conn, id)?.map(|u| Named {
        id: u.id.0,
        name: u.name,
    }))
}

/// A template to send: name, language and positional parameters.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Template {
    /// Template name.
    pub name: String,
    /// Language code, such as `en_US`.
    pub language: String,
    /// Body parameters, in order.
    #[serde(default)]
    pub params: Vec<String>,
}

/// What a staff member sends.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// Free text.
    Text(String),
    /// An approved template.
    Template(Template),
}

impl Outgoing {
    fn validate(self) -> Result<Outgoing> {
        match self {
            Outgoing::Text(t) => Ok(Outgoing::Text(clean_text("text", &t, MAX_TEXT)?)),
            Outgoing::Template(t) => {
                let name = clean_text("template name", &t.name, 512)?;
                let language = clean_text("template language", &t.language, 15)?;
                if t.params.len() > 100 || t.params.iter().any(|p| p.chars().count() > 1024) {
                    return Err(invalid(
                        "invalid_template",
                        "too many or too long template parameters",
                    ));
                }
                Ok(Outgoing::Template(Template {
                    name,
                    language,
                    params: t.params,
                }))
            }
        }
    }

    fn parts(&self) -> (&'static str, String, Option<Value>) {
        match self {
            Outgoing::Text(t) => ("text", t.clone(), None),
            Outgoing::Template(t) => {
                let shown = if t.params.is_empty() {
                    format!("[template {}]", t.name)
                } else {
                    format!("[template {}: {}]", t.name, t.params.join(", "))
                };
                ("template", shown, Some(json!({"template": t})))
            }
        }
    }
}

/// Queues a customer-visible message from the assignee: message, outbox row, status and events
/// in one transaction.
pub fn reply(
    conn: &Connection,
    actor: &Actor,
    id: ConversationId,
    out: Outgoing,
) -> Result<Created> {
    let (state, settings) = authorize(conn, actor, Action::Reply, id)?;
    let out = out.validate()?;
    send(conn, actor, &state, &settings, out)
}

fn send(
    conn: &Connection,
    actor: &Actor,
    state: &ConvState,
    settings: &Settings,
    out: Outgoing,
) -> Result<Created> {
    let now = now_ms();
    if matches!(out, Outgoing::Text(_))
        && !rules::free_text_allowed(state.channel_kind, state.window_closes_at, now)
    {
        return Err(invalid(
            "window_closed",
            "the 24-hour window is closed: send a template",
        ));
    }
    let (kind, text, payload) = out.parts();
    let mid = messages::insert_message(
        conn,
        &NewMessage {
            conversation: state.id,
            channel: state.channel_id,
            direction: Direction::Out,
            kind,
            text: &text,
            payload: payload.as_ref(),
            author: Some(actor.id),
            status: DeliveryStatus::Queued,
            external_id: None,
            created_at: now,
        },
    )?;
    outbox::insert_outbox(conn, mid, state.channel_id, now)?;
    let status = rules::on_staff_reply(state.status, settings.auto_pending_on_reply);
    convs::record_outbound(conn, state.id, &preview(&text), status, now)?;
    if let Some(cycle) = state.cycle_id {
        convs::mark_first_response(conn, cycle, now, actor.id)?;
    }
    events::insert_event(
        conn,
        Some(state.id),
        "message.created",
        Some(actor.id),
        &json!({"message_id": mid, "direction": "out"}),
        now,
    )?;
    if status != state.status {
        events::insert_event(
            conn,
            Some(state.id),
            "conversation.status",
            Some(actor.id),
            &json!({"from": state.status, "to": status, "until": null}),
            now,
        )?;
    }
    Ok(Created {
        kind: "message",
        id: mid.0,
        conversation_id: state.id,
        at: Ts(now),
        author: author(conn, actor.id)?,
        text,
        direction: Some(Direction::Out),
        status: Some(DeliveryStatus::Queued),
        error: None,
        payload,
    })
}

/// The first line of a message, shortened for queue rows.
pub fn preview(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut p: String = line.chars().take(140).collect();
    if line.chars().count() > 140 {
        p.push('…');
    }
    p
}

/// Starts (or resumes) a conversation with a customer by phone: the starter becomes assignee
/// and the first message is queued.
pub fn start(
    conn: &Connection,
    actor: &Actor,
    channel: ChannelId,
    phone: &str,
    name: Option<&str>,
    out: Outgoing,
) -> Result<Conversation> {
    let channel = channels::find_channel(conn, channel)?
        .ok_or_else(|| invalid("unknown_channel", format!("there is no channel {channel}")))?;
    let phone = normalize_phone(phone)?;
    let out = out.validate()?;
    if channel.kind.has_service_window() && matches!(out, Outgoing::Text(_)) {
        return Err(invalid(
            "window_closed",
            "a conversation the business starts must open with a template",
        ));
    }
    let now = now_ms();
    let id_kind = identity_kind(channel.kind);
    let contact = match contacts::find_identity(conn, channel.id, id_kind, &phone)? {
        Some(c) => c,
        None => {
            let c = contacts::insert_contact(
                conn,
                name.map(str::trim)
                    .filter(|n| !n.is_empty())
                    .unwrap_or(&phone),
                Some(&phone),
                now,
            )?;
            contacts::insert_identity(conn, c, channel.id, id_kind, &phone)?;
            c
        }
    };
    let id = match convs::find_latest_for_contact(conn, contact, channel.id)? {
        Some(existing) => {
            let state =
                convs::find_conv_state(conn, existing)?.ok_or(Error::NotFound("conversation"))?;
            match state.assignee {
                Some(owner) if owner != actor.id && state.status != Status::Resolved => {
                    return Err(denied(conn, Denied::AlreadyAssigned { owner }));
                }
                Some(owner) if owner == actor.id => {}
                _ => {
                    convs::update_assignment(conn, existing, Some(actor.id), state.team, now)?;
                    events::insert_event(
                        conn,
                        Some(existing),
                        "conversation.assigned",
                        Some(actor.id),
                        &json!({"from": named_user(conn, state.assignee)?, "to": named_user(conn, Some(actor.id))?,
                                "by": named_user(conn, Some(actor.id))?, "team": named_team(conn, state.team)?, "note_id": null}),
                        now,
                    )?;
                }
            }
            existing
        }
        None => {
            let id = convs::insert_conversation(
                conn,
                &NewConversation {
                    channel: channel.id,
                    contact,
                    status: Status::Open,
                    assignee: Some(actor.id),
                    team: None,
                },
                now,
            )?;
            events::insert_event(
                conn,
                Some(id),
                "conversation.created",
                Some(actor.id),
                &json!({"outbound": true, "assignee": named_user(conn, Some(actor.id))?}),
                now,
            )?;
            id
        }
    };
    let state = convs::find_conv_state(conn, id)?.ok_or(Error::NotFound("conversation"))?;
    let settings = settings::load_settings(conn)?;
    send(conn, actor, &state, &settings, out)?;
    view(conn, id)
}

/// How a channel identifies a customer reached by phone.
pub fn identity_kind(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Api => "api",
        ChannelKind::Whatsapp => "wa_id",
    }
}

/// Digits of a phone number (an optional leading `+`, spaces, dashes and brackets dropped).
pub fn normalize_phone(phone: &str) -> Result<String> {
    let digits: String = phone
        .trim()
        .trim_start_matches('+')
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    if (5..=20).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(invalid(
            "invalid_phone",
            format!(
                "\"{}\" is not a phone number (digits with country code)",
                phone.trim()
            ),
        ))
    }
}
