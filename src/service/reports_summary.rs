//! The period summary of reports (#11): `GET /api/v1/reports/summary`, the Reports page and
//! `agents.csv`. Definitions: `shared/API.md` ("Metrics") and `service::reports::DEFINITIONS`.
//!
//! At size (100k cycles in 90 days) it reads the cycle rows alone — ids, times and the figures
//! migration 020 keeps on them (the business-hours times among them) — and folds them in one
//! pass; names are looked up once per person.

use std::collections::{BTreeMap, HashMap};

use foldhash::fast::FixedState;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rusqlite::Connection;

use super::Result;
use super::reports::{AgentFigures, BusinessTimes, Csat, Day, Queue, Summary, now_board};
use crate::domain::calendar::BusinessCalendar;
use crate::domain::calendar::zone;
use crate::domain::calendar_ruler::BusinessRuler;
use crate::domain::events::Named;
use crate::domain::metrics::{Stats, mean_score, ratio, report_calendar};
use crate::domain::time::Ts;
use crate::store::reports::{self as store, CycleFacts, Filter};
use crate::store::{Reader, settings};

/// Seconds between two UTC ms instants (whole, rounded down).
fn secs(from: i64, to: i64) -> i64 {
    (to - from).max(0) / 1000
}

/// What one person's figures gather while the cycles are read.
#[derive(Default)]
struct Tally {
    resolved: i64,
    first_response: Vec<i64>,
    sla_applied: usize,
    sla_met: usize,
    scores: Vec<i64>,
    messages: i64,
}

/// SLA cycles (applied, met) folded into a ratio.
fn sla_ratio(applied: usize, met: usize) -> Option<f64> {
    ratio(met, applied)
}

/// How far before a period a customer's wait may start and still be measured on the period's
/// [`BusinessRuler`] (earlier ones are counted by the calendar itself): a week, in ms.
const WEEK_MS: i64 = 7 * 86_400_000;

/// A map keyed by ids, hashed with foldhash (SipHash took a tenth of a 90-day report).
type IdMap<K, V> = HashMap<K, V, FixedState>;

/// What a summary reads besides the cycles: the staff replies of the period (folded), the
/// conversations given to each agent, and the queue now — one share of the work, for a second
/// reader.
struct Aside {
    /// Customer-visible messages sent, per author.
    messages: IdMap<i64, i64>,
    /// Reply times (seconds), the customer waiting since to the reply.
    reply: Stats,
    /// The same in business hours, when the shop has them.
    reply_business: Stats,
    /// (agent, distinct conversations given to them).
    assigned: Vec<(i64, i64)>,
    /// The queue now.
    queue: Queue,
}

impl Aside {
    /// Reads and folds it all, the statistics too (sorting is a share of the work).
    fn read(
        conn: &Connection,
        f: &Filter,
        calendar: Option<&BusinessCalendar>,
        now: i64,
    ) -> Result<Self> {
        let mut messages = IdMap::default();
        let (mut reply, mut reply_business) = (Vec::new(), Vec::new());
        // Customers waiting since up to a week before the period are on the ruler too.
        let ruler =
            calendar.map(|c| BusinessRuler::new(c, f.from.saturating_sub(WEEK_MS), f.to, 800));
        store::fold_replies(conn, f, |who, at, from| {
            *messages.entry(who).or_default() += 1;
            if let Some(from) = from {
                reply.push(secs(from, at));
                if let Some(r) = &ruler {
                    reply_business.push(r.elapsed_secs(from, at));
                }
            }
        })?;
        Ok(Aside {
            messages,
            reply: Stats::of(reply),
            reply_business: Stats::of(reply_business),
            assigned: store::list_assigned_counts(conn, f)?,
            queue: now_board(conn, f.team, now)?.queue,
        })
    }
}

