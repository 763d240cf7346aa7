//! Conversation operations: claim, assign (handoff, transfer, release), status, tags, notes,
//! replies and starting an outbound conversation. Each runs in the caller's write transaction
//! and appends its events there.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Error, Result, clean_text, invalid};
use crate::domain::conversation::{self as rules, StatusError};
use crate::domain::events::{Assigned, Claimed, Event, Named, NoteCreated, StatusChanged, Tagged};
use crate::domain::policy::{self, Action, Actor, Denied};
use crate::domain::settings::Settings;
use crate::domain::time::Ts;
use crate::domain::time::now_ms;
use crate::domain::{ConversationId, DeliveryStatus, Direction, NoteId, Status, TeamId, UserId};
use crate::store::conversations::{self as convs, ConvState, Conversation};
use crate::store::messages;
use crate::store::{events, settings, teams, users};

/// Longest message or note.
pub const MAX_TEXT: usize = 4096;

/// A user as an event names them (`{"id","name"}`; an empty name if they no longer exist).
pub(super) fn named_user(conn: &Connection, id: Option<UserId>) -> Result<Option<Named>> {
    Ok(match id {
        Some(id) => Some(match users::find_user_name(conn, id)? {
            Some(name) => Named { id: id.0, name },
            None => Named {
                id: id.0,
                name: String::new(),
            },
        }),
        None => None,
    })
}

/// A team as an event names it.
pub(super) fn named_team(conn: &Connection, id: Option<TeamId>) -> Result<Option<Named>> {
    Ok(match id {
        Some(id) => Some(match teams::find_team_head(conn, id)? {
            Some((name, _)) => Named { id: id.0, name },
            None => Named {
                id: id.0,
                name: String::new(),
            },
        }),
        None => None,
    })
}

/// One change of who holds a conversation, as [`write_assignment`] records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The assignee before the change, as the caller read it (`None`: it was in the pool).
    pub from: Option<UserId>,
    /// The assignee after it; `None` releases the conversation to its team's pool.
    pub to: Option<UserId>,
    /// The team after it (pass the current team to keep it).
    pub team: Option<TeamId>,
    /// A private note written with the change (a handoff note), already stored.
    pub note: Option<NoteId>,
    /// Who made the change; `None` when the server did (routing, take-back, shift handoff
    /// jobs): the event then has no actor and `by` is `null`.
    pub actor: Option<UserId>,
    /// A claim from the pool: applied only if nobody holds the conversation at that moment
    /// (atomic, so of two concurrent claims one wins), and recorded as `conversation.claimed`
    /// instead of `conversation.assigned`. The team is left as it is.
    pub claim: bool,
}

/// The one writer of assignments: applies `change` to conversation `id` and appends its event
/// (`conversation.assigned` with `from`, `to`, `by`, `team`, `note_id`, or
/// `conversation.claimed` for a claim) in the caller's transaction. Claim, assign, transfer,
/// release, a reply or a start that takes ownership, and later routing, handoff and take-back
/// all come here; permission checks are the caller's. Returns `false` only for a claim that
/// lost the race (someone holds it now), having changed nothing.
pub fn write_assignment(
    conn: &Connection,
    id: ConversationId,
    change: &Assignment,
    now: i64,
) -> Result<bool> {
    write_assignment_then(conn, id, change, Clocks::Sync, now)
}

/// Who brings a conversation's SLA clocks in line after [`write_assignment_then`] changed its
/// hands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Clocks {
    /// The writer does ([`super::sla::sync`]), as every change of hands needs.
    Sync,
    /// The caller does, once, after it has also made its other changes: routing inside an
    /// inbound message or a bot handoff, whose callers sync right after (issue #10: one sync
    /// per routed inbound, not two).
    CallerSyncs,
}

