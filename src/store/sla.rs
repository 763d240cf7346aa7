//! SLA policies and the SLA clocks of conversations.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::Result;
use crate::domain::sla::{Policy, Target};
use crate::domain::{ConversationId, Priority, Status};

const POLICY_COLUMNS: &str = "id, name, team_id, priority, first_response_secs, next_response_secs,
    resolution_secs, warn_at, business_hours, pause_when_pending";

fn map_policy(r: &Row<'_>) -> rusqlite::Result<Policy> {
    let priority: Option<String> = r.get(3)?;
    Ok(Policy {
        id: r.get(0)?,
        name: r.get(1)?,
        team_id: r.get(2)?,
        priority: priority.as_deref().and_then(Priority::parse),
        first_response_secs: r.get(4)?,
        next_response_secs: r.get(5)?,
        resolution_secs: r.get(6)?,
        warn_at: r.get(7)?,
        business_hours: r.get(8)?,
        pause_when_pending: r.get(9)?,
    })
}

/// Every policy, by id.
pub fn list_policies(conn: &Connection) -> Result<Vec<Policy>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {POLICY_COLUMNS} FROM sla_policies ORDER BY id"
    ))?;
    let rows = st.query_map([], map_policy)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One policy.
pub fn find_policy(conn: &Connection, id: i64) -> Result<Option<Policy>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {POLICY_COLUMNS} FROM sla_policies WHERE id = ?1"
        ))?
        .query_row([id], map_policy)
        .optional()?)
}

/// Stores a new policy (its `id` is ignored); answers the id.
pub fn insert_policy(conn: &Connection, p: &Policy, now: i64) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO sla_policies (name, team_id, priority, first_response_secs, next_response_secs,
            resolution_secs, warn_at, business_hours, pause_when_pending, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )?
    .execute(params![
        p.name,
        p.team_id,
        p.priority.map(Priority::as_str),
        p.first_response_secs,
        p.next_response_secs,
        p.resolution_secs,
        p.warn_at,
        p.business_hours,
        p.pause_when_pending,
        now
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Replaces every field of policy `p.id`.
pub fn update_policy(conn: &Connection, p: &Policy, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE sla_policies SET name = ?2, team_id = ?3, priority = ?4, first_response_secs = ?5,
            next_response_secs = ?6, resolution_secs = ?7, warn_at = ?8, business_hours = ?9,
            pause_when_pending = ?10, updated_at = ?11
         WHERE id = ?1",
    )?
    .execute(params![
        p.id,
        p.name,
        p.team_id,
        p.priority.map(Priority::as_str),
        p.first_response_secs,
        p.next_response_secs,
        p.resolution_secs,
        p.warn_at,
        p.business_hours,
        p.pause_when_pending,
        now
    ])?;
    Ok(())
}

/// What the SLA clocks of a conversation follow.
#[derive(Debug, Clone)]
pub struct SlaFacts {
    /// Its status.
    pub status: Status,
    /// Its team.
    pub team_id: Option<i64>,
    /// Its priority.
    pub priority: Option<Priority>,
    /// The current cycle, with its start and first response (UTC ms).
    pub cycle: Option<(i64, i64, Option<i64>)>,
    /// Since when the customer waits on us (UTC ms).
    pub waiting_since: Option<i64>,
}

/// The facts of one conversation, or `None` when it does not exist.
pub fn find_sla_facts(conn: &Connection, id: ConversationId) -> Result<Option<SlaFacts>> {
    Ok(conn
        .prepare_cached(
            "SELECT c.status, c.team_id, c.priority, y.id, y.started_at, y.first_response_at,
                    c.waiting_since
             FROM conversations c LEFT JOIN cycles y ON y.id = c.cycle_id
             WHERE c.id = ?1",
        )?
        .query_row([id.0], |r| {
            let status: String = r.get(0)?;
            let priority: String = r.get(2)?;
            let cycle: Option<i64> = r.get(3)?;
            Ok(SlaFacts {
                status: Status::parse(&status).unwrap_or(Status::Open),
                team_id: r.get(1)?,
                priority: Priority::parse(&priority),
                cycle: match cycle {
                    Some(c) => Some((c, r.get(4)?, r.get(5)?)),
                    None => None,
                },
                waiting_since: r.get(6)?,
            })
        })
        .optional()?)
}

/// One SLA clock as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Clock {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Which target.
    pub target: Target,
    /// The cycle it belongs to.
    pub cycle_id: i64,
    /// The policy that set it.
    pub policy_id: i64,
    /// What the target counts from (UTC ms).
    pub started_at: i64,
    /// Start of the current running stretch (UTC ms).
    pub resumed_at: i64,
    /// Clock seconds used before `resumed_at`.
    pub consumed_secs: i64,
    /// Paused (resolution while waiting on the customer).
    pub paused: bool,
    /// When it warns (UTC ms).
    pub warn_at: i64,
    /// When it is due (UTC ms).
    pub due_at: i64,
    /// `sla.warning` was recorded.
    pub warned: bool,
    /// `sla.breached` was recorded.
    pub breached: bool,
    /// When it stopped (met, or no longer applies).
    pub stopped_at: Option<i64>,
}

