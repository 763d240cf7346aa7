//! Routing in action: the rules (checked, stored, listed), routing a conversation when its cycle
//! opens (a rule's team, tags and priority, then the team's mode or the returning customer's last
//! owner picks an agent), and re-offering a team's pool when an agent becomes available or gets
//! room under their capacity. Every assignment goes through the one writer
//! ([`super::conversations::write_assignment`]) with no actor. The decisions are
//! `domain::routing`'s; the contract is `shared/API.md` ("routing rule", "Re-offer").

use rusqlite::Connection;

use super::conversations::{Assignment as Change, Clocks, write_assignment_then, write_tags};
use super::{Error, Result, clean_text, invalid};
use crate::domain::routing::{self as rules, Actions, Arrival, Candidate, Conditions, Rule};
use crate::domain::{Assignment, ChannelId, ConversationId, TeamId, UserId, UserStatus};
use crate::store::conversations as convs;
use crate::store::routing as store;
use crate::store::teams;

/// Most rules a workspace may have.
pub const MAX_RULES: usize = 200;
/// Most keywords (or tags) in one rule.
pub const MAX_RULE_WORDS: usize = 50;
/// Longest keyword, in characters.
pub const MAX_KEYWORD: usize = 100;
/// Positions run from 0 to this.
pub const MAX_POSITION: i64 = 1_000_000;
/// Most conversations one re-offer hands out per team (the rest wait for the next occasion).
pub const OFFER_BATCH: i64 = 500;

/// A rule as written by a client; absent fields of an edit keep their value.
#[derive(Debug, Clone, Default)]
pub struct RuleChange {
    /// Lower runs first; a new rule without one goes last.
    pub position: Option<i64>,
    /// When it applies.
    pub conditions: Option<Conditions>,
    /// What it does.
    pub actions: Option<Actions>,
}

/// Every rule in the order they are tried (position, then id).
pub fn list_rules(conn: &Connection) -> Result<Vec<Rule>> {
    Ok(store::list_rules(conn)?)
}

fn clean_words(field: &str, list: &[String], max: usize) -> Result<Vec<String>> {
    if list.is_empty() {
        return Err(invalid(
            "empty_list",
            format!("{field} must name at least one; leave it out to match anything"),
        ));
    }
    if list.len() > MAX_RULE_WORDS {
        return Err(invalid(
            "too_many",
            format!("{field} may name at most {MAX_RULE_WORDS}"),
        ));
    }
    list.iter().map(|w| clean_text(field, w, max)).collect()
}

/// Checks a rule (422 with a code naming what is wrong): known channel and team, keywords that
/// contain a word, tags as the tag writer takes them, at least one action, a position in range.
fn check(conn: &Connection, mut rule: Rule) -> Result<Rule> {
    if !(0..=MAX_POSITION).contains(&rule.position) {
        return Err(invalid(
            "invalid_position",
            format!("position must be between 0 and {MAX_POSITION}"),
        ));
    }
    let c = &mut rule.conditions;
    if let Some(ch) = c.channel_id
        && crate::store::channels::find_channel(conn, ChannelId(ch))?.is_none()
    {
        return Err(invalid(
            "unknown_channel",
            format!("there is no channel {ch}"),
        ));
    }
    if let Some(k) = &c.keywords {
        let k = clean_words("keywords", k, MAX_KEYWORD)?;
        if let Some(bad) = k.iter().find(|w| !has_word(w)) {
            return Err(invalid(
                "invalid_keyword",
                format!("the keyword {bad:?} has no letters or digits, so it can never match"),
            ));
        }
        c.keywords = Some(k);
    }
    if let Some(t) = &c.contact_tag {
        c.contact_tag = Some(clean_text("contact_tag", t, 50)?);
    }
    let a = &mut rule.actions;
    if let Some(t) = a.team_id
        && teams::find_team(conn, TeamId(t))?.is_none()
    {
        return Err(invalid("unknown_team", format!("there is no team {t}")));
    }
    if let Some(tags) = &a.tags {
        a.tags = Some(clean_words("tags", tags, 50)?);
    }
    if a.team_id.is_none() && a.tags.is_none() && a.priority.is_none() {
        return Err(invalid(
            "no_action",
            "a rule must set a team, tags or a priority",
        ));
    }
    Ok(rule)
}

