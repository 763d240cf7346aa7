//! The channel automation in action (#13): reading and writing a channel's automation, the menu
//! bot on inbound messages (start, handoff by option, keyword, second miss or timeout), the away
//! message once per cycle outside business hours, and the satisfaction survey after a resolve.
//! Automated messages have no author, carry `"automated": true` in their payload, go out through
//! the outbox and change neither status nor wait. The contract is `shared/API.md`
//! ("Automations"); the matching rules are `domain::bot`'s.

use rusqlite::Connection;
use serde_json::{Value, json};

use super::conversations::{Assignment, write_assignment, write_tags};
use super::messages::preview;
use super::{Error, Result, clean_text, invalid};
use crate::domain::bot::{self as rules, Automation, Choice, MenuOption};
use crate::domain::calendar::BusinessCalendar;
use crate::domain::conversation::free_text_allowed;
use crate::domain::events::{
    BotHandoff, BotStarted, CsatReceived, Event, HandoffReason, MessageCreated,
};
use crate::domain::{
    ChannelId, ChannelKind, ConversationId, DeliveryStatus, Direction, MessageId, Status, TeamId,
};
use crate::store::bot as store;
use crate::store::conversations::{self as convs, ConvState};
use crate::store::messages::{self, NewMessage};
use crate::store::{channels, events, outbox, settings, teams};

/// Most conversations one timeout tick hands over in one transaction.
pub const TICK_BATCH: i64 = 200;

/// A channel's automation (the defaults, all off, until someone writes one). 404 for an unknown
/// channel.
pub fn automation(conn: &Connection, channel: ChannelId) -> Result<Automation> {
    if channels::find_channel(conn, channel)?.is_none() {
        return Err(Error::NotFound("channel"));
    }
    Ok(store::find_automation(conn, channel)?.unwrap_or_default())
}

/// Replaces a channel's automation after checking it (422 with a code: Meta's limits in
/// [`Automation::check`], `unknown_team`, tag names as the tag writer takes them). 404 for an
/// unknown channel. Conversations the bot holds keep their hold; the new menu applies to the
/// answers that follow.
pub fn put_automation(
    conn: &Connection,
    channel: ChannelId,
    a: Automation,
    now: i64,
) -> Result<Automation> {
    if channels::find_channel(conn, channel)?.is_none() {
        return Err(Error::NotFound("channel"));
    }
    let mut a = a.trimmed();
    a.check().map_err(|p| invalid(p.code, p.message))?;
    for o in &mut a.menu.options {
        if let Some(t) = o.team_id
            && teams::find_team(conn, TeamId(t))?.is_none()
        {
            return Err(invalid(
                "unknown_team",
                format!("option \"{}\": there is no team {t}", o.id),
            ));
        }
        o.tags = o
            .tags
            .iter()
            .map(|t| clean_text("tags", t, 50))
            .collect::<Result<_>>()?;
    }
    store::upsert_automation(conn, channel, &a, now)?;
    Ok(a)
}

/// An inbound customer message, as the bot sees it after the inbound path stored it.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    /// Its conversation.
    pub id: ConversationId,
    /// Channel.
    pub channel: ChannelId,
    /// Kind of the channel.
    pub channel_kind: ChannelKind,
    /// What the customer wrote (a button's title for a tapped button).
    pub text: &'a str,
    /// The WhatsApp button or list reply id, if the customer tapped one.
    pub reply_id: Option<&'a str>,
    /// The message's time (UTC ms).
    pub at: i64,
    /// The message opened a cycle (a new conversation, or back after a resolve).
    pub cycle_opened: bool,
    /// The conversation's current cycle.
    pub cycle: i64,
}

/// The automation's part in an inbound message, in the inbound transaction: the away message
/// (once per cycle, outside business hours), then the menu bot — started on a new cycle, or
/// reading the answer of a customer it holds. Answers whether routing is the bot's business:
/// it holds the conversation (routing waits for the handoff) or its handoff just routed it.
pub fn on_inbound(conn: &Connection, a: &Arrival<'_>, now: i64) -> Result<bool> {
    let Some(cfg) = store::find_automation(conn, a.channel)? else {
        return Ok(false);
    };
    if cfg.away.enabled
        && !calendar(conn)?.is_open(a.at)
        && store::update_away_sent(conn, a.cycle, now)?
    {
        send_automated(conn, a.id, "text", &cfg.away.text, None, now)?;
    }
    let (hold, _) = store::find_bot_state(conn, a.id)?;
    let menu = &cfg.menu;
    if let Some(h) = hold {
        return match rules::choose(menu, a.text, a.reply_id) {
            Choice::Option(i) => {
                handoff(conn, a.id, HandoffReason::Option, menu.options.get(i), now)?;
                Ok(true)
            }
            Choice::Human => {
                handoff(conn, a.id, HandoffReason::Keyword, None, now)?;
                Ok(true)
            }
            Choice::NoMatch if h.misses == 0 => {
                // One more chance: the menu again; a second miss hands over.
                store::update_hold(conn, a.id, h.until, 1, now)?;
                send_menu(conn, a.id, a.channel_kind, &cfg, now)?;
                Ok(true)
            }
            Choice::NoMatch => {
                handoff(conn, a.id, HandoffReason::NoMatch, None, now)?;
                Ok(true)
            }
        };
    }
    if !(a.cycle_opened && menu.enabled && !menu.options.is_empty()) {
        return Ok(false);
    }
    start(conn, a.id, &cfg, now)?;
    if menu
        .human_keywords
        .iter()
        .any(|k| rules::has_keyword(a.text, k))
    {
        // "I need a person" as the first words: no menu to wait for.
        handoff(conn, a.id, HandoffReason::Keyword, None, now)?;
        return Ok(true);
    }
    send_menu(conn, a.id, a.channel_kind, &cfg, now)?;
    Ok(true)
}