/// [`write_assignment`], with who syncs the SLA clocks as a parameter.
pub(super) fn write_assignment_then(
    conn: &Connection,
    id: ConversationId,
    change: &Assignment,
    clocks: Clocks,
    now: i64,
) -> Result<bool> {
    let event = if change.claim {
        let Some(to) = change.to else {
            return Ok(false);
        };
        if !convs::claim_if_unassigned(conn, id, to, now)? {
            return Ok(false);
        }
        Event::ConversationClaimed(Claimed {
            from: None,
            to: named_user(conn, Some(to))?,
            team: named_team(conn, change.team)?,
        })
    } else {
        convs::update_assignment(conn, id, change.to, change.team, now)?;
        Event::ConversationAssigned(Assigned {
            from: named_user(conn, change.from)?,
            to: named_user(conn, change.to)?,
            by: named_user(conn, change.actor)?,
            team: named_team(conn, change.team)?,
            note_id: change.note,
        })
    };
    events::insert_event(conn, Some(id), &event, change.actor, now)?;
    // A person who takes a conversation the menu bot still holds (a claim or an assignment by
    // id) ends the hold: the customer now waits on that person, and the cycle's clocks start here.
    if change.to.is_some() && crate::store::bot::find_held(conn, id)? {
        crate::store::bot::update_release(conn, id, now)?;
    }
    // The team decides the SLA policy.
    if clocks == Clocks::Sync {
        super::sla::sync(conn, id, now)?;
    }
    if let Some(from) = change
        .from
        .filter(|f| !change.claim && change.to != Some(*f))
    {
        super::routing::on_room(conn, from, id, now)?;
    }
    Ok(true)
}