/// Whether `s` has a letter or digit (a keyword of punctuation alone can never match).
fn has_word(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

/// Creates a rule; without a position it goes after the last one.
pub fn create_rule(conn: &Connection, change: RuleChange, now: i64) -> Result<Rule> {
    let existing = store::list_rules(conn)?;
    if existing.len() >= MAX_RULES {
        return Err(invalid(
            "too_many_rules",
            format!("at most {MAX_RULES} routing rules"),
        ));
    }
    let last = existing.iter().map(|r| r.position).max();
    let rule = check(
        conn,
        Rule {
            id: 0,
            position: change
                .position
                .unwrap_or_else(|| last.map_or(10, |p| (p + 10).min(MAX_POSITION))),
            conditions: change.conditions.unwrap_or_default(),
            actions: change.actions.unwrap_or_default(),
        },
    )?;
    let id = store::insert_rule(conn, &rule, now)?;
    store::find_rule(conn, id)?.ok_or(Error::NotFound("routing rule"))
}

/// A rule that must exist (404 otherwise).
pub fn find_rule(conn: &Connection, id: i64) -> Result<Rule> {
    store::find_rule(conn, id)?.ok_or(Error::NotFound("routing rule"))
}

/// Changes a rule: a given `conditions` or `actions` replaces the old one whole.
pub fn update_rule(conn: &Connection, id: i64, change: RuleChange, now: i64) -> Result<Rule> {
    let old = find_rule(conn, id)?;
    let rule = check(
        conn,
        Rule {
            id,
            position: change.position.unwrap_or(old.position),
            conditions: change.conditions.unwrap_or(old.conditions),
            actions: change.actions.unwrap_or(old.actions),
        },
    )?;
    store::update_rule(conn, &rule, now)?;
    find_rule(conn, id)
}

/// Deletes a rule (404 when there is none).
pub fn delete_rule(conn: &Connection, id: i64) -> Result<()> {
    if store::delete_rule(conn, id)? {
        Ok(())
    } else {
        Err(Error::NotFound("routing rule"))
    }
}

/// Hands a conversation to routing as if its cycle had just opened: the bot (#13) calls this when
/// a customer picks an option or asks for a human. The first customer message of the current
/// cycle is what keyword rules read. Runs in the caller's transaction; answers who received it.
/// As with [`route`], the caller syncs the SLA clocks afterwards.
pub fn hand_over(conn: &Connection, id: ConversationId, now: i64) -> Result<Option<UserId>> {
    let (text, at) = store::find_cycle_opening(conn, id)?.unwrap_or_default();
    route(conn, id, &text, if at > 0 { at } else { now }, now)
}

/// Routes conversation `id`, whose cycle `first_message` (received at `at`, ms) just opened:
///
/// 1. The first matching rule (by position, then id) sets the team (else the conversation keeps
///    the one it has: the channel's default on a new conversation), adds its tags (one
///    `conversation.tagged` with no actor) and sets the priority.
/// 2. Without `sticky_owner`, a reopened conversation keeps an assignee who is not offline
///    (`shared/DESIGN.md`).
/// 3. With `sticky_owner`, the customer's last owner (the assignee, else the owner of their
///    latest conversation, else who resolved it last) gets it only while available and under
///    capacity.
/// 4. Otherwise the team's mode picks an available member under capacity (manual, or no team:
///    nobody), and with nobody it waits in its team's pool (an assignee is released to it).
///
/// Each change of hands is one `conversation.assigned` with no actor, through the one writer;
/// everything runs in the caller's transaction. Answers the assignee afterwards. The rules and
/// settings are the ones kept in memory per config version ([`super::routing_inputs::current`]).
///
/// The caller brings the SLA clocks in line afterwards ([`super::sla::sync`]), once for
/// everything routing changed (team, priority, assignee): both callers (an inbound message that
/// opens a cycle, the bot's handoff) do, right after (issue #10: a routed inbound synced twice).
pub fn route(
    conn: &Connection,
    id: ConversationId,
    first_message: &str,
    at: i64,
    now: i64,
) -> Result<Option<UserId>> {
    let state = convs::find_conv_state(conn, id)?.ok_or(Error::NotFound("conversation"))?;
    let inputs = super::routing_inputs::current(conn)?;
    let s = &inputs.settings;
    let rule = if inputs.rules.is_empty() {
        None
    } else {
        // Only load what some rule looks at.
        let tags = if inputs.reads_contact_tags {
            store::list_contact_tags(conn, state.contact_id)?
        } else {
            Vec::new()
        };
        let inside_hours = inputs.reads_hours && inputs.calendar.is_open(at);
        rules::first_match(
            &inputs.rules,
            &Arrival {
                channel: state.channel_id,
                first_message,
                contact_tags: &tags,
                inside_hours,
            },
        )
        .cloned()
    };
    let team = rules::team_for(rule.as_ref(), state.team);
    if let Some(r) = &rule {
        if let Some(tags) = r.actions.tags.as_deref().filter(|t| !t.is_empty()) {
            write_tags(conn, id, tags, &[], None, now)?;
        }
        if let Some(p) = r.actions.priority {
            store::update_priority(conn, id, p, now)?;
        }
    }
    let current = state.assignee;
    let current_load = match current {
        Some(a) => store::find_load(conn, a)?,
        None => None,
    };
    if !s.sticky_owner
        && let Some(c) = current_load.filter(|c| c.status != UserStatus::Offline)
    {
        // DESIGN: a reopened conversation keeps an owner who is not offline.
        if team != state.team {
            move_to(conn, id, current, current, team, Clocks::CallerSyncs, now)?;
        }
        return Ok(Some(c.user));
    }
    // `sticky_owner` is the strict form: the last owner only while available and under
    // capacity; else routing decides as for a new conversation.
    let sticky = match (s.sticky_owner, current) {
        (false, _) => None,
        (true, Some(a)) => Some(a),
        (true, None) => store::find_last_owner(conn, state.contact_id)?,
    };
    let pick = pick(conn, team, sticky)?;
    if pick != current || team != state.team {
        move_to(conn, id, current, pick, team, Clocks::CallerSyncs, now)?;
    }
    Ok(pick)
}

/// Who receives a conversation of `team`: the sticky owner if they can take it (member or not),
/// else the team's mode among its members. No team: the general pool, manual.
fn pick(conn: &Connection, team: Option<TeamId>, sticky: Option<UserId>) -> Result<Option<UserId>> {
    let (mode, members) = match team {
        Some(t) => {
            let mode = teams::find_team_head(conn, t)?.map_or(Assignment::Manual, |t| t.1);
            let all_loads = mode == Assignment::LeastLoaded;
            (mode, store::list_candidates(conn, t, all_loads)?)
        }
        None => (Assignment::Manual, Vec::new()),
    };
    if let Some(s) = sticky {
        let c = match members.iter().find(|c| c.user == s) {
            Some(c) => Some(c.clone()),
            None => store::find_load(conn, s)?,
        };
        if c.is_some_and(|c| c.can_take()) {
            return Ok(Some(s));
        }
    }
    Ok(rules::choose(mode, &members, None))
}

/// One change of hands by routing (no actor), and the receiver's round-robin turn (answered);
/// `clocks` says who syncs the SLA clocks.
fn move_to(
    conn: &Connection,
    id: ConversationId,
    from: Option<UserId>,
    to: Option<UserId>,
    team: Option<TeamId>,
    clocks: Clocks,
    now: i64,
) -> Result<Option<i64>> {
    write_assignment_then(
        conn,
        id,
        &Change {
            from,
            to,
            team,
            note: None,
            actor: None,
            claim: false,
        },
        clocks,
        now,
    )?;
    match to.filter(|u| Some(*u) != from) {
        Some(u) => Ok(Some(store::update_last_routed(conn, u, now)?)),
        None => Ok(None),
    }
}

/// Re-offer: `user` became available — or got room under their capacity (then `except` is the
/// conversation that just left them, which stays where it went). The pool of each of their teams
/// is handed out by that team's mode, the customer who has waited longest first, until nobody
/// able is left (at most [`OFFER_BATCH`] per team); manual teams keep their pool. Answers the
/// conversations assigned.
pub fn offer_to(
    conn: &Connection,
    user: UserId,
    except: Option<ConversationId>,
    now: i64,
) -> Result<Vec<ConversationId>> {
    let mut out = Vec::new();
    for team in store::list_user_team_ids(conn, user)? {
        out.extend(offer_team(conn, team, except, now)?);
    }
    Ok(out)
}

/// Hands out `team`'s pool by its mode (see [`offer_to`]).
pub fn offer_team(
    conn: &Connection,
    team: TeamId,
    except: Option<ConversationId>,
    now: i64,
) -> Result<Vec<ConversationId>> {
    let mode = teams::find_team_head(conn, team)?.map_or(Assignment::Manual, |t| t.1);
    if mode == Assignment::Manual {
        return Ok(Vec::new());
    }
    let all_loads = mode == Assignment::LeastLoaded;
    let mut members: Vec<Candidate> = store::list_candidates(conn, team, all_loads)?;
    if !members.iter().any(Candidate::can_take) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for id in store::list_pool_oldest(conn, team, OFFER_BATCH + 1)? {
        if Some(id) == except {
            continue;
        }
        let Some(to) = rules::choose(mode, &members, None) else {
            break;
        };
        let turn = move_to(conn, id, None, Some(to), Some(team), Clocks::Sync, now)?;
        if let Some(c) = members.iter_mut().find(|c| c.user == to) {
            c.open += 1;
            c.last_routed_at = turn;
        }
        out.push(id);
        if out.len() as i64 >= OFFER_BATCH {
            break;
        }
    }
    Ok(out)
}

/// A conversation left `user` (resolved, handed on, released, taken back): if that gave them
/// room under their capacity — they were full and now are not — their teams' pools are offered
/// ([`offer_to`]), except the conversation that just left.
pub fn on_room(
    conn: &Connection,
    user: UserId,
    left: ConversationId,
    now: i64,
) -> Result<Vec<ConversationId>> {
    match store::find_load(conn, user)? {
        Some(c)
            if c.status == UserStatus::Available
                && c.capacity.is_some_and(|cap| c.open + 1 == cap) =>
        {
            offer_to(conn, user, Some(left), now)
        }
        _ => Ok(Vec::new()),
    }
}

/// Whether a status change makes `user` someone routing may now give conversations to.
pub fn became_available(from: UserStatus, to: UserStatus) -> bool {
    to == UserStatus::Available && from != UserStatus::Available
}