fn calendar(conn: &Connection) -> Result<BusinessCalendar> {
    let s = settings::load_settings(conn)?;
    // As for SLA clocks: settings are checked when written; a zone this build does not know
    // counts as always open rather than stopping inbound processing.
    Ok(
        BusinessCalendar::new(&s.timezone, &s.business_hours, &s.holidays)
            .unwrap_or_else(|_| BusinessCalendar::always_open(jiff::tz::TimeZone::UTC)),
    )
}

/// The bot takes conversation `id`: nobody holds it and it is in no team (so no human queue,
/// Take next or re-offer sees it) until the handoff; `bot.started` is appended.
fn start(conn: &Connection, id: ConversationId, cfg: &Automation, now: i64) -> Result<()> {
    let state = convs::find_conv_state(conn, id)?.ok_or(Error::NotFound("conversation"))?;
    if state.assignee.is_some() || state.team.is_some() {
        write_assignment(
            conn,
            id,
            &Assignment {
                from: state.assignee,
                to: None,
                team: None,
                note: None,
                actor: None,
                claim: false,
            },
            now,
        )?;
    }
    store::update_hold(conn, id, now + cfg.menu.timeout_secs * 1000, 0, now)?;
    events::insert_event(conn, Some(id), &Event::BotStarted(BotStarted {}), None, now)?;
    super::sla::sync(conn, id, now)?;
    Ok(())
}

fn send_menu(
    conn: &Connection,
    id: ConversationId,
    kind: ChannelKind,
    cfg: &Automation,
    now: i64,
) -> Result<MessageId> {
    let text = rules::menu_text(&cfg.menu);
    let interactive = rules::menu_interactive(&cfg.menu);
    send_interactive(conn, id, kind, &text, interactive, now)
}

/// Sends `interactive` on WhatsApp (with `text` as its readable rendering in the timeline), or
/// `text` alone on a channel without interactive messages.
fn send_interactive(
    conn: &Connection,
    id: ConversationId,
    kind: ChannelKind,
    text: &str,
    interactive: Value,
    now: i64,
) -> Result<MessageId> {
    match kind {
        ChannelKind::Whatsapp => {
            send_automated(conn, id, "interactive", text, Some(interactive), now)
        }
        ChannelKind::Api => send_automated(conn, id, "text", text, None, now),
    }
}

/// Queues an automated message: no author, `"automated": true` in its payload, the outbox
/// delivers it; the conversation's status and wait stay as they are.
fn send_automated(
    conn: &Connection,
    id: ConversationId,
    message_kind: &str,
    text: &str,
    interactive: Option<Value>,
    now: i64,
) -> Result<MessageId> {
    let channel = convs::find_conv_state(conn, id)?
        .ok_or(Error::NotFound("conversation"))?
        .channel_id;
    let mut payload = json!({"automated": true});
    if let Some(i) = interactive {
        payload["interactive"] = i;
    }
    let mid = messages::insert_message(
        conn,
        &NewMessage {
            conversation: id,
            channel,
            direction: Direction::Out,
            kind: message_kind,
            text,
            payload: Some(&payload),
            author: None,
            status: DeliveryStatus::Queued,
            external_id: None,
            created_at: now,
        },
    )?;
    outbox::insert_outbox(conn, mid, channel, now)?;
    store::update_after_automated(conn, id, &preview(text), now)?;
    events::insert_event(
        conn,
        Some(id),
        &Event::MessageCreated(MessageCreated {
            message_id: mid,
            direction: Direction::Out,
        }),
        None,
        now,
    )?;
    Ok(mid)
}

