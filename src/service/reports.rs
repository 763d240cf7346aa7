//! Reports (#11): the period summary of `GET /api/v1/reports/summary` and the Reports page, and
//! the live queue of the Now board (`GET /api/v1/reports/now`). Definitions: `shared/API.md`
//! ("Metrics", "Reports: exports and the live board"); [`DEFINITIONS`] says them in words, and
//! the page shows them.
//!
//! Every time figure is computed from a *cohort*: the cycles that started in the period.

use rusqlite::Connection;
use serde::Serialize;

pub use super::reports_summary::summary;
use super::{Error, Result, bad_request, require};
use crate::domain::events::Named;
use crate::domain::metrics::Stats;
use crate::domain::policy::{Actor, Capability};
use crate::domain::time::{Ts, parse_date_or_rfc3339, parse_rfc3339};
use crate::domain::{ChannelId, TeamId, UserId, UserStatus};
use crate::store::reports::{self as store, Filter};
use crate::store::teams;

/// Longest period a report covers: 400 days, in ms.
pub const MAX_PERIOD_MS: i64 = 400 * 86_400_000;
/// Period when `from` is not given: the 30 days before `to`, in ms.
pub const DEFAULT_PERIOD_MS: i64 = 30 * 86_400_000;

/// How each figure is computed, in the words the Reports page shows: (figure, formula).
pub const DEFINITIONS: &[(&str, &str)] = &[
    (
        "Cycle",
        "From a customer's first message (of a new conversation, or after a resolve) to its resolution. The report covers the cycles that started in the period.",
    ),
    (
        "First response time",
        "First customer-visible message written by staff − first customer message of the cycle. Notes and automated messages never count. Median, mean and 90th percentile (nearest rank) over cycles answered before the end of the period.",
    ),
    (
        "Reply time",
        "For every staff message sent in the period while the customer was waiting: its time − the oldest unanswered customer message.",
    ),
    (
        "Resolution time",
        "Resolved − cycle start, over cycles resolved before the end of the period.",
    ),
    (
        "Resolution rate",
        "Cycles resolved (before the end of the period) ÷ cycles started in the period.",
    ),
    (
        "Conversations per agent",
        "Distinct conversations claimed by, assigned or transferred to the agent in the period.",
    ),
    (
        "Messages per agent",
        "Customer-visible messages the agent sent in the period.",
    ),
    (
        "Resolved per agent",
        "Cycles of the period that the agent resolved.",
    ),
    (
        "SLA met",
        "Of the cycles an SLA policy applied to, the share where no target (first response, next response, resolution) breached. A cycle counts for the agent who resolved it, or while unresolved for its assignee.",
    ),
    (
        "CSAT",
        "Answers (1–5) to the satisfaction question on the period's resolved cycles: count and mean; per agent, for the agent who resolved the cycle.",
    ),
    (
        "Business hours",
        "With business hours set, the same times counted only while the shop is open (holidays closed), in the shop's time zone.",
    ),
    (
        "Trend and busiest hours",
        "Cycles started (and resolved) per day, and cycles started per weekday and hour, in the shop's time zone.",
    ),
];

/// The query of a report, as given (strings from the URL).
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// `YYYY-MM-DD` (that day's start, UTC) or RFC 3339; default `to` − 30 days.
    pub from: Option<String>,
    /// `YYYY-MM-DD` (the end of that day, UTC) or RFC 3339; default now.
    pub to: Option<String>,
    /// One team.
    pub team: Option<i64>,
    /// One agent.
    pub agent: Option<i64>,
    /// One channel.
    pub channel: Option<i64>,
}

impl Query {
    /// The store filter of this query at `now` (UTC ms).
    ///
    /// # Errors
    /// 400 `invalid_period` for a date that does not parse, `to` before `from` or a period over
    /// 400 days; 422 `unknown_team` for a team that does not exist.
    pub fn filter(&self, conn: &Connection, now: i64) -> Result<Filter> {
        fn blank(s: &Option<String>) -> Option<&str> {
            s.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let to = match blank(&self.to) {
            None => now,
            // A bare date names a whole day: up to the start of the next.
            Some(s) if parse_rfc3339(s).is_none() => parse_date_or_rfc3339(s)
                .map(|d| d + 86_400_000)
                .ok_or_else(|| period("`to` is not a date (YYYY-MM-DD) or an RFC 3339 time"))?,
            Some(s) => parse_rfc3339(s).unwrap_or(now),
        };
        let from = match blank(&self.from) {
            None => to - DEFAULT_PERIOD_MS,
            Some(s) => parse_date_or_rfc3339(s)
                .ok_or_else(|| period("`from` is not a date (YYYY-MM-DD) or an RFC 3339 time"))?,
        };
        if to <= from {
            return Err(period("`to` must be after `from`"));
        }
        if to - from > MAX_PERIOD_MS {
            return Err(period("a report covers at most 400 days"));
        }
        if let Some(t) = self.team
            && teams::find_team(conn, TeamId(t))?.is_none()
        {
            return Err(super::invalid("unknown_team", "no such team"));
        }
        Ok(Filter {
            from,
            to,
            team: self.team.map(TeamId),
            agent: self.agent.map(UserId),
            channel: self.channel.map(ChannelId),
        })
    }
}

fn period(message: &str) -> Error {
    bad_request("invalid_period", message)
}

/// 403 unless `actor` may see reports (managers and owners).
///
/// # Errors
/// 403 `forbidden` for agents.
pub fn check(actor: &Actor) -> Result<()> {
    require(actor.role, Capability::SeeReports)
}

/// `{"user","open"}` of the queue's `open_by_agent`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OpenByAgent {
    /// Who.
    pub user: Named,
    /// Unresolved conversations they own.
    pub open: i64,
}