impl Clock {
    /// When the scheduler must look at it next: its warning, then its due time; never when
    /// stopped, paused or breached.
    pub fn next_at(&self) -> Option<i64> {
        if self.stopped_at.is_some() || self.paused || self.breached {
            None
        } else if self.warned {
            Some(self.due_at)
        } else {
            Some(self.warn_at)
        }
    }
}

const CLOCK_COLUMNS: &str = "conversation_id, target, cycle_id, policy_id, started_at, resumed_at,
    consumed_secs, paused, warn_at, due_at, warned, breached, stopped_at";

fn map_clock(r: &Row<'_>) -> rusqlite::Result<Clock> {
    let target: String = r.get(1)?;
    Ok(Clock {
        conversation_id: ConversationId(r.get(0)?),
        target: Target::parse(&target).unwrap_or(Target::Resolution),
        cycle_id: r.get(2)?,
        policy_id: r.get(3)?,
        started_at: r.get(4)?,
        resumed_at: r.get(5)?,
        consumed_secs: r.get(6)?,
        paused: r.get(7)?,
        warn_at: r.get(8)?,
        due_at: r.get(9)?,
        warned: r.get(10)?,
        breached: r.get(11)?,
        stopped_at: r.get(12)?,
    })
}

/// The clocks of a conversation (at most one per target).
pub fn list_clocks(conn: &Connection, id: ConversationId) -> Result<Vec<Clock>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {CLOCK_COLUMNS} FROM sla_clocks WHERE conversation_id = ?1 ORDER BY target"
    ))?;
    let rows = st.query_map([id.0], map_clock)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The clocks of the current cycle of each of `ids` (a page of a list): one query, each
/// conversation's clocks found through the primary key (conversation_id, target).
pub fn list_current_clocks(conn: &Connection, ids: &[ConversationId]) -> Result<Vec<Clock>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = serde_json::to_string(&ids.iter().map(|i| i.0).collect::<Vec<_>>())?;
    let columns = CLOCK_COLUMNS
        .split(',')
        .map(|c| format!("k.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut st = conn.prepare_cached(&format!(
        "SELECT {columns} FROM json_each(?1) j
           JOIN sla_clocks k ON k.conversation_id = j.value
           JOIN conversations c ON c.id = k.conversation_id AND c.cycle_id = k.cycle_id"
    ))?;
    let rows = st.query_map([list], map_clock)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Clocks with something to fire at or before `now` (UTC ms), soonest first, at most `limit`.
pub fn list_due_clocks(conn: &Connection, now: i64, limit: i64) -> Result<Vec<Clock>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {CLOCK_COLUMNS} FROM sla_clocks WHERE next_at <= ?1 ORDER BY next_at LIMIT ?2"
    ))?;
    let rows = st.query_map(params![now, limit], map_clock)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Writes a clock (inserting or replacing the one of its conversation and target).
pub fn upsert_clock(conn: &Connection, c: &Clock) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO sla_clocks (conversation_id, target, cycle_id, policy_id, started_at,
            resumed_at, consumed_secs, paused, warn_at, due_at, warned, breached, stopped_at, next_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        c.conversation_id.0,
        c.target.as_str(),
        c.cycle_id,
        c.policy_id,
        c.started_at,
        c.resumed_at,
        c.consumed_secs,
        c.paused,
        c.warn_at,
        c.due_at,
        c.warned,
        c.breached,
        c.stopped_at,
        c.next_at()
    ])?;
    Ok(())
}
