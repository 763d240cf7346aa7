//! Report queries: cycles, staff replies and assignments of a period, the live queue, and the
//! CSAT writer. Every query reads precomputed rows (cycles, `staff_replies`) through an index on
//! time; none scans messages.

use std::collections::HashSet;

use foldhash::fast::FixedState;
use rusqlite::{Connection, params};

use super::Result;
use crate::domain::events::kind;
use crate::domain::{ChannelId, TeamId, UserId, UserStatus};

/// Which facts a report covers: `[from, to)` in UTC ms, optionally one team, agent, channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filter {
    /// Start, inclusive (UTC ms).
    pub from: i64,
    /// End, exclusive (UTC ms).
    pub to: i64,
    /// Only conversations of this team (their current team).
    pub team: Option<TeamId>,
    /// Only this agent's share (see each query).
    pub agent: Option<UserId>,
    /// Only conversations of this channel.
    pub channel: Option<ChannelId>,
}

/// One cycle as reports and the cycles CSV read it. Times are UTC ms.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleRow {
    /// Cycle id.
    pub id: i64,
    /// Its conversation.
    pub conversation_id: i64,
    /// Contact name.
    pub contact: String,
    /// Channel name.
    pub channel: String,
    /// Current team name of the conversation.
    pub team: Option<String>,
    /// First customer message of the cycle.
    pub started_at: i64,
    /// First customer-visible staff message.
    pub first_response_at: Option<i64>,
    /// Who sent it: (id, name).
    pub first_responder: Option<(i64, String)>,
    /// Resolution.
    pub resolved_at: Option<i64>,
    /// Who resolved it: (id, name).
    pub resolver: Option<(i64, String)>,
    /// The agent the cycle counts for: its resolver, else the conversation's assignee now.
    pub agent: Option<(i64, String)>,
    /// Whether an SLA policy ran a clock for the cycle.
    pub sla_applied: bool,
    /// Whether any of its SLA clocks breached.
    pub sla_breached: bool,
    /// The customer's satisfaction answer, 1-5.
    pub csat: Option<i64>,
}

const SCOPE: &str = "(?3 IS NULL OR c.team_id = ?3) AND (?4 IS NULL OR c.channel_id = ?4)";

impl Filter {
    /// The parameters every period query here binds: `?1` from, `?2` to, `?3` team, `?4`
    /// channel, `?5` agent.
    fn binds(&self) -> (i64, i64, Option<i64>, Option<i64>, Option<i64>) {
        (
            self.from,
            self.to,
            self.team.map(|t| t.0),
            self.channel.map(|c| c.0),
            self.agent.map(|a| a.0),
        )
    }
}

/// `AND EXISTS (...)` keeping rows whose conversation (`column` holds its id) is of the
/// filter's team and channel; empty when neither is asked for, so the row's own index is all
/// that is read.
fn conversation_scope(f: &Filter, column: &str) -> String {
    if f.team.is_some() || f.channel.is_some() {
        format!("AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = {column} AND {SCOPE})")
    } else {
        String::new()
    }
}

