//! SLA: the policies (create, list, change) and the one writer of SLA clocks. [`sync`] derives a
//! conversation's clocks from its state — called in the same transaction by every operation that
//! changes status, cycle, waiting time, first response, team or priority — and [`tick`] records
//! `sla.warning` / `sla.breached` when their moment comes (the scheduler calls it).

use rusqlite::Connection;
use serde_json::{Value, json};

use super::{Error, Result, clean_text, invalid};
use crate::domain::calendar::BusinessCalendar;
use crate::domain::events::{Event, SlaAlert};
use crate::domain::sla::{Fire, Policy, State, Target, Timer, choose_policy};
use crate::domain::time::Ts;
use crate::domain::{ConversationId, Priority, Status, TeamId};
use crate::store::sla::{self as store, Clock, SlaFacts};
use crate::store::{events, teams};

/// Longest SLA target: one year, in seconds.
pub const MAX_TARGET_SECS: i64 = 366 * 24 * 3600;
/// Most SLA clocks one tick handles in one transaction; the rest wait for the next tick.
pub const TICK_BATCH: i64 = 200;

/// What a target should be doing now: `None` when it does not apply, else `(counts from,
/// paused)`.
fn wanted(t: Target, f: &SlaFacts, policy: &Policy) -> Option<(i64, i64, bool)> {
    let (cycle, started, first_response) = f.cycle?;
    if f.status == Status::Resolved || policy.secs(t).is_none() {
        return None;
    }
    match t {
        Target::FirstResponse => first_response.is_none().then_some((cycle, started, false)),
        Target::NextResponse => match (first_response, f.waiting_since) {
            (Some(_), Some(w)) => Some((cycle, w, false)),
            _ => None,
        },
        Target::Resolution => Some((
            cycle,
            started,
            policy.pause_when_pending && f.status == Status::Pending,
        )),
    }
}

/// Brings the SLA clocks of `id` in line with its state at `now` (UTC ms): starts the targets
/// that apply, stops those that no longer do (met or not), pauses and resumes the resolution
/// clock around `pending`, and moves due times when the covering policy changes. Idempotent.
///
/// # Errors
/// Store errors only.
pub fn sync(conn: &Connection, id: ConversationId, now: i64) -> Result<()> {
    let Some(facts) = store::find_sla_facts(conn, id)? else {
        return Ok(());
    };
    let existing = store::list_clocks(conn, id)?;
    let policies = store::list_policies(conn)?;
    let policy = choose_policy(&policies, facts.team_id.map(TeamId), facts.priority);
    if policy.is_none() && existing.iter().all(|c| c.stopped_at.is_some()) {
        return Ok(());
    }
    // The calendar as routing keeps it per config version (settings are validated when
    // written; a zone unknown to this build counts as always open in UTC rather than stopping
    // every SLA clock): no settings read and no calendar built per sync (issue #10).
    let inputs = super::routing_inputs::current(conn)?;
    let cal = &inputs.calendar;
    for target in Target::ALL {
        let old = existing.iter().find(|c| c.target == target);
        let want = policy.and_then(|p| wanted(target, &facts, p).map(|w| (p, w)));
        let next = match (want, old) {
            (None, Some(c)) if c.stopped_at.is_none() => {
                let mut c = c.clone();
                breach_if_late(conn, &mut c, now)?;
                c.stopped_at = Some(now);
                Some(c)
            }
            (None, _) => None,
            (Some((p, (cycle, from, paused))), old) => {
                let same = old.filter(|c| c.cycle_id == cycle && c.started_at == from);
                match same {
                    // The same wait: it ran out already, or keeps running under the same policy.
                    Some(c) if c.stopped_at.is_some() => None,
                    Some(c) if paused && !c.paused => {
                        // Paused at or after its due time: late already.
                        let mut c = c.clone();
                        breach_if_late(conn, &mut c, now)?;
                        running(&c, p, cal, paused, now)
                    }
                    Some(c) => running(c, p, cal, paused, now),
                    None => {
                        let (warn_at, due_at) = p
                            .clock(target, cal, from, 0)
                            .unwrap_or((i64::MAX, i64::MAX));
                        Some(Clock {
                            conversation_id: id,
                            target,
                            cycle_id: cycle,
                            policy_id: p.id,
                            started_at: from,
                            resumed_at: if paused { now } else { from },
                            consumed_secs: if paused {
                                p.elapsed_secs(cal, from, now)
                            } else {
                                0
                            },
                            paused,
                            warn_at,
                            due_at,
                            warned: false,
                            breached: false,
                            stopped_at: None,
                        })
                    }
                }
            }
        };
        if let Some(c) = next
            && Some(&c) != old
        {
            store::upsert_clock(conn, &c)?;
        }
    }
    Ok(())
}

