//! SLA rules: which policy covers a conversation, when each target (first response, next
//! response, resolution) warns and breaches, and what a scheduler tick fires. Due times are
//! counted on the shop's [`BusinessCalendar`] when the policy says so. The contract is
//! `shared/API.md` ("SLA policy choice", `sla.warning` / `sla.breached`).

use serde::{Deserialize, Serialize};

use super::calendar::BusinessCalendar;
use super::{Priority, TeamId};

/// One SLA policy as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Its id.
    pub id: i64,
    /// A name people recognise ("Support, urgent").
    pub name: String,
    /// Only conversations of this team (`None` = any team, or none).
    pub team_id: Option<i64>,
    /// Only conversations of this priority (`None` = any).
    pub priority: Option<Priority>,
    /// Seconds from the start of a cycle to the first staff reply.
    pub first_response_secs: Option<i64>,
    /// Seconds from a customer message that waits on us to the next staff reply.
    pub next_response_secs: Option<i64>,
    /// Seconds from the start of a cycle to resolved.
    pub resolution_secs: Option<i64>,
    /// The share of a target after which it warns (0 < warn_at < 1; API default 0.8).
    pub warn_at: f64,
    /// Count only the shop's business hours.
    pub business_hours: bool,
    /// Stop the resolution clock while the conversation waits on the customer (default true).
    pub pause_when_pending: bool,
}

/// The three targets of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// First staff reply of a cycle.
    FirstResponse,
    /// Staff reply to a customer who wrote again.
    NextResponse,
    /// Resolved.
    Resolution,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 3] = [
        Target::FirstResponse,
        Target::NextResponse,
        Target::Resolution,
    ];

    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::FirstResponse => "first_response",
            Target::NextResponse => "next_response",
            Target::Resolution => "resolution",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl Policy {
    /// The target's length in seconds, if the policy sets it.
    pub fn secs(&self, t: Target) -> Option<i64> {
        match t {
            Target::FirstResponse => self.first_response_secs,
            Target::NextResponse => self.next_response_secs,
            Target::Resolution => self.resolution_secs,
        }
    }

    /// How specific the policy is for a conversation of `team` and `priority`: `None` when it
    /// does not cover it; higher wins (team and priority 3, team 2, priority 1, neither 0).
    fn rank(&self, team: Option<TeamId>, priority: Option<Priority>) -> Option<u8> {
        let team_ok = self.team_id.is_none_or(|t| team.is_some_and(|c| c.0 == t));
        let prio_ok = self.priority.is_none_or(|p| priority == Some(p));
        (team_ok && prio_ok)
            .then_some(u8::from(self.team_id.is_some()) * 2 + u8::from(self.priority.is_some()))
    }

    /// When a target started at `start_ms` warns and falls due, `(warn_at, due_at)` in UTC ms,
    /// after `consumed_secs` of it were already used (a paused resolution clock), counting
    /// business time when the policy says so. `None` when the policy has no such target or the
    /// calendar never opens.
    pub fn clock(
        &self,
        t: Target,
        cal: &BusinessCalendar,
        start_ms: i64,
        consumed_secs: i64,
    ) -> Option<(i64, i64)> {
        let total = self.secs(t)?;
        let warn_total = (total as f64 * self.warn_at).floor() as i64;
        let left = |secs: i64| (secs - consumed_secs).max(0);
        if self.business_hours {
            Some((
                cal.due(start_ms, left(warn_total))?,
                cal.due(start_ms, left(total))?,
            ))
        } else {
            Some((
                start_ms + left(warn_total) * 1000,
                start_ms + left(total) * 1000,
            ))
        }
    }

    /// Seconds of this target's clock between two instants (business or wall time).
    pub fn elapsed_secs(&self, cal: &BusinessCalendar, from_ms: i64, to_ms: i64) -> i64 {
        if self.business_hours {
            cal.elapsed_secs(from_ms, to_ms)
        } else {
            ((to_ms - from_ms) / 1000).max(0)
        }
    }
}

/// The policy that covers a conversation: the most specific one (team and priority, then team,
/// then priority, then a policy with neither, which also covers conversations with no team);
/// among equals the lowest id.
pub fn choose_policy(
    policies: &[Policy],
    team: Option<TeamId>,
    priority: Option<Priority>,
) -> Option<&Policy> {
    policies
        .iter()
        .filter_map(|p| p.rank(team, priority).map(|r| (r, p)))
        .max_by(|(ra, a), (rb, b)| ra.cmp(rb).then(b.id.cmp(&a.id)))
        .map(|(_, p)| p)
}

/// One running SLA clock as the scheduler keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    /// Which target.
    pub target: Target,
    /// When it warns (UTC ms).
    pub warn_at: i64,
    /// When it breaches (UTC ms).
    pub due_at: i64,
    /// The warning was sent.
    pub warned: bool,
    /// The breach was sent.
    pub breached: bool,
}

/// What a tick fires for a timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fire {
    /// `sla.warning`.
    Warning,
    /// `sla.breached`.
    Breached,
}

