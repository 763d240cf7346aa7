//! The end-of-shift handoff: every unresolved conversation a person owns (or those listed) moves
//! to one colleague or to a team's pool, each with the handoff note, in one transaction — all or
//! nothing. Every move goes through the one assignment writer, so each is a recorded
//! `conversation.assigned` with its note. Contract: `shared/API.md` ("Handoff").

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use super::conversations::{Assignment, write_assignment, write_note};
use super::{Error, Result, clean_text, invalid};
use crate::domain::policy::{Actor, Capability, allows};
use crate::domain::time::now_ms;
use crate::domain::{ConversationId, Status, TeamId, UserId, UserStatus};
use crate::store::conversations as convs;
use crate::store::handoff::ShiftRow;
use crate::store::{teams, users};

/// Most conversations one handoff may name.
pub const MAX_HANDOFF_CONVERSATIONS: usize = 500;

/// Where the conversations go and what travels with them.
#[derive(Debug, Clone, Default)]
pub struct HandoffRequest {
    /// The colleague who receives them (`None`: the pool of `team`, or of each conversation's
    /// own team). They need not be available.
    pub assignee: Option<UserId>,
    /// The team the conversations move to (`None`: each keeps its team).
    pub team: Option<TeamId>,
    /// A private note written on every conversation moved (blank: none).
    pub note: Option<String>,
    /// Per-conversation notes: for a conversation named here its own text is written instead of
    /// `note` (blank: no note on that one). Every key must be one of the conversations moved.
    pub notes: BTreeMap<ConversationId, String>,
    /// Only these conversations (each must be the person's own and unresolved); `None`: all.
    pub conversation_ids: Option<Vec<ConversationId>>,
    /// Set the person `offline` afterwards.
    pub go_offline: bool,
}

/// Whether `actor` may hand off `from`'s conversations at all (checked before the request body
/// is read, so a refused caller learns that first).
///
/// # Errors
/// 403 `forbidden` for someone else's conversations without the role; 404 for an unknown user.
pub fn check(conn: &Connection, actor: &Actor, from: UserId) -> Result<()> {
    if actor.id != from && !allows(actor.role, Capability::HandOffOthers) {
        return Err(super::forbidden(
            "only managers and owners hand off someone else's conversations",
        ));
    }
    users::find_user(conn, from)?.ok_or(Error::NotFound("user"))?;
    Ok(())
}

