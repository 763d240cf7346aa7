//! Changes of hands as the people involved see them: the latest handover of a conversation in
//! words for one viewer ("Bruno Agent took this at 08:43", "You handed this to Bruno Agent"),
//! what a viewer who no longer sees a conversation may still learn about it, and the short undo
//! of a resolve or a transfer.

use rusqlite::Connection;
use serde_json::Value;

use super::conversations::{self as ops, Assignment, authorize, write_assignment};
use super::{Error, Result};
use crate::domain::events::{Named, kind};
use crate::domain::policy::{self, Action, Actor, Ownership};
use crate::domain::{ConversationId, Status, TeamId, UserId};
use crate::store::conversations::{self as convs, Conversation};
use crate::store::events::{self, ChangeRow};
use crate::store::settings;

/// How long after a resolve or a transfer its author may undo it (ms).
pub const UNDO_MS: i64 = 30_000;

const HANDS: &[&str] = &[kind::CONVERSATION_ASSIGNED, kind::CONVERSATION_CLAIMED];

/// One change of hands (`conversation.claimed` or `conversation.assigned`), read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    /// The event's id.
    pub event_id: i64,
    /// When (UTC ms).
    pub at: i64,
    /// Taken from the pool by a claim.
    pub claimed: bool,
    /// Who made the change (`None`: the server).
    pub actor: Option<UserId>,
    /// Their name as the event recorded it ("teaminbox" for the server).
    pub actor_name: String,
    /// Who held it before (`None`: the pool).
    pub from: Option<Named>,
    /// Who holds it after (`None`: the pool).
    pub to: Option<Named>,
    /// The team after it.
    pub team: Option<Named>,
}

fn named(v: &Value) -> Option<Named> {
    Some(Named {
        id: v.get("id")?.as_i64()?,
        name: v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("someone")
            .to_string(),
    })
}

impl Handover {
    fn from_row(r: &ChangeRow) -> Handover {
        Handover {
            event_id: r.id,
            at: r.at,
            claimed: r.kind == kind::CONVERSATION_CLAIMED,
            actor: r.actor,
            actor_name: named(&r.data["by"])
                .or_else(|| named(&r.data["to"]).filter(|_| r.kind == kind::CONVERSATION_CLAIMED))
                .map_or_else(|| "teaminbox".to_string(), |n| n.name),
            from: named(&r.data["from"]),
            to: named(&r.data["to"]),
            team: named(&r.data["team"]),
        }
    }

    fn holder(&self) -> Option<UserId> {
        self.to.as_ref().map(|n| UserId(n.id))
    }

    fn previous_holder(&self) -> Option<UserId> {
        self.from.as_ref().map(|n| UserId(n.id))
    }

    /// The change in words for `viewer`, without the time: "You handed this to Bruno Agent",
    /// "Bruno Agent took this", "Olga handed this to Bruno Agent", "You released this to the
    /// Sales pool".
    pub fn words(&self, viewer: UserId) -> String {
        let actor_name = &self.actor_name;
        let pool = match &self.team {
            Some(t) => format!("the {} pool", t.name),
            None => "the pool".to_string(),
        };
        let by_viewer = self.actor == Some(viewer);
        match (&self.to, by_viewer) {
            (Some(to), _) if self.claimed || self.actor == Some(UserId(to.id)) => {
                if to.id == viewer.0 {
                    "You took this".into()
                } else {
                    format!("{} took this", to.name)
                }
            }
            (Some(to), true) => format!("You handed this to {}", to.name),
            (Some(to), false) => format!("{actor_name} handed this to {}", to.name),
            (None, true) => format!("You released this to {pool}"),
            (None, false) => format!("{actor_name} released this to {pool}"),
        }
    }
}

/// The newest changes of hands of conversation `id`, newest first.
fn handovers(conn: &Connection, id: ConversationId, limit: i64) -> Result<Vec<Handover>> {
    Ok(events::list_conversation_changes(conn, id, HANDS, limit)?
        .iter()
        .map(Handover::from_row)
        .collect())
}

/// The latest change of hands if it took conversation `id` from `viewer`: they held it, or
/// they handed it on themselves. The page says so in words instead of a bare owner line.
pub fn taken_from(
    conn: &Connection,
    viewer: UserId,
    id: ConversationId,
) -> Result<Option<Handover>> {
    Ok(handovers(conn, id, 1)?.into_iter().next().filter(|h| {
        h.holder() != Some(viewer)
            && (h.previous_holder() == Some(viewer) || h.actor == Some(viewer))
    }))
}