/// A running clock that stops (its target done, or no longer wanted) or pauses (waiting on the
/// customer) at or after its due time, before the scheduler noticed: the breach is recorded
/// now, as the tick would have — the flag and `sla.breached`, once — so a late target is never
/// shown or counted as met. A paused clock is not running late (its due time moves when it
/// resumes).
fn breach_if_late(conn: &Connection, c: &mut Clock, now: i64) -> Result<()> {
    if c.breached || c.paused || now < c.due_at {
        return Ok(());
    }
    c.breached = true;
    let alert = SlaAlert {
        target: c.target,
        due_at: Ts(c.due_at),
    };
    events::insert_event(
        conn,
        Some(c.conversation_id),
        &Event::SlaBreached(alert),
        None,
        now,
    )?;
    Ok(())
}

/// A running clock after a pause, a resume or a change of policy.
fn running(c: &Clock, p: &Policy, cal: &BusinessCalendar, paused: bool, now: i64) -> Option<Clock> {
    let mut c = c.clone();
    if paused && !c.paused {
        c.consumed_secs += p.elapsed_secs(cal, c.resumed_at, now);
        c.paused = true;
    } else if !paused && c.paused {
        c.paused = false;
        c.resumed_at = now;
    }
    if c.policy_id != p.id || !c.paused {
        c.policy_id = p.id;
        let (warn_at, due_at) = p
            .clock(c.target, cal, c.resumed_at, c.consumed_secs)
            .unwrap_or((i64::MAX, i64::MAX));
        c.warn_at = warn_at;
        c.due_at = due_at;
    }
    Some(c)
}

/// Records what is due at `now` (UTC ms): for each clock whose moment came, `sla.warning` or
/// `sla.breached` on its conversation (no actor: the scheduler did it), each once — the flags
/// are written with the event, in the same transaction. Answers how many events were written,
/// at most [`TICK_BATCH`].
///
/// # Errors
/// Store errors only.
pub fn tick(conn: &Connection, now: i64) -> Result<usize> {
    let due = store::list_due_clocks(conn, now, TICK_BATCH)?;
    let mut fired = 0;
    for mut c in due {
        let timer = Timer {
            target: c.target,
            warn_at: c.warn_at,
            due_at: c.due_at,
            warned: c.warned,
            breached: c.breached,
        };
        let alert = SlaAlert {
            target: c.target,
            due_at: Ts(c.due_at),
        };
        let event = match timer.fire(now) {
            Some(Fire::Warning) => {
                c.warned = true;
                Event::SlaWarning(alert)
            }
            Some(Fire::Breached) => {
                c.breached = true;
                Event::SlaBreached(alert)
            }
            None => {
                // Nothing to fire yet (next_at was stale): store the right next moment.
                store::upsert_clock(conn, &c)?;
                continue;
            }
        };
        events::insert_event(conn, Some(c.conversation_id), &event, None, now)?;
        store::upsert_clock(conn, &c)?;
        fired += 1;
    }
    Ok(fired)
}

/// The state of one clock at `now`.
pub fn state(c: &Clock, now: i64) -> State {
    if c.stopped_at.is_some() {
        if c.breached {
            State::Breached
        } else {
            State::Met
        }
    } else if c.paused {
        State::Paused
    } else if c.breached || now >= c.due_at {
        State::Breached
    } else if c.warned || now >= c.warn_at {
        State::AtRisk
    } else {
        State::Running
    }
}