/// Hands `from`'s conversations over as `req` says, by `actor` (`from` themself, or a manager
/// or owner). Answers the ids moved, oldest activity first.
///
/// # Errors
/// 403 `forbidden` when `actor` may not hand off someone else's conversations; 404 for an
/// unknown `from`; 422 `invalid_assignee` / `unknown_team` for a target that does not exist, is
/// disabled or is `from`; 403 `not_owner` when a listed conversation (or one a per-conversation
/// note names) is not among `from`'s own unresolved ones moved (nothing moves); 422 for a note
/// too long or too many ids.
pub fn hand_off(
    conn: &Connection,
    actor: &Actor,
    from: UserId,
    req: HandoffRequest,
) -> Result<Vec<ConversationId>> {
    check(conn, actor, from)?;
    if let Some(to) = req.assignee {
        match users::find_user(conn, to)? {
            Some(u) if u.disabled => {
                return Err(invalid(
                    "invalid_assignee",
                    format!("{} is disabled", u.name),
                ));
            }
            Some(_) if to == from => {
                return Err(invalid(
                    "invalid_assignee",
                    "hand the conversations to someone else or to a pool",
                ));
            }
            Some(_) => {}
            None => {
                return Err(invalid(
                    "invalid_assignee",
                    format!("there is no user {to}"),
                ));
            }
        }
    }
    if let Some(t) = req.team
        && teams::find_team(conn, t)?.is_none()
    {
        return Err(invalid("unknown_team", format!("there is no team {t}")));
    }
    let clean_note = |n: &str| -> Result<Option<String>> {
        if n.trim().is_empty() {
            return Ok(None);
        }
        clean_text("note", n, super::conversations::MAX_TEXT).map(Some)
    };
    let note = req.note.as_deref().map(clean_note).transpose()?.flatten();
    if req.notes.len() > MAX_HANDOFF_CONVERSATIONS {
        return Err(invalid(
            "too_many",
            format!("at most {MAX_HANDOFF_CONVERSATIONS} notes at once"),
        ));
    }
    let notes = req
        .notes
        .iter()
        .map(|(&id, text)| Ok((id, clean_note(text)?)))
        .collect::<Result<BTreeMap<ConversationId, Option<String>>>>()?;
    let owned = convs::list_unresolved_owned(conn, from)?;
    let moving: Vec<ConversationId> = match &req.conversation_ids {
        None => owned,
        Some(list) => {
            if list.len() > MAX_HANDOFF_CONVERSATIONS {
                return Err(invalid(
                    "too_many",
                    format!("at most {MAX_HANDOFF_CONVERSATIONS} conversations at once"),
                ));
            }
            let mine: BTreeSet<ConversationId> = owned.iter().copied().collect();
            if let Some(other) = list.iter().find(|c| !mine.contains(c)) {
                return Err(Error::Forbidden {
                    code: "not_owner",
                    message: format!(
                        "conversation {other} is not an unresolved conversation of the person handing off; nothing was moved"
                    ),
                });
            }
            let wanted: BTreeSet<ConversationId> = list.iter().copied().collect();
            owned.into_iter().filter(|c| wanted.contains(c)).collect()
        }
    };
    let moving_set: BTreeSet<ConversationId> = moving.iter().copied().collect();
    if let Some(&stray) = notes.keys().find(|c| !moving_set.contains(c)) {
        return Err(Error::Forbidden {
            code: "not_owner",
            message: format!(
                "a note names conversation {stray}, which is not one of the unresolved conversations handed off; nothing was moved"
            ),
        });
    }
    let now = now_ms();
    // Offline first: a conversation leaving gives its owner room, and someone ending their
    // shift must not be re-offered the pool while handing off.
    if req.go_offline {
        super::users::set_status(conn, from, UserStatus::Offline)?;
    }
    for &id in &moving {
        let state = convs::find_conv_state(conn, id)?.ok_or(Error::NotFound("conversation"))?;
        debug_assert!(state.status != Status::Resolved);
        let this_note = match notes.get(&id) {
            Some(own) => own,
            None => &note,
        };
        let note_id = match this_note {
            Some(text) => Some(write_note(conn, actor, id, text, &[], now)?),
            None => None,
        };
        write_assignment(
            conn,
            id,
            &Assignment {
                from: state.assignee,
                to: req.assignee,
                team: req.team.or(state.team),
                note: note_id,
                actor: Some(actor.id),
                claim: false,
            },
            now,
        )?;
    }
    Ok(moving)
}

/// Everything the end-of-shift screen shows for one person.
#[derive(Debug, Clone)]
pub struct ShiftSheet {
    /// Whose shift ends.
    pub user: users::User,
    /// Their unresolved conversations, in handoff order.
    pub rows: Vec<ShiftRow>,
    /// Who may receive them: every active colleague (not `user`), available or not.
    pub colleagues: Vec<users::User>,
    /// Teams whose pool may receive them.
    pub teams: Vec<teams::Team>,
}

/// The end-of-shift screen of `from`, as `actor` may see it (the same rule as [`hand_off`]).
///
/// # Errors
/// As [`check`]: 403 `forbidden` for someone else's shift without the role; 404 unknown user.
pub fn shift_sheet(conn: &Connection, actor: &Actor, from: UserId) -> Result<ShiftSheet> {
    check(conn, actor, from)?;
    let user = users::find_user(conn, from)?.ok_or(Error::NotFound("user"))?;
    let rows =
        crate::store::handoff::list_shift_rows(conn, from, MAX_HANDOFF_CONVERSATIONS as i64)?;
    let colleagues = users::list_users(conn)?
        .into_iter()
        .filter(|u| !u.disabled && u.id != from)
        .collect();
    Ok(ShiftSheet {
        user,
        rows,
        colleagues,
        teams: teams::list_teams(conn)?,
    })
}