/// The bot lets go of `id` for `reason`: the option's team, tags and priority are set (without
/// one, the channel's default team, as for a new conversation), `bot.handoff` is appended,
/// routing runs as for any new conversation ([`super::routing::hand_over`]), and the customer's
/// wait, first-response clock and SLA start now.
fn handoff(
    conn: &Connection,
    id: ConversationId,
    reason: HandoffReason,
    option: Option<&MenuOption>,
    now: i64,
) -> Result<()> {
    let state = convs::find_conv_state(conn, id)?.ok_or(Error::NotFound("conversation"))?;
    if state.status == Status::Resolved {
        // Resolved while the bot held it: nobody to hand to.
        return Ok(store::update_hold_cleared(conn, id)?);
    }
    let team = match option {
        Some(o) => match o.team_id {
            Some(t) => teams::find_team(conn, TeamId(t))?.map(|_| TeamId(t)),
            None => None,
        },
        None => channels::find_default_team(conn, state.channel_id)?,
    };
    if team != state.team {
        write_assignment(
            conn,
            id,
            &Assignment {
                from: state.assignee,
                to: state.assignee,
                team,
                note: None,
                actor: None,
                claim: false,
            },
            now,
        )?;
    }
    if let Some(o) = option {
        if !o.tags.is_empty() {
            write_tags(conn, id, &o.tags, &[], None, now)?;
        }
        if let Some(p) = o.priority {
            crate::store::routing::update_priority(conn, id, p, now)?;
        }
    }
    events::insert_event(
        conn,
        Some(id),
        &Event::BotHandoff(BotHandoff {
            reason,
            option_id: option.map(|o| o.id.clone()),
        }),
        None,
        now,
    )?;
    // Routing reads the cycle's first message, so it runs before the cycle restarts at the
    // handoff; the hold keeps SLA clocks off until then.
    super::routing::hand_over(conn, id, now)?;
    store::update_release(conn, id, now)?;
    super::sla::sync(conn, id, now)?;
    Ok(())
}

/// Hands over every conversation whose bot hold ran out by `now` (reason `timeout`), at most
/// [`TICK_BATCH`]; answers how many. The scheduler calls it.
pub fn tick(conn: &Connection, now: i64) -> Result<usize> {
    let due = store::list_bot_due(conn, now, TICK_BATCH)?;
    for id in &due {
        handoff(conn, *id, HandoffReason::Timeout, None, now)?;
    }
    Ok(due.len())
}

/// After a resolve (in its transaction): the survey goes out when the channel has it on and the
/// customer service window is open, and the resolved cycle then awaits the answer. Outside the
/// window nothing is sent.
pub fn on_resolved(conn: &Connection, state: &ConvState, now: i64) -> Result<()> {
    let Some(cycle) = state.cycle_id else {
        return Ok(());
    };
    let Some(cfg) = store::find_automation(conn, state.channel_id)? else {
        return Ok(());
    };
    if store::find_held(conn, state.id)? {
        store::update_hold_cleared(conn, state.id)?;
    }
    if !cfg.csat.enabled || !free_text_allowed(state.channel_kind, state.window_closes_at, now) {
        return Ok(());
    }
    let text = rules::csat_text(&cfg.csat.text);
    let interactive = rules::csat_interactive(&cfg.csat.text);
    send_interactive(conn, state.id, state.channel_kind, &text, interactive, now)?;
    store::update_csat_cycle(conn, state.id, Some(cycle))?;
    Ok(())
}

/// Whether a customer message on a resolved conversation answers its survey: the (cycle, score)
/// when it does. Any other message withdraws the survey (the conversation reopens as usual).
pub fn survey_answer(
    conn: &Connection,
    state: &ConvState,
    text: &str,
    reply_id: Option<&str>,
) -> Result<Option<(i64, u8)>> {
    if state.status != Status::Resolved {
        return Ok(None);
    }
    let (_, Some(cycle)) = store::find_bot_state(conn, state.id)? else {
        return Ok(None);
    };
    match rules::csat_score(text, reply_id) {
        Some(score) => Ok(Some((cycle, score))),
        None => {
            store::update_csat_cycle(conn, state.id, None)?;
            Ok(None)
        }
    }
}

/// Stores a survey answer on its resolved cycle (it counts for the resolver) and appends
/// `csat.received`; the conversation stays resolved.
pub fn record_survey_answer(
    conn: &Connection,
    id: ConversationId,
    cycle: i64,
    score: u8,
    at: i64,
    now: i64,
) -> Result<()> {
    crate::store::reports::update_cycle_csat(conn, cycle, score, at)?;
    store::update_csat_cycle(conn, id, None)?;
    events::insert_event(
        conn,
        Some(id),
        &Event::CsatReceived(CsatReceived {
            score,
            cycle_id: cycle,
        }),
        None,
        now,
    )?;
    Ok(())
}
