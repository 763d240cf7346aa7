//! The queue watch, run by the scheduler: the "waiting unassigned" alert (`unassigned_alert_secs`,
//! once per conversation) and take-back (`take_back_secs`: an assignee who leaves a waiting
//! customer unanswered that long loses the conversation to its team's pool). Both read one
//! partial index by the customer's waiting time, so a tick costs little at any queue size.

use rusqlite::Connection;

use super::Result;
use super::conversations::{Assignment, named_user, write_assignment};
use crate::domain::ConversationId;
use crate::domain::events::{Event, TakenBack, UnassignedAlert};
use crate::domain::settings::Settings;
use crate::domain::time::Ts;
use crate::store::conversations as convs;
use crate::store::events;

/// Most conversations one pass handles in one transaction; the next tick takes the rest.
pub const WATCH_BATCH: i64 = 200;

/// Raises `queue.unassigned_alert` for every unassigned open conversation whose customer has
/// waited `unassigned_alert_secs` or longer, once per conversation. Answers those alerted.
///
/// # Errors
/// Store errors only.
pub fn alert_unassigned(
    conn: &Connection,
    settings: &Settings,
    now: i64,
) -> Result<Vec<ConversationId>> {
    let Some(secs) = settings.unassigned_alert_secs else {
        return Ok(Vec::new());
    };
    let before = now - secs.saturating_mul(1000);
    let due = convs::list_unalerted_unassigned(conn, before, WATCH_BATCH)?;
    for &(id, since) in &due {
        convs::update_unassigned_alerted(conn, id)?;
        events::insert_event(
            conn,
            Some(id),
            &Event::UnassignedAlert(UnassignedAlert {
                waiting_since: Ts(since),
                after_secs: (now - since) / 1000,
            }),
            None,
            now,
        )?;
    }
    Ok(due.into_iter().map(|(id, _)| id).collect())
}

/// Takes back every open conversation whose assignee left its waiting customer unanswered for
/// `take_back_secs` (counted from the later of the customer's wait and the assignment): it goes
/// to its team's pool (the general pool without a team) through the one assignment writer, then
/// `conversation.taken_back` says why. Answers those taken back.
///
/// # Errors
/// Store errors only.
pub fn take_back(conn: &Connection, settings: &Settings, now: i64) -> Result<Vec<ConversationId>> {
    let Some(secs) = settings.take_back_secs else {
        return Ok(Vec::new());
    };
    let before = now - secs.saturating_mul(1000);
    let due = convs::list_ignored_assigned(conn, before, WATCH_BATCH)?;
    for d in &due {
        let (id, owner) = (d.id, d.assignee);
        write_assignment(
            conn,
            id,
            &Assignment {
                from: Some(owner),
                to: None,
                team: d.team,
                note: None,
                actor: None,
                claim: false,
            },
            now,
        )?;
        events::insert_event(
            conn,
            Some(id),
            &Event::TakenBack(TakenBack {
                from: named_user(conn, Some(owner))?,
                after_secs: (now - d.since) / 1000,
            }),
            None,
            now,
        )?;
    }
    Ok(due.into_iter().map(|d| d.id).collect())
}