/// What `actor`, who can no longer see conversation `id`, may learn of it: the latest change
/// of hands, if before it the conversation was theirs, was handed on by them, or sat in a pool
/// they see (the API's claim answer already names the winner to them). Anything older or
/// anyone else learns nothing (`None`: the page says "not found").
pub fn lost(conn: &Connection, actor: &Actor, id: ConversationId) -> Result<Option<Handover>> {
    let list = handovers(conn, id, 2)?;
    let Some(last) = list.first() else {
        return Ok(None);
    };
    if last.previous_holder() == Some(actor.id) || last.actor == Some(actor.id) {
        return Ok(Some(last.clone()));
    }
    if last.from.is_none() {
        // From the pool: which pool it was in is the team before this change (a claim keeps it).
        let team_before = if last.claimed {
            last.team.as_ref()
        } else {
            list.get(1).and_then(|p| p.team.as_ref())
        };
        let s = settings::load_settings(conn)?;
        let before = Ownership::held(None, team_before.map(|t| TeamId(t.id)));
        if policy::can_see(actor, s.agent_visibility, &before) {
            return Ok(Some(last.clone()));
        }
    }
    Ok(None)
}

fn changed_meanwhile(what: &str) -> Error {
    Error::Conflict {
        code: "changed_meanwhile",
        message: format!("{what} changed after you; nothing was undone"),
        data: None,
    }
}

/// Undoes `actor`'s own resolve or transfer (event `event_id`) of conversation `id` within
/// [`UNDO_MS`] of it, through the same writers (the undo is itself recorded as an event):
/// a resolve goes back to the status it had, a transfer back to who held it (and the team of
/// the change before, when there is one). Errors: 404 for an unknown change, 403 for someone
/// else's, 409 `undo_expired` when too late, 409 `changed_meanwhile` when a later change of the
/// same kind came first, 409 `cannot_undo` for a resolve of a snoozed conversation.
pub fn undo(
    conn: &Connection,
    actor: &Actor,
    id: ConversationId,
    event_id: i64,
    now: i64,
) -> Result<Conversation> {
    let family: &[&str] = &[
        kind::CONVERSATION_ASSIGNED,
        kind::CONVERSATION_CLAIMED,
        kind::CONVERSATION_STATUS,
    ];
    let rows = events::list_conversation_changes(conn, id, family, 50)?;
    let Some(pos) = rows.iter().position(|r| r.id == event_id) else {
        return Err(Error::NotFound("change"));
    };
    let row = &rows[pos];
    if row.actor != Some(actor.id) {
        return Err(super::forbidden("only who made a change can undo it"));
    }
    if now - row.at > UNDO_MS {
        return Err(Error::Conflict {
            code: "undo_expired",
            message: "too late to undo; change it again instead".into(),
            data: None,
        });
    }
    let same_family = |r: &&ChangeRow| {
        (r.kind == kind::CONVERSATION_STATUS) == (row.kind == kind::CONVERSATION_STATUS)
    };
    if rows[..pos].iter().any(|r| same_family(&r)) {
        return Err(changed_meanwhile("The conversation"));
    }
    let state = convs::find_conv_state(conn, id)?.ok_or(Error::NotFound("conversation"))?;
    if row.kind == kind::CONVERSATION_STATUS {
        let from = row.data["from"].as_str().and_then(Status::parse);
        let to = row.data["to"].as_str().and_then(Status::parse);
        match (from, to) {
            (Some(Status::Snoozed), _) => Err(Error::Conflict {
                code: "cannot_undo",
                message: "it was snoozed before: snooze it again instead".into(),
                data: None,
            }),
            (Some(from), Some(to)) if state.status == to => {
                let auth = authorize(conn, actor, Action::SetStatus, id)?;
                ops::set_status(conn, auth, from, None)
            }
            _ => Err(changed_meanwhile("The status")),
        }
    } else {
        let h = Handover::from_row(row);
        if h.claimed || state.assignee != h.holder() {
            return Err(changed_meanwhile("Who holds the conversation"));
        }
        let team_before = match rows[pos + 1..].iter().find(|r| same_family(r)) {
            Some(prev) => named(&prev.data["team"]).map(|t| TeamId(t.id)),
            None => state.team,
        };
        write_assignment(
            conn,
            id,
            &Assignment {
                from: state.assignee,
                to: h.previous_holder(),
                team: team_before,
                note: None,
                actor: Some(actor.id),
                claim: false,
            },
            now,
        )?;
        ops::view(conn, id)
    }
}

