//! Queue figures for the inbox tabs: counts and the oldest wait, read through the same indexes
//! as the views.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params_from_iter};

use super::Result;
use super::conversations::scope_clause;
use crate::domain::UserId;
use crate::domain::policy::Scope;

/// Counts for the tabs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Unassigned, unresolved.
    pub unassigned: i64,
    /// Since when the longest-waiting unassigned conversation waits (ms).
    pub oldest_unassigned: Option<i64>,
    /// Assigned to the viewer, unresolved.
    pub mine: i64,
    /// Waiting on the customer, visible to the viewer.
    pub pending: i64,
}

/// The tab figures for a viewer with `scope`.
pub fn queue_counts(conn: &Connection, scope: &Scope, me: UserId) -> Result<QueueCounts> {
    let mut args: Vec<SqlValue> = Vec::new();
    let clause = scope_clause(scope, &mut args);
    // In the pool nobody is the assignee, so the scope reduces to its team condition; the
    // figures then come from conv_pool alone.
    let pool = match scope {
        Scope::All => Some(String::new()),
        Scope::AssignedTo(_) => None,
        Scope::AssignedToOrPool { teams, .. } => {
            let list = teams
                .iter()
                .map(|t| t.0.to_string())
                .collect::<Vec<_>>()
                .join(",");
            Some(format!(" AND (c.team_id IS NULL OR c.team_id IN ({list}))"))
        }
    };
    let (unassigned, oldest) = match pool {
        None => (0, None),
        Some(team_clause) => conn
            .prepare_cached(&format!(
                "SELECT COUNT(*), MIN(COALESCE(c.waiting_since, c.last_message_at))
                   FROM conversations c INDEXED BY conv_pool
                  WHERE c.assignee_id IS NULL AND c.status <> 'resolved'{team_clause}"
            ))?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?,
    };
    let pending = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM conversations c WHERE c.status = 'pending'{clause}"
        ))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    let mine = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = ?1 AND c.status <> 'resolved'",
        )?
        .query_row([me.0], |r| r.get(0))?;
    Ok(QueueCounts {
        unassigned,
        oldest_unassigned: oldest,
        mine,
        pending,
    })
}