/// The `sla` of a conversation's JSON: `{"policy":{"id","name"},"first_response":{"due_at",
/// "state"}|null,"next_response":…,"resolution":…,"next_due_at"|null,"next":{"target","due_at",
/// "state"}|null}` for the clocks of its current cycle, `state` one of running / at_risk /
/// breached / paused / met; `next` is the running target due first (what a list's badge shows);
/// `None` when no policy ever covered the cycle.
///
/// # Errors
/// Store errors only.
pub fn view(conn: &Connection, id: ConversationId, now: i64) -> Result<Option<Value>> {
    let Some(facts) = store::find_sla_facts(conn, id)? else {
        return Ok(None);
    };
    let cycle = facts.cycle.map(|c| c.0);
    let clocks: Vec<Clock> = store::list_clocks(conn, id)?
        .into_iter()
        .filter(|c| Some(c.cycle_id) == cycle)
        .collect();
    let Some(newest) = clocks.iter().max_by_key(|c| c.resumed_at) else {
        return Ok(None);
    };
    let policy = store::find_policy(conn, newest.policy_id)?;
    Ok(Some(render(&clocks, policy.as_ref(), now)))
}

/// Fills the `sla` of every conversation of a list page (see [`view`]) from one query for the
/// whole page and one for the policies, never a query per row.
///
/// # Errors
/// Store errors only.
pub fn attach(
    conn: &Connection,
    items: &mut [crate::store::conversations::Conversation],
    now: i64,
) -> Result<()> {
    let ids: Vec<ConversationId> = items.iter().map(|c| c.id).collect();
    let clocks = store::list_current_clocks(conn, &ids)?;
    if clocks.is_empty() {
        return Ok(());
    }
    let policies = store::list_policies(conn)?;
    for c in items.iter_mut() {
        let mine: Vec<Clock> = clocks
            .iter()
            .filter(|k| k.conversation_id == c.id)
            .cloned()
            .collect();
        let Some(newest) = mine.iter().max_by_key(|k| k.resumed_at) else {
            continue;
        };
        let policy = policies.iter().find(|p| p.id == newest.policy_id);
        c.sla = Some(render(&mine, policy, now));
    }
    Ok(())
}

/// The `sla` JSON of one conversation's current clocks (see [`view`]).
fn render(clocks: &[Clock], policy: Option<&Policy>, now: i64) -> Value {
    let mut out = serde_json::Map::new();
    out.insert(
        "policy".into(),
        json!(policy.map(|p| json!({"id": p.id, "name": p.name}))),
    );
    for t in Target::ALL {
        let c = clocks.iter().find(|c| c.target == t);
        out.insert(
            t.as_str().into(),
            json!(c.map(|c| json!({"due_at": Ts(c.due_at), "state": state(c, now)}))),
        );
    }
    let next = clocks
        .iter()
        .filter(|c| c.stopped_at.is_none() && !c.paused)
        .min_by_key(|c| (c.due_at, c.target.as_str()));
    out.insert("next_due_at".into(), json!(next.map(|c| Ts(c.due_at))));
    out.insert(
        "next".into(),
        json!(next.map(|c| json!({
            "target": c.target,
            "due_at": Ts(c.due_at),
            "state": state(c, now),
        }))),
    );
    Value::Object(out)
}

/// A policy as asked for by a client; `None` keeps (on change) or defaults (on create).
#[derive(Debug, Clone, Default)]
pub struct PolicyChange {
    /// Name (required on create).
    pub name: Option<String>,
    /// Team (`Some(None)` clears it).
    pub team_id: Option<Option<i64>>,
    /// Priority (`Some(None)` clears it).
    pub priority: Option<Option<Priority>>,
    /// First response target, seconds (`Some(None)` clears it).
    pub first_response_secs: Option<Option<i64>>,
    /// Next response target, seconds.
    pub next_response_secs: Option<Option<i64>>,
    /// Resolution target, seconds.
    pub resolution_secs: Option<Option<i64>>,
    /// Warning share, 0 < warn_at < 1 (default 0.8).
    pub warn_at: Option<f64>,
    /// Count business hours only (default false).
    pub business_hours: Option<bool>,
    /// Pause the resolution clock while pending (default true).
    pub pause_when_pending: Option<bool>,
}