/// The summary of `filter` at `now`. With a `spare` reader, the staff replies, the conversations
/// given to each agent and the queue now are read on it, on a second thread, while this one
/// reads and folds the cycles (100k conversations in 90 days: ~330k replies and ~100k cycles;
/// 150 ms on two readers against 224 ms on one, release build, idle 2-core machine).
///
/// # Errors
/// Storage errors only.
pub fn summary(conn: &Connection, spare: Option<Reader>, f: &Filter, now: i64) -> Result<Summary> {
    let s = settings::load_settings(conn)?;
    let tz = zone(&s.timezone).unwrap_or(TimeZone::UTC);
    let calendar = report_calendar(&s);
    let (cycles, aside) = std::thread::scope(|scope| {
        let calendar = calendar.as_ref();
        let aside = spare.map(|c| scope.spawn(move || Aside::read(&c, f, calendar, now)));
        let cycles = store::list_cycle_facts(conn, f);
        let aside = match aside {
            Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            None => Aside::read(conn, f, calendar, now),
        };
        Ok::<_, super::Error>((cycles?, aside?))
    })?;

    let answered = |y: &CycleFacts| y.first_response_at.filter(|t| *t < f.to);
    let resolved = |y: &CycleFacts| y.resolved_at.filter(|t| *t < f.to);
    // A row's stored business-hours times, or (not written yet) the same computed now.
    // (`store::cycles::business_secs` writes `elapsed_secs` from the start too.)
    let business = |stored: Option<i64>, y: &CycleFacts, end: i64| {
        calendar
            .as_ref()
            .map(|c| stored.unwrap_or_else(|| c.elapsed_secs(y.started_at, end)))
    };

    let mut frt = Vec::new();
    let mut res = Vec::new();
    let (mut frt_business, mut res_business) = (Vec::new(), Vec::new());
    let (mut sla_applied, mut sla_met) = (0, 0);
    let mut all_scores = Vec::new();
    let mut tally: IdMap<i64, Tally> = IdMap::default();
    for y in &cycles {
        // Everyone a cycle names has a row, figures or not.
        for id in [y.first_responder, y.resolver, y.agent]
            .into_iter()
            .flatten()
        {
            tally.entry(id).or_default();
        }
        if let Some(t) = answered(y) {
            let v = secs(y.started_at, t);
            frt.push(v);
            if let Some(who) = y.first_responder {
                tally.entry(who).or_default().first_response.push(v);
            }
            frt_business.extend(business(y.first_response_business_secs, y, t));
        }
        if let Some(t) = resolved(y) {
            res.push(secs(y.started_at, t));
            res_business.extend(business(y.resolution_business_secs, y, t));
            if let Some(score) = y.csat {
                all_scores.push(score);
            }
            if let Some(who) = y.resolver {
                let t = tally.entry(who).or_default();
                t.resolved += 1;
                t.scores.extend(y.csat);
            }
        }
        if y.sla_applied {
            sla_applied += 1;
            sla_met += usize::from(!y.sla_breached);
            if let Some(who) = y.agent {
                let t = tally.entry(who).or_default();
                t.sla_applied += 1;
                t.sla_met += usize::from(!y.sla_breached);
            }
        }
    }
    for (who, n) in &aside.messages {
        tally.entry(*who).or_default().messages += n;
    }
    let conversations: IdMap<i64, i64> = aside.assigned.iter().copied().collect();
    for id in conversations.keys() {
        tally.entry(*id).or_default();
    }
    let business_hours = calendar.as_ref().map(|_| BusinessTimes {
        first_response_secs: Stats::of(frt_business),
        resolution_secs: Stats::of(res_business),
        reply_secs: aside.reply_business,
    });

    // Cycles an agent resolved may have been answered first by someone else: one agent's
    // report lists that agent only.
    let names = if tally.is_empty() {
        std::collections::HashMap::new()
    } else {
        store::list_user_names(conn)?
    };
    let mut per_agent: Vec<AgentFigures> = tally
        .into_iter()
        .filter(|(id, _)| f.agent.is_none_or(|a| a.0 == *id))
        .map(|(id, t)| AgentFigures {
            user: Named {
                id,
                name: names.get(&id).cloned().unwrap_or_default(),
            },
            conversations: conversations.get(&id).copied().unwrap_or(0),
            messages_sent: t.messages,
            resolved: t.resolved,
            first_response_median_secs: Stats::of(t.first_response).median,
            sla_met_ratio: sla_ratio(t.sla_applied, t.sla_met),
            csat_mean: mean_score(&t.scores),
            csat_responses: t.scores.len(),
        })
        .collect();
    per_agent.sort_by(|a, b| {
        a.user
            .name
            .cmp(&b.user.name)
            .then(a.user.id.cmp(&b.user.id))
    });

    let cycles_resolved = res.len();
    let mut clock = LocalClock::new(&tz);
    Ok(Summary {
        from: Ts(f.from),
        to: Ts(f.to),
        first_response_secs: Stats::of(frt),
        resolution_secs: Stats::of(res),
        reply_secs: aside.reply,
        cycles_started: cycles.len(),
        cycles_resolved,
        resolution_rate: ratio(cycles_resolved, cycles.len()),
        sla_met_ratio: sla_ratio(sla_applied, sla_met),
        csat: Csat {
            responses: all_scores.len(),
            mean: mean_score(&all_scores),
        },
        per_agent,
        queue: aside.queue,
        business_hours,
        daily: daily(&cycles, f, &mut clock),
        heatmap: heatmap(&cycles, &mut clock),
        timezone: s.timezone,
    })
}

