//! "Take next": the caller claims the conversation whose customer has waited longest among
//! those they may claim, in one request — through the same claim rule as a claim by id.

use rusqlite::Connection;

use super::conversations as ops;
use super::{Error, Result};
use crate::domain::policy::{Action, Actor};
use crate::domain::{TeamId, Visibility};
use crate::store::conversations::{self as convs, Conversation};
use crate::store::settings;

/// Which pools `actor` may claim from with `visibility`: `None` every pool (managers and
/// owners), else the pools of their teams and the general pool; the outer `None`: none at all
/// (agents who see only their own conversations). Mirrors `policy::check`'s rule for [`Action::Claim`] on an
/// unassigned conversation, which still decides every claim.
fn pools(actor: &Actor, visibility: Visibility) -> Option<Option<&[TeamId]>> {
    if actor.is_manager() {
        Some(None)
    } else if visibility == Visibility::Own {
        None
    } else {
        Some(Some(&actor.teams))
    }
}

/// The 404 of an empty queue: `nothing_waiting`.
fn nothing_waiting() -> Error {
    Error::Missing {
        code: "nothing_waiting",
        message: "nobody is waiting in your pools right now".into(),
    }
}

/// Claims for `actor` the unassigned open conversation whose customer has waited longest
/// (`waiting_since`, then id) in the pools they may claim from, and answers it as a claim does.
/// Run in one write transaction, so two people taking next at once get two different ones.
///
/// # Errors
/// 404 `nothing_waiting` when no customer waits in those pools; otherwise what the claim
/// answers (its oldest-first rule included).
pub fn take_next(conn: &Connection, actor: &Actor) -> Result<Conversation> {
    let s = settings::load_settings(conn)?;
    let Some(teams) = pools(actor, s.agent_visibility) else {
        return Err(nothing_waiting());
    };
    let Some(id) = convs::find_next_waiting(conn, teams)? else {
        return Err(nothing_waiting());
    };
    ops::claim(conn, ops::authorize(conn, actor, Action::Claim, id)?)
}