/// Cycles that started in the period, oldest first. With an agent filter, only the cycles that
/// count for that agent ([`CycleRow::agent`]).
pub fn list_cycles(conn: &Connection, f: &Filter) -> Result<Vec<CycleRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT y.id, y.conversation_id, k.name, ch.name, t.name, y.started_at, y.first_response_at,
                fr.id, fr.name, y.resolved_at, rb.id, rb.name, ag.id, ag.name,
                y.sla_applied, y.sla_breached, y.csat_score
           FROM cycles y
           JOIN conversations c ON c.id = y.conversation_id
           JOIN contacts k ON k.id = c.contact_id
           JOIN channels ch ON ch.id = c.channel_id
           LEFT JOIN teams t ON t.id = c.team_id
           LEFT JOIN users fr ON fr.id = y.first_responder_id
           LEFT JOIN users rb ON rb.id = y.resolved_by
           LEFT JOIN users ag ON ag.id = COALESCE(y.resolved_by, c.assignee_id)
          WHERE y.started_at >= ?1 AND y.started_at < ?2 AND {SCOPE}
            AND (?5 IS NULL OR ag.id = ?5)
          ORDER BY y.started_at, y.id"
    ))?;
    let pair = |id: Option<i64>, name: Option<String>| id.zip(name);
    let rows = st.query_map(f.binds(), |r| {
        Ok(CycleRow {
            id: r.get(0)?,
            conversation_id: r.get(1)?,
            contact: r.get(2)?,
            channel: r.get(3)?,
            team: r.get(4)?,
            started_at: r.get(5)?,
            first_response_at: r.get(6)?,
            first_responder: pair(r.get(7)?, r.get(8)?),
            resolved_at: r.get(9)?,
            resolver: pair(r.get(10)?, r.get(11)?),
            agent: pair(r.get(12)?, r.get(13)?),
            sla_applied: r.get::<_, i64>(14)? != 0,
            sla_breached: r.get::<_, i64>(15)? != 0,
            csat: r.get(16)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What the summary reads of one cycle: ids and UTC ms only, straight from the cycle row
/// (migration 020 keeps the conversation's channel, team and assignee on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleFacts {
    /// First customer message of the cycle.
    pub started_at: i64,
    /// First customer-visible staff message.
    pub first_response_at: Option<i64>,
    /// Who sent it (user id).
    pub first_responder: Option<i64>,
    /// Resolution.
    pub resolved_at: Option<i64>,
    /// Who resolved it (user id).
    pub resolver: Option<i64>,
    /// The agent the cycle counts for: its resolver, else the conversation's assignee now.
    pub agent: Option<i64>,
    /// Whether an SLA policy ran a clock for the cycle.
    pub sla_applied: bool,
    /// Whether any of its SLA clocks breached.
    pub sla_breached: bool,
    /// The customer's satisfaction answer, 1-5.
    pub csat: Option<i64>,
    /// First response time in business hours (whole seconds), when written (see
    /// `cycles::update_business_secs`).
    pub first_response_business_secs: Option<i64>,
    /// Resolution time in business hours (whole seconds), when written.
    pub resolution_business_secs: Option<i64>,
}

/// The facts of the cycles that started in the period (any order): the rows of [`list_cycles`]
/// without names, read from the cycles table alone through its index on `started_at`.
pub fn list_cycle_facts(conn: &Connection, f: &Filter) -> Result<Vec<CycleFacts>> {
    let mut st = conn.prepare_cached(
        "SELECT started_at, first_response_at, first_responder_id, resolved_at, resolved_by,
                COALESCE(resolved_by, assignee_id), sla_applied, sla_breached, csat_score,
                first_response_business_secs, resolution_business_secs
           FROM cycles
          WHERE started_at >= ?1 AND started_at < ?2
            AND (?3 IS NULL OR team_id = ?3) AND (?4 IS NULL OR channel_id = ?4)
            AND (?5 IS NULL OR COALESCE(resolved_by, assignee_id) = ?5)",
    )?;
    let rows = st.query_map(f.binds(), |r| {
        Ok(CycleFacts {
            started_at: r.get(0)?,
            first_response_at: r.get(1)?,
            first_responder: r.get(2)?,
            resolved_at: r.get(3)?,
            resolver: r.get(4)?,
            agent: r.get(5)?,
            sla_applied: r.get::<_, i64>(6)? != 0,
            sla_breached: r.get::<_, i64>(7)? != 0,
            csat: r.get(8)?,
            first_response_business_secs: r.get(9)?,
            resolution_business_secs: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every staff member's name by id (a handful of rows), for the people a report names.
pub fn list_user_names(conn: &Connection) -> Result<std::collections::HashMap<i64, String>> {
    let mut st = conn.prepare_cached("SELECT id, name FROM users")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Calls `each(author, sent at, waiting since)` for every staff message sent in the period
/// (automated messages have no author and are not here), in no particular order; with an agent
/// filter, only theirs. Read from the covering index `staff_replies_period` and folded as it is
/// read (a 90-day report passes ~330k rows at 100k conversations: no list of them is kept); the
/// conversations table only when a team or channel is asked for.
pub fn fold_replies(
    conn: &Connection,
    f: &Filter,
    mut each: impl FnMut(i64, i64, Option<i64>),
) -> Result<()> {
    let scope = conversation_scope(f, "s.conversation_id");
    let mut st = conn.prepare_cached(&format!(
        "SELECT s.user_id, s.at, s.waited_from FROM staff_replies s
          WHERE s.at >= ?1 AND s.at < ?2 AND (?5 IS NULL OR s.user_id = ?5) {scope}"
    ))?;
    let mut rows = st.query(f.binds())?;
    while let Some(r) = rows.next()? {
        each(r.get(0)?, r.get(1)?, r.get(2)?);
    }
    Ok(())
}

/// (agent id, distinct conversations) given to each agent in the period — claimed, assigned or
/// transferred to them: the `assignments` rows that migration 020's triggers keep from the
/// `conversation.claimed` / `conversation.assigned` events, read from their covering index
/// and told apart here (a hash set is cheaper than SQLite's sort for each COUNT(DISTINCT)).
pub fn list_assigned_counts(conn: &Connection, f: &Filter) -> Result<Vec<(i64, i64)>> {
    let scope = conversation_scope(f, "a.conversation_id");
    let mut st = conn.prepare_cached(&format!(
        "SELECT a.user_id, a.conversation_id FROM assignments a
          WHERE a.at >= ?1 AND a.at < ?2 AND (?5 IS NULL OR a.user_id = ?5) {scope}"
    ))?;
    let mut seen: HashSet<(i64, i64), FixedState> = HashSet::default();
    let mut counts: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    let mut rows = st.query(f.binds())?;
    while let Some(r) = rows.next()? {
        let (user, conversation): (i64, i64) = (r.get(0)?, r.get(1)?);
        if seen.insert((user, conversation)) {
            *counts.entry(user).or_default() += 1;
        }
    }
    Ok(counts.into_iter().collect())
}

/// The queue right now (optionally of one team): unassigned unresolved conversations, the
/// oldest customer wait among them (UTC ms), and SLA clocks at risk (warned, not breached) and
/// breached, of conversations not resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFacts {
    /// Unassigned, not resolved.
    pub unassigned: i64,
    /// The earliest `waiting_since` among them.
    pub oldest_unassigned_since: Option<i64>,
    /// Conversations with a warned, unbreached, running clock.
    pub sla_at_risk: i64,
    /// Conversations with a breached clock still running.
    pub sla_breached: i64,
}

/// Reads [`QueueFacts`]: the unassigned queue from the covering index `conv_queue_now`, the
/// SLA counts from the running clocks (`sla_clocks_running`, then each one's conversation).
pub fn find_queue_facts(conn: &Connection, team: Option<TeamId>) -> Result<QueueFacts> {
    let t = team.map(|t| t.0);
    let (unassigned, oldest) = conn
        .prepare_cached(
            "SELECT COUNT(*), MIN(waiting_since) FROM conversations INDEXED BY conv_queue_now
              WHERE assignee_id IS NULL AND status <> 'resolved' AND bot_until IS NULL
                AND (?1 IS NULL OR team_id = ?1)",
        )?
        .query_row([t], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let (at_risk, breached) = conn
        .prepare_cached(
            "SELECT COUNT(DISTINCT CASE WHEN k.breached = 0 AND k.warned = 1 THEN k.conversation_id END),
                    COUNT(DISTINCT CASE WHEN k.breached = 1 THEN k.conversation_id END)
               FROM sla_clocks k INDEXED BY sla_clocks_running
              CROSS JOIN conversations c ON c.id = k.conversation_id
              WHERE k.stopped_at IS NULL AND c.status <> 'resolved' AND (?1 IS NULL OR c.team_id = ?1)",
        )?
        .query_row([t], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(QueueFacts {
        unassigned,
        oldest_unassigned_since: oldest,
        sla_at_risk: at_risk,
        sla_breached: breached,
    })
}

/// One staff member's load now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLoad {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Availability.
    pub status: UserStatus,
    /// Most open conversations routing gives them.
    pub capacity: Option<i64>,
    /// Unresolved conversations they own.
    pub open: i64,
    /// Of those, `open` (waiting on us).
    pub waiting_on_us: i64,
    /// The earliest unanswered customer message among theirs (UTC ms).
    pub oldest_waiting_since: Option<i64>,
}

/// Every enabled staff member (of `team`, when given) with their load, by name. The loads come
/// from one pass over the covering index `conv_owner_load` (migration 020): the unresolved
/// assigned conversations only, never a per-person scan.
pub fn list_agent_loads(conn: &Connection, team: Option<TeamId>) -> Result<Vec<AgentLoad>> {
    let t = team.map(|t| t.0);
    let mut loads: std::collections::HashMap<i64, (i64, i64, Option<i64>)> = conn
        .prepare_cached(
            "SELECT assignee_id, COUNT(*), COUNT(CASE WHEN status = 'open' THEN 1 END),
                    MIN(CASE WHEN status = 'open' THEN waiting_since END)
               FROM conversations INDEXED BY conv_owner_load
              WHERE assignee_id IS NOT NULL AND status <> 'resolved'
                AND (?1 IS NULL OR team_id = ?1)
              GROUP BY assignee_id",
        )?
        .query_map([t], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = conn.prepare_cached(
        "SELECT u.id, u.name, u.status, u.capacity FROM users u
          WHERE u.disabled = 0
            AND (?1 IS NULL OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.team_id = ?1))
          ORDER BY u.name, u.id",
    )?;
    let rows = st.query_map([t], |r| {
        let status: String = r.get(2)?;
        let id: i64 = r.get(0)?;
        let (open, waiting_on_us, oldest_waiting_since) = loads.remove(&id).unwrap_or_default();
        Ok(AgentLoad {
            id,
            name: r.get(1)?,
            status: UserStatus::parse(&status).unwrap_or(UserStatus::Offline),
            capacity: r.get(3)?,
            open,
            waiting_on_us,
            oldest_waiting_since,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records a customer's satisfaction answer (`score` 1-5, at `at` UTC ms) on a resolved cycle;
/// a later answer replaces an earlier one. Answers whether the cycle exists and is resolved.
/// The answer counts for the cycle's resolver.
pub fn update_cycle_csat(conn: &Connection, cycle: i64, score: u8, at: i64) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE cycles SET csat_score = ?2, csat_answered_at = ?3
              WHERE id = ?1 AND resolved_at IS NOT NULL AND ?2 BETWEEN 1 AND 5",
        )?
        .execute(params![cycle, score, at])?;
    Ok(n == 1)
}

/// What `/metrics` reads from the database at a scrape. Times are UTC ms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Operational {
    /// Unassigned, unresolved conversations.
    pub unassigned: i64,
    /// The earliest `waiting_since` among them.
    pub oldest_unassigned_since: Option<i64>,
    /// Outbox rows still to send.
    pub outbox_pending: i64,
    /// Failed outbox rows by the provider's code (`unknown` without one).
    pub outbox_failed: Vec<(String, i64)>,
    /// The oldest WhatsApp webhook received and not processed yet.
    pub oldest_unprocessed_webhook: Option<i64>,
    /// `sla.breached` events ever recorded.
    pub sla_breaches: i64,
    /// Conversations with an SLA target breached and still running.
    pub sla_breached_now: i64,
}

/// Reads [`Operational`] (each figure through an index, no table scan but the failed outbox
/// rows, which a partial index keeps few).
pub fn find_operational(conn: &Connection) -> Result<Operational> {
    let q = find_queue_facts(conn, None)?;
    let outbox_pending = conn
        .prepare_cached("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")?
        .query_row([], |r| r.get(0))?;
    let mut st = conn.prepare_cached(
        "SELECT COALESCE(m.error_code, 'unknown'), COUNT(*) FROM outbox o
           JOIN messages m ON m.id = o.message_id
          WHERE o.state = 'failed' GROUP BY 1 ORDER BY 1",
    )?;
    let outbox_failed = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let oldest_unprocessed_webhook = conn
        .prepare_cached("SELECT MIN(received_at) FROM wa_webhooks WHERE processed_at IS NULL")?
        .query_row([], |r| r.get(0))?;
    let sla_breaches = conn
        .prepare_cached("SELECT COUNT(*) FROM events WHERE kind = ?1")?
        .query_row([kind::SLA_BREACHED], |r| r.get(0))?;
    Ok(Operational {
        unassigned: q.unassigned,
        oldest_unassigned_since: q.oldest_unassigned_since,
        outbox_pending,
        outbox_failed,
        oldest_unprocessed_webhook,
        sla_breaches,
        sla_breached_now: q.sla_breached,
    })
}