/// Civil (date, weekday Monday = 0, hour) of UTC ms instants in one zone, remembered per
/// 15-minute span of UTC: a span with the same UTC offset and the same civil date and hour at
/// both ends has them throughout (local time runs straight within it); any other span (a
/// zone change inside it) is worked out instant by instant. 100k cycles of 90 days fall into
/// at most ~8.6k spans.
struct LocalClock<'a> {
    tz: &'a TimeZone,
    spans: IdMap<i64, Option<(Date, usize, usize)>>,
}

/// UTC ms in one span of [`LocalClock`].
const SPAN_MS: i64 = 15 * 60_000;

impl<'a> LocalClock<'a> {
    fn new(tz: &'a TimeZone) -> Self {
        LocalClock {
            tz,
            spans: IdMap::default(),
        }
    }

    fn exact(&self, ms: i64) -> Option<(Date, usize, usize, i32)> {
        let ts = Timestamp::from_millisecond(ms).ok()?;
        let z = jiff::ZonedDateTime::new(ts, self.tz.clone());
        let day = usize::from(z.weekday().to_monday_zero_offset().unsigned_abs());
        let hour = usize::from(z.hour().unsigned_abs());
        Some((z.date(), day.min(6), hour.min(23), z.offset().seconds()))
    }

    fn at(&mut self, ms: i64) -> Option<(Date, usize, usize)> {
        let span = ms.div_euclid(SPAN_MS);
        let known = match self.spans.get(&span) {
            Some(k) => *k,
            None => {
                let (a, b) = (
                    self.exact(span * SPAN_MS),
                    self.exact(span * SPAN_MS + SPAN_MS - 1),
                );
                let whole = match (a, b) {
                    (Some(a), Some(b)) if a == b => Some((a.0, a.1, a.2)),
                    _ => None,
                };
                self.spans.insert(span, whole);
                whole
            }
        };
        known.or_else(|| self.exact(ms).map(|(d, w, h, _)| (d, w, h)))
    }
}

/// Cycles started and resolved per civil day from `from` to `to` (every day listed, at most
/// 400).
fn daily(cycles: &[CycleFacts], f: &Filter, clock: &mut LocalClock) -> Vec<Day> {
    let (Some(first), Some(last)) = (clock.at(f.from), clock.at(f.to - 1)) else {
        return Vec::new();
    };
    let mut days: BTreeMap<Date, (i64, i64)> = BTreeMap::new();
    let mut d = first.0;
    while d <= last.0 && days.len() < 400 {
        days.insert(d, (0, 0));
        match d.tomorrow() {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    for y in cycles {
        if let Some((date, ..)) = clock.at(y.started_at)
            && let Some(e) = days.get_mut(&date)
        {
            e.0 += 1;
        }
        if let Some(r) = y.resolved_at.filter(|r| *r < f.to)
            && let Some((date, ..)) = clock.at(r)
            && let Some(e) = days.get_mut(&date)
        {
            e.1 += 1;
        }
    }
    days.into_iter()
        .map(|(d, (started, resolved))| Day {
            date: d.to_string(),
            started,
            resolved,
        })
        .collect()
}

/// Cycles started per weekday (Monday = row 0) and hour, in the clock's zone.
fn heatmap(cycles: &[CycleFacts], clock: &mut LocalClock) -> Vec<[i64; 24]> {
    let mut grid = vec![[0i64; 24]; 7];
    for y in cycles {
        if let Some((_, day, hour)) = clock.at(y.started_at) {
            grid[day][hour] += 1;
        }
    }
    grid
}