impl Timer {
    /// What fires at `now_ms`: a breach once it is due (always, once, even after downtime); a
    /// warning once its moment passed, only if the breach has not also passed — a warning that
    /// comes after the breach would say nothing new.
    pub fn fire(&self, now_ms: i64) -> Option<Fire> {
        if self.breached {
            None
        } else if now_ms >= self.due_at {
            Some(Fire::Breached)
        } else if !self.warned && now_ms >= self.warn_at {
            Some(Fire::Warning)
        } else {
            None
        }
    }

    /// The next moment this timer needs a tick (UTC ms), or `None` when it is finished.
    pub fn next_at(&self) -> Option<i64> {
        match (self.warned, self.breached) {
            (_, true) => None,
            (false, false) => Some(self.warn_at),
            (true, false) => Some(self.due_at),
        }
    }
}

/// The state the queue and the conversation JSON show for a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Running, before its warning.
    Running,
    /// Past its warning, not yet due ("at risk").
    AtRisk,
    /// Past due.
    Breached,
    /// Paused (resolution while waiting on the customer).
    Paused,
    /// Done in time.
    Met,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn policy(id: i64, team: Option<i64>, priority: Option<Priority>) -> Policy {
        Policy {
            id,
            name: format!("p{id}"),
            team_id: team,
            priority,
            first_response_secs: Some(600),
            next_response_secs: Some(1200),
            resolution_secs: Some(3600),
            warn_at: 0.8,
            business_hours: false,
            pause_when_pending: true,
        }
    }

    #[test]
    fn the_most_specific_policy_wins() {
        use Priority::*;
        let all = vec![
            policy(1, None, None),
            policy(2, Some(7), None),
            policy(3, None, Some(Urgent)),
            policy(4, Some(7), Some(Urgent)),
            policy(5, Some(7), None), // same rank as 2: the lower id wins
        ];
        // (what, team, priority, expected)
        let cases = [
            ("team and priority", Some(7), Some(Urgent), Some(4)),
            ("team", Some(7), Some(Low), Some(2)),
            ("team, no priority", Some(7), None, Some(2)),
            ("priority, other team", Some(8), Some(Urgent), Some(3)),
            ("neither, other team", Some(8), Some(High), Some(1)),
            ("no team", None, None, Some(1)),
            ("no team, urgent", None, Some(Urgent), Some(3)),
        ];
        for (what, team, prio, want) in cases {
            let got = choose_policy(&all, team.map(TeamId), prio).map(|p| p.id);
            assert_eq!(got, want, "{what}");
        }
        assert!(
            choose_policy(&all[1..2], None, None).is_none(),
            "a team policy never covers no team"
        );
    }

    #[test]
    fn clocks_in_wall_and_business_time() {
        let p = policy(1, None, None);
        let cal = BusinessCalendar::always_open(jiff::tz::TimeZone::UTC);
        assert_eq!(
            p.clock(Target::FirstResponse, &cal, 1_000, 0),
            Some((481_000, 601_000))
        );
        assert_eq!(
            p.clock(Target::Resolution, &cal, 0, 3000),
            Some((0, 600_000)),
            "paused time counts"
        );
        let mut hours = BTreeMap::new();
        hours.insert(
            "mon".to_string(),
            vec![["09:00".to_string(), "10:00".to_string()]],
        );
        let cal = BusinessCalendar::new("UTC", &hours, &[]).expect("calendar");
        let business = Policy {
            business_hours: true,
            ..p.clone()
        };
        // Monday 2026-11-30 09:55 UTC + 10 minutes of business time → Monday 2026-12-07 09:05.
        let start = 1_796_032_500_000;
        let (warn, due) = business
            .clock(Target::FirstResponse, &cal, start, 0)
            .expect("clock");
        assert_eq!(due, 1_796_634_300_000);
        assert_eq!(
            warn, 1_796_634_180_000,
            "8 minutes in: 5 on the first monday, 3 on the next"
        );
        assert_eq!(business.elapsed_secs(&cal, start, due), 600);
        assert_eq!(
            Policy {
                next_response_secs: None,
                ..p
            }
            .clock(Target::NextResponse, &cal, 0, 0),
            None
        );
    }

    #[test]
    fn a_tick_fires_each_moment_once() {
        let t = |warned, breached| Timer {
            target: Target::FirstResponse,
            warn_at: 80,
            due_at: 100,
            warned,
            breached,
        };
        // (what, timer, now, fires)
        let cases = [
            ("before the warning", t(false, false), 79, None),
            ("warning", t(false, false), 80, Some(Fire::Warning)),
            ("warned, not due", t(true, false), 99, None),
            ("due", t(true, false), 100, Some(Fire::Breached)),
            (
                "down past both: only the breach",
                t(false, false),
                150,
                Some(Fire::Breached),
            ),
            ("breached: nothing more", t(true, true), 1_000, None),
            (
                "breached without warning: nothing more",
                t(false, true),
                1_000,
                None,
            ),
        ];
        for (what, timer, now, want) in cases {
            assert_eq!(timer.fire(now), want, "{what}");
        }
        assert_eq!(t(false, false).next_at(), Some(80));
        assert_eq!(t(true, false).next_at(), Some(100));
        assert_eq!(t(true, true).next_at(), None);
    }
}