/// The queue now: `queue` of the summary and of `GET /api/v1/reports/now`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Queue {
    /// Unassigned, unresolved conversations.
    pub unassigned: i64,
    /// Seconds the longest-waiting of them has waited (null when none waits).
    pub oldest_unassigned_secs: Option<i64>,
    /// Per staff member holding any.
    pub open_by_agent: Vec<OpenByAgent>,
    /// Conversations with an SLA target warned but not breached.
    pub sla_at_risk: i64,
    /// Conversations with an SLA target breached and still running.
    pub sla_breached: i64,
}

/// One row of the Now board.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AgentNow {
    /// Who.
    pub user: Named,
    /// Availability.
    pub status: UserStatus,
    /// Unresolved conversations they own.
    pub open: i64,
    /// Of those, waiting on us (`open` status).
    pub waiting_on_us: i64,
    /// Seconds the longest-waiting customer of theirs has waited.
    pub oldest_waiting_secs: Option<i64>,
    /// Routing capacity (null: no limit).
    pub capacity: Option<i64>,
}

/// `GET /api/v1/reports/now`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NowBoard {
    /// The queue.
    pub queue: Queue,
    /// Every enabled staff member (of the team), by name.
    pub agents: Vec<AgentNow>,
}

fn age(since: Option<i64>, now: i64) -> Option<i64> {
    since.map(|s| (now - s).max(0) / 1000)
}

/// The live board at `now` (UTC ms), optionally of one team.
///
/// # Errors
/// Storage errors only.
pub fn now_board(conn: &Connection, team: Option<TeamId>, now: i64) -> Result<NowBoard> {
    let facts = store::find_queue_facts(conn, team)?;
    let loads = store::list_agent_loads(conn, team)?;
    let queue = Queue {
        unassigned: facts.unassigned,
        oldest_unassigned_secs: age(facts.oldest_unassigned_since, now),
        open_by_agent: loads
            .iter()
            .filter(|a| a.open > 0)
            .map(|a| OpenByAgent {
                user: Named {
                    id: a.id,
                    name: a.name.clone(),
                },
                open: a.open,
            })
            .collect(),
        sla_at_risk: facts.sla_at_risk,
        sla_breached: facts.sla_breached,
    };
    let agents = loads
        .into_iter()
        .map(|a| AgentNow {
            user: Named {
                id: a.id,
                name: a.name,
            },
            status: a.status,
            open: a.open,
            waiting_on_us: a.waiting_on_us,
            oldest_waiting_secs: age(a.oldest_waiting_since, now),
            capacity: a.capacity,
        })
        .collect();
    Ok(NowBoard { queue, agents })
}

/// One agent's figures (`per_agent` of the summary, a row of `agents.csv`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AgentFigures {
    /// Who.
    pub user: Named,
    /// Distinct conversations given to them in the period.
    pub conversations: i64,
    /// Customer-visible messages they sent in the period.
    pub messages_sent: i64,
    /// Cycles of the period they resolved.
    pub resolved: i64,
    /// Median first response time of the cycles they answered first (seconds).
    pub first_response_median_secs: Option<i64>,
    /// Share of their SLA-bound cycles with no breach (null: no policy applied).
    pub sla_met_ratio: Option<f64>,
    /// Mean CSAT of the cycles they resolved.
    pub csat_mean: Option<f64>,
    /// CSAT answers on the cycles they resolved.
    pub csat_responses: usize,
}

/// `{"responses","mean"}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Csat {
    /// Answers.
    pub responses: usize,
    /// Mean score (1-5).
    pub mean: Option<f64>,
}

/// The time figures counted in business hours only.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BusinessTimes {
    /// First response time.
    pub first_response_secs: Stats,
    /// Resolution time.
    pub resolution_secs: Stats,
    /// Reply time.
    pub reply_secs: Stats,
}

/// One day of the trend, in the shop's time zone.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Cycles started that day.
    pub started: i64,
    /// Cycles (of the period) resolved that day.
    pub resolved: i64,
}

/// `GET /api/v1/reports/summary`: the shape of `shared/API.md` plus `csat`, `sla_met_ratio`,
/// `business_hours`, `daily`, `heatmap` and `timezone`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Start of the period.
    pub from: Ts,
    /// End of the period (exclusive).
    pub to: Ts,
    /// First response time.
    pub first_response_secs: Stats,
    /// Resolution time.
    pub resolution_secs: Stats,
    /// Reply time.
    pub reply_secs: Stats,
    /// Cycles that started in the period.
    pub cycles_started: usize,
    /// Of those, resolved before the end of the period.
    pub cycles_resolved: usize,
    /// `cycles_resolved / cycles_started` (null when none started).
    pub resolution_rate: Option<f64>,
    /// Share of SLA-bound cycles with no breach (null: no policy applied).
    pub sla_met_ratio: Option<f64>,
    /// Satisfaction answers.
    pub csat: Csat,
    /// Per agent with any figure, by name.
    pub per_agent: Vec<AgentFigures>,
    /// The queue now.
    pub queue: Queue,
    /// Business-hours variants (null when business hours are not set).
    pub business_hours: Option<BusinessTimes>,
    /// Day by day, shop time.
    pub daily: Vec<Day>,
    /// Cycles started per weekday (Monday first) and hour (0-23), shop time.
    pub heatmap: Vec<[i64; 24]>,
    /// The shop's time zone.
    pub timezone: String,
}
