//! One action on many conversations (managers and owners): assign, change status, tag — all or
//! nothing, each conversation through the same operations (and events) as one at a time.

use rusqlite::Connection;

use super::conversations::{self as ops, AssignRequest};
use super::{Error, Result, bad_request, invalid};
use crate::domain::policy::{Action, Actor};
use crate::domain::{ConversationId, Status, TeamId, UserId};

/// Most conversations in one bulk action.
pub const MAX_BULK: usize = 200;

/// A bulk action: what to do to every listed conversation (at least one of `assign`, `status`,
/// `tags`; done in that order on each).
#[derive(Debug, Clone, Default)]
pub struct BulkRequest {
    /// The conversations, 1 to [`MAX_BULK`] (repeated ids count once).
    pub ids: Vec<ConversationId>,
    /// New assignee (`None`: release to the pool) and, optionally, team (`Some(None)`: no team).
    pub assign: Option<(Option<UserId>, Option<Option<TeamId>>)>,
    /// New status (`snoozed` is refused: it needs an end time per conversation).
    pub status: Option<Status>,
    /// Tags to add and to remove.
    pub tags: Option<(Vec<String>, Vec<String>)>,
}

/// The same error about conversation `id`: its message names it, and "not found" becomes a
/// 422 `unknown_conversation` (the path was fine; an id in the body was not).
fn about(id: ConversationId, e: Error) -> Error {
    let say = |m: String| format!("conversation {id}: {m}");
    match e {
        Error::NotFound(_) => invalid(
            "unknown_conversation",
            format!("there is no conversation {id}"),
        ),
        Error::BadRequest { code, message } => Error::BadRequest {
            code,
            message: say(message),
        },
        Error::Forbidden { code, message } => Error::Forbidden {
            code,
            message: say(message),
        },
        Error::Conflict {
            code,
            message,
            data,
        } => Error::Conflict {
            code,
            message: say(message),
            data,
        },
        Error::Invalid { code, message } => Error::Invalid {
            code,
            message: say(message),
        },
        other => other,
    }
}

/// Applies `req` to every listed conversation in the caller's transaction; the first that
/// fails stops it with an error naming that conversation (the caller's transaction then rolls
/// everything back). Returns the ids acted on, in the order given, each once.
pub fn apply(conn: &Connection, actor: &Actor, req: BulkRequest) -> Result<Vec<ConversationId>> {
    if !actor.is_manager() {
        return Err(super::forbidden(
            "only managers and owners act on many conversations at once",
        ));
    }
    if req.assign.is_none() && req.status.is_none() && req.tags.is_none() {
        return Err(bad_request(
            "invalid_field",
            "say what to do: \"assign\", \"status\" or \"tags\"",
        ));
    }
    let mut ids: Vec<ConversationId> = Vec::with_capacity(req.ids.len());
    for id in &req.ids {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    if ids.is_empty() {
        return Err(invalid("empty", "conversation_ids must list at least one"));
    }
    if ids.len() > MAX_BULK {
        return Err(invalid(
            "too_many",
            format!("at most {MAX_BULK} conversations at once"),
        ));
    }
    if req.status == Some(Status::Snoozed) {
        return Err(invalid(
            "invalid_status",
            "snooze conversations one at a time: each needs its own end",
        ));
    }
    for &id in &ids {
        let one = || -> Result<()> {
            if let Some((assignee, team)) = req.assign {
                let auth = ops::authorize(conn, actor, Action::Assign, id)?;
                ops::assign(
                    conn,
                    auth,
                    AssignRequest {
                        assignee,
                        team,
                        note: None,
                    },
                )?;
            }
            if let Some(status) = req.status {
                let auth = ops::authorize(conn, actor, Action::SetStatus, id)?;
                ops::set_status(conn, auth, status, None)?;
            }
            if let Some((add, remove)) = &req.tags {
                let auth = ops::authorize(conn, actor, Action::Tag, id)?;
                ops::tag(conn, auth, add, remove)?;
            }
            Ok(())
        };
        one().map_err(|e| about(id, e))?;
    }
    Ok(ids)
}