/// The id of the newest resolve-or-status change (`status`) or change of hands (`!status`) of
/// conversation `id`, if `actor` made it: what an "Undo" right after an action points at.
pub fn latest_change_by(
    conn: &Connection,
    actor: UserId,
    id: ConversationId,
    status: bool,
) -> Result<Option<i64>> {
    let kinds = if status {
        &[kind::CONVERSATION_STATUS][..]
    } else {
        HANDS
    };
    Ok(events::list_conversation_changes(conn, id, kinds, 1)?
        .into_iter()
        .next()
        .filter(|r| r.actor == Some(actor))
        .map(|r| r.id))
}

/// An Undo the page offers: which change, for how long, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoOffer {
    /// The change's event id.
    pub event_id: i64,
    /// Milliseconds left to undo it.
    pub left_ms: i64,
    /// The change in words for its author ("Resolved", "You handed this to Bruno Agent").
    pub words: String,
}

/// What `actor` may still undo of change `event_id` of conversation `id`, if anything: the page
/// shows its Undo bar that long. The undo itself checks everything again ([`undo`]).
pub fn undo_left(
    conn: &Connection,
    actor: UserId,
    id: ConversationId,
    event_id: i64,
    now: i64,
) -> Result<Option<UndoOffer>> {
    let kinds = &[
        kind::CONVERSATION_ASSIGNED,
        kind::CONVERSATION_CLAIMED,
        kind::CONVERSATION_STATUS,
    ];
    Ok(events::list_conversation_changes(conn, id, kinds, 20)?
        .into_iter()
        .find(|r| r.id == event_id)
        .filter(|r| r.actor == Some(actor) && r.kind != kind::CONVERSATION_CLAIMED)
        .map(|r| UndoOffer {
            event_id,
            left_ms: UNDO_MS - (now - r.at),
            words: if r.kind == kind::CONVERSATION_STATUS {
                match r.data["to"].as_str() {
                    Some("resolved") => "Resolved".to_string(),
                    Some(other) => format!("Status changed to {other}"),
                    None => "Status changed".to_string(),
                }
            } else {
                Handover::from_row(&r).words(actor)
            },
        })
        .filter(|o| o.left_ms > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(id: i64, name: &str) -> Option<Named> {
        Some(Named {
            id,
            name: name.into(),
        })
    }

    /// (claimed, actor, actor name, from, to, team, viewer, words). Ana = 1, Bruno = 2, Mario = 3.
    #[test]
    fn a_change_of_hands_in_words_for_each_viewer() {
        let table = [
            (
                false,
                Some(1),
                "Ana",
                who(1, "Ana"),
                who(2, "Bruno"),
                None,
                1,
                "You handed this to Bruno",
            ),
            (
                false,
                Some(1),
                "Ana",
                who(1, "Ana"),
                who(2, "Bruno"),
                None,
                2,
                "Ana handed this to Bruno",
            ),
            (
                false,
                Some(3),
                "Mario",
                who(1, "Ana"),
                who(2, "Bruno"),
                None,
                1,
                "Mario handed this to Bruno",
            ),
            (
                true,
                Some(2),
                "Bruno",
                None,
                who(2, "Bruno"),
                None,
                1,
                "Bruno took this",
            ),
            (
                true,
                Some(2),
                "Bruno",
                None,
                who(2, "Bruno"),
                None,
                2,
                "You took this",
            ),
            (
                false,
                Some(3),
                "Mario",
                who(1, "Ana"),
                who(3, "Mario"),
                None,
                1,
                "Mario took this",
            ),
            (
                false,
                Some(1),
                "Ana",
                who(1, "Ana"),
                None,
                who(7, "Sales"),
                1,
                "You released this to the Sales pool",
            ),
            (
                false,
                None,
                "teaminbox",
                who(1, "Ana"),
                None,
                None,
                1,
                "teaminbox released this to the pool",
            ),
        ];
        for (claimed, actor, actor_name, from, to, team, viewer, want) in table {
            let h = Handover {
                event_id: 1,
                at: 0,
                claimed,
                actor: actor.map(UserId),
                actor_name: actor_name.into(),
                from,
                to,
                team,
            };
            assert_eq!(h.words(UserId(viewer)), want, "{h:?}");
        }
    }
}