fn apply(conn: &Connection, mut p: Policy, ch: PolicyChange) -> Result<Policy> {
    if let Some(n) = ch.name {
        p.name = clean_text("name", &n, 80)?;
    }
    if let Some(t) = ch.team_id {
        if let Some(team) = t
            && teams::find_team(conn, TeamId(team))?.is_none()
        {
            return Err(invalid("unknown_team", format!("there is no team {team}")));
        }
        p.team_id = t;
    }
    if let Some(pr) = ch.priority {
        p.priority = pr;
    }
    for (field, value, slot) in [
        (
            "first_response_secs",
            ch.first_response_secs,
            &mut p.first_response_secs,
        ),
        (
            "next_response_secs",
            ch.next_response_secs,
            &mut p.next_response_secs,
        ),
        (
            "resolution_secs",
            ch.resolution_secs,
            &mut p.resolution_secs,
        ),
    ] {
        if let Some(v) = value {
            if v.is_some_and(|s| !(1..=MAX_TARGET_SECS).contains(&s)) {
                return Err(invalid(
                    "invalid_field",
                    format!("{field} must be between 1 and {MAX_TARGET_SECS} seconds, or null"),
                ));
            }
            *slot = v;
        }
    }
    if let Some(w) = ch.warn_at {
        if !(w > 0.0 && w < 1.0) {
            return Err(invalid(
                "invalid_field",
                "warn_at is a share of the target between 0 and 1, such as 0.8",
            ));
        }
        p.warn_at = w;
    }
    if let Some(b) = ch.business_hours {
        p.business_hours = b;
    }
    if let Some(b) = ch.pause_when_pending {
        p.pause_when_pending = b;
    }
    if p.first_response_secs.is_none()
        && p.next_response_secs.is_none()
        && p.resolution_secs.is_none()
    {
        return Err(invalid(
            "invalid_field",
            "a policy needs at least one target: first_response_secs, next_response_secs or resolution_secs",
        ));
    }
    Ok(p)
}

/// Creates a policy (owner, manager: checked by the caller's door). Running clocks are not
/// moved: a policy applies to clocks started or re-synced after it exists.
///
/// # Errors
/// 400/422-kind errors naming the field that is missing or out of range; `unknown_team`.
pub fn create_policy(conn: &Connection, ch: PolicyChange, now: i64) -> Result<Policy> {
    if ch.name.is_none() {
        return Err(invalid("invalid_field", "name is required"));
    }
    let blank = Policy {
        id: 0,
        name: String::new(),
        team_id: None,
        priority: None,
        first_response_secs: None,
        next_response_secs: None,
        resolution_secs: None,
        warn_at: 0.8,
        business_hours: false,
        pause_when_pending: true,
    };
    let mut p = apply(conn, blank, ch)?;
    p.id = store::insert_policy(conn, &p, now)?;
    Ok(p)
}

/// Changes a policy.
///
/// # Errors
/// `NotFound("sla policy")`, and as [`create_policy`].
pub fn update_policy(conn: &Connection, id: i64, ch: PolicyChange, now: i64) -> Result<Policy> {
    let old = store::find_policy(conn, id)?.ok_or(Error::NotFound("sla policy"))?;
    let p = apply(conn, old, ch)?;
    store::update_policy(conn, &p, now)?;
    Ok(p)
}

/// One policy.
///
/// # Errors
/// `NotFound("sla policy")`.
pub fn find_policy(conn: &Connection, id: i64) -> Result<Policy> {
    store::find_policy(conn, id)?.ok_or(Error::NotFound("sla policy"))
}

/// Every policy.
pub fn list_policies(conn: &Connection) -> Result<Vec<Policy>> {
    Ok(store::list_policies(conn)?)
}