/// Turns a policy refusal into the error the caller sees.
pub(super) fn denied(conn: &Connection, d: Denied) -> Error {
    let who = |id: Option<UserId>| -> (Value, String) {
        let named = named_user(conn, id).ok().flatten();
        let name = named
            .as_ref()
            .map_or_else(|| "someone".to_string(), |n| n.name.clone());
        (json!(named), name)
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

/// Proof that an actor may do one action on one conversation, with what the check loaded (state
/// and settings, read in the caller's transaction). Only [`authorize`] makes one, so an operation
/// that takes it runs after the check, and the check runs once per request.
#[derive(Debug)]
pub struct Authorized {
    actor: Actor,
    action: Action,
    state: ConvState,
    settings: Settings,
}

impl Authorized {
    /// Who was authorized.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The conversation.
    pub fn id(&self) -> ConversationId {
        self.state.id
    }

    /// The conversation's state when it was checked.
    pub fn state(&self) -> &ConvState {
        &self.state
    }

    /// The workspace settings when it was checked.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Refuses a proof made for another action (a caller's mistake, never a user's): the policy
    /// is asked again over what was loaded, without reading anything.
    pub(super) fn permits(&self, conn: &Connection, action: Action) -> Result<()> {
        if self.action == action {
            return Ok(());
        }
        policy::check(
            &self.actor,
            self.settings.agent_visibility,
            action,
            &self.state.ownership(),
        )
        .map_err(|d| denied(conn, d))
    }
}

/// Loads a conversation and checks `action` for `actor`; 404 when it does not exist or is hidden.
pub fn authorize(
    conn: &Connection,
    actor: &Actor,
    action: Action,
    id: ConversationId,
) -> Result<Authorized> {
    let state = convs::find_conv_state(conn, id)?.ok_or(Error::NotFound("conversation"))?;
    let settings = settings::load_settings(conn)?;
    policy::check(actor, settings.agent_visibility, action, &state.ownership())
        .map_err(|d| denied(conn, d))?;
    Ok(Authorized {
        actor: actor.clone(),
        action,
        state,
        settings,
    })
}

/// The conversation, for a caller authorized to view it.
pub fn show(conn: &Connection, auth: &Authorized) -> Result<Conversation> {
    auth.permits(conn, Action::View)?;
    view(conn, auth.id())
}

/// The conversation as the API shows it, with its SLA clocks.
pub fn view(conn: &Connection, id: ConversationId) -> Result<Conversation> {
    let mut c = convs::find_conversation(conn, id)?.ok_or(Error::NotFound("conversation"))?;
    c.sla = super::sla::view(conn, id, now_ms())?;
    Ok(c)
}

/// Takes an unassigned conversation. Atomic: of two concurrent claims exactly one wins, and the
/// other learns who did (409 `already_assigned`).
pub fn claim(conn: &Connection, auth: Authorized) -> Result<Conversation> {
    auth.permits(conn, Action::Claim)?;
    let (actor, id, state) = (&auth.actor, auth.id(), &auth.state);
    if state.assignee == Some(actor.id) {
        return view(conn, id);
    }
    let now = now_ms();
    oldest_first(conn, actor, id, auth.settings(), now)?;
    let claimed = write_assignment(
        conn,
        id,
        &Assignment {
            from: None,
            to: Some(actor.id),
            team: state.team,
            note: None,
            actor: Some(actor.id),
            claim: true,
        },
        now,
    )?;
    if !claimed {
        let owner = convs::find_conv_state(conn, id)?.and_then(|s| s.assignee);
        return Err(denied(
            conn,
            Denied::AlreadyAssigned {
                owner: owner.unwrap_or(actor.id),
            },
        ));
    }
    view(conn, id)
}

/// No cherry-picking: with `oldest_first_after_secs` set, an agent whose pool holds a customer
/// who has waited that long may claim only the one who has waited longest (409 `oldest_first`
/// with `data.conversation_id` naming it). Managers and owners are exempt.
fn oldest_first(
    conn: &Connection,
    actor: &Actor,
    id: ConversationId,
    settings: &Settings,
    now: i64,
) -> Result<()> {
    let Some(secs) = settings.oldest_first_after_secs else {
        return Ok(());
    };
    if actor.role != crate::domain::Role::Agent {
        return Ok(());
    }
    let before = now - secs.saturating_mul(1000);
    match convs::find_oldest_waiting_in_pool(conn, &actor.teams, before)? {
        Some(oldest) if oldest != id => Err(Error::Conflict {
            code: "oldest_first",
            message: format!(
                "the customer who has waited longest comes first: take conversation {} before this one",
                oldest.0
            ),
            data: Some(json!({"conversation_id": oldest.0})),
        }),
        _ => Ok(()),
    }
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
pub fn assign(conn: &Connection, auth: Authorized, req: AssignRequest) -> Result<Conversation> {
    auth.permits(conn, Action::Assign)?;
    let (actor, id, state) = (&auth.actor, auth.id(), &auth.state);
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
        Some(text) => Some(write_note(conn, actor, id, text, &[], now)?),
        None => None,
    };
    write_assignment(
        conn,
        id,
        &Assignment {
            from: state.assignee,
            to: req.assignee,
            team,
            note: note_id,
            actor: Some(actor.id),
            claim: false,
        },
        now,
    )?;
    view(conn, id)
}

/// Changes the status (`until` is the snooze end, ms).
pub fn set_status(
    conn: &Connection,
    auth: Authorized,
    to: Status,
    until: Option<i64>,
) -> Result<Conversation> {
    auth.permits(conn, Action::SetStatus)?;
    let (actor, id, state) = (&auth.actor, auth.id(), &auth.state);
    let now = now_ms();
    let change = rules::change_status(state.status, to, until, now).map_err(|e| match e {
        StatusError::SnoozeNeedsFuture => invalid("invalid_until", e.to_string()),
    })?;
    if state.status == to && to != Status::Snoozed {
        return view(conn, id);
    }
    write_status(conn, state, &change, Some(actor.id), now)?;
    view(conn, id)
}

/// The one status writer: stores `change` on the conversation `state` describes, closes (or
/// reopens) its cycle, appends `conversation.status` with `actor` (`None`: the scheduler did it)
/// and re-syncs its SLA clocks. The caller has decided the change is allowed.
pub(crate) fn write_status(
    conn: &Connection,
    state: &ConvState,
    change: &rules::StatusChange,
    actor: Option<UserId>,
    now: i64,
) -> Result<()> {
    let id = state.id;
    convs::update_status(conn, id, change.to, change.snoozed_until, now)?;
    if let Some(cycle) = state.cycle_id {
        if change.resolved {
            crate::store::cycles::mark_resolved(conn, cycle, Some(now), actor)?;
        } else if change.reopened {
            crate::store::cycles::mark_resolved(conn, cycle, None, None)?;
        }
    }
    events::insert_event(
        conn,
        Some(id),
        &Event::ConversationStatus(StatusChanged {
            from: state.status,
            to: change.to,
            until: change.snoozed_until.map(Ts),
        }),
        actor,
        now,
    )?;
    super::sla::sync(conn, id, now)?;
    if change.resolved {
        // The satisfaction survey (#13), when the channel asks for one.
        super::bot::on_resolved(conn, state, now)?;
    }
    if let Some(owner) = state.assignee.filter(|_| change.resolved) {
        super::routing::on_room(conn, owner, id, now)?;
    }
    Ok(())
}

/// Most snoozed conversations woken in one transaction; a tick takes the rest next time.
pub const WAKE_BATCH: i64 = 200;

/// Wakes the snoozed conversations whose time has come: each becomes `open` again (waiting on
/// us, in the queue it left) with a `conversation.status` event from `snoozed` to `open` and no
/// actor (the scheduler did it). Answers the ids woken, at most [`WAKE_BATCH`].
pub fn wake_snoozed(conn: &Connection, now: i64) -> Result<Vec<ConversationId>> {
    let due = convs::list_due_snoozed(conn, now, WAKE_BATCH)?;
    for &id in &due {
        convs::update_status(conn, id, Status::Open, None, now)?;
        events::insert_event(
            conn,
            Some(id),
            &Event::ConversationStatus(StatusChanged {
                from: Status::Snoozed,
                to: Status::Open,
                until: None,
            }),
            None,
            now,
        )?;
        super::sla::sync(conn, id, now)?;
    }
    Ok(due)
}

/// Most tags added and removed in one change.
pub const MAX_TAGS_AT_ONCE: usize = 50;

/// Adds and removes tags (at most [`MAX_TAGS_AT_ONCE`] in all).
pub fn tag(
    conn: &Connection,
    auth: Authorized,
    add: &[String],
    remove: &[String],
) -> Result<Conversation> {
    auth.permits(conn, Action::Tag)?;
    let (actor, id) = (&auth.actor, auth.id());
    if add.len() + remove.len() > MAX_TAGS_AT_ONCE {
        return Err(invalid(
            "too_many_tags",
            format!("at most {MAX_TAGS_AT_ONCE} tags at once"),
        ));
    }
    let clean = |list: &[String]| -> Result<Vec<String>> {
        list.iter().map(|t| clean_text("tag", t, 50)).collect()
    };
    let (add, remove) = (clean(add)?, clean(remove)?);
    write_tags(conn, id, &add, &remove, Some(actor.id), now_ms())?;
    view(conn, id)
}

/// The one tag writer: adds and removes tags (names already checked) and appends one
/// `conversation.tagged` with what changed, by `actor` (`None`: routing). Nothing changed, no
/// event.
pub fn write_tags(
    conn: &Connection,
    id: ConversationId,
    add: &[String],
    remove: &[String],
    actor: Option<UserId>,
    now: i64,
) -> Result<()> {
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for name in add {
        let tag = crate::store::tags::ensure_tag(conn, name)?;
        if crate::store::tags::add_tag(conn, id, tag)? {
            added.push(name.clone());
        }
    }
    for name in remove {
        if crate::store::tags::remove_tag(conn, id, name)? {
            removed.push(name.clone());
        }
    }
    if !added.is_empty() || !removed.is_empty() {
        events::insert_event(
            conn,
            Some(id),
            &Event::ConversationTagged(Tagged { added, removed }),
            actor,
            now,
        )?;
    }
    Ok(())
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

/// Stores a note with its mentions (named in `text` or listed in `mentions`) and its event.
pub(super) fn write_note(
    conn: &Connection,
    actor: &Actor,
    id: ConversationId,
    text: &str,
    mentions: &[UserId],
    now: i64,
) -> Result<NoteId> {
    let named = super::mentions::resolve(conn, actor.id, text, mentions)?;
    let nid = messages::insert_note(conn, id, actor.id, text, now)?;
    super::mentions::record(conn, nid, id, &named, now)?;
    events::insert_event(
        conn,
        Some(id),
        &Event::NoteCreated(NoteCreated {
            note_id: nid,
            mentions: named,
        }),
        Some(actor.id),
        now,
    )?;
    Ok(nid)
}

/// Writes a private note; `@Name` in `text` and the ids in `mentions` mention staff members
/// (see [`super::mentions::resolve`]; an unknown id is a 422 `invalid_mention`).
pub fn add_note(
    conn: &Connection,
    auth: Authorized,
    text: &str,
    mentions: &[UserId],
) -> Result<Created> {
    auth.permits(conn, Action::Note)?;
    let (actor, id) = (&auth.actor, auth.id());
    let text = clean_text("text", text, MAX_TEXT)?;
    let now = now_ms();
    let nid = write_note(conn, actor, id, &text, mentions, now)?;
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

/// Asks the owner for a handoff: a private note "X asks to take over this conversation", which
/// the owner sees in the timeline.
pub fn request_handoff(conn: &Connection, auth: Authorized) -> Result<Created> {
    let name = users::find_user(conn, auth.actor.id)?
        .map(|u| u.name)
        .unwrap_or_default();
    add_note(
        conn,
        auth,
        &format!("{name} asks to take over this conversation"),
        &[],
    )
}

/// The name of user `id` as a timeline item shows its author (`None` if the user is gone).
pub(super) fn author(conn: &Connection, id: UserId) -> Result<Option<Named>> {
    Ok(users::find_user(conn, id)?.map(|u| Named {
        id: u.id.0,
        name: u.name,
    }))
}
