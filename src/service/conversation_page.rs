//! What the conversation page shows, decided here rather than in the handler or the view: what
//! the viewer may do, the contact's other conversations they may see, whether free text may be
//! sent, whether opening it sends a read receipt, and where to go after an action.

use rusqlite::Connection;

use jiff::tz::TimeZone;

use super::Result;
use super::conversations::{authorize, show};
use super::ownership_news::{self, Handover, UndoOffer};
use crate::domain::ConversationId;
use crate::domain::UserStatus;
use crate::domain::conversation::free_text_allowed;
use crate::domain::policy::{self, Action, Actor};
use crate::domain::settings::Settings;
use crate::domain::snooze::{self, Preset};
use crate::store::conversations::{ConvState, Conversation};
use crate::store::messages::{self, TimelineItem};
use crate::store::users::Named;
use crate::store::{settings, teams, users};

/// Timeline items per page.
pub const PAGE_ITEMS: i64 = 100;

/// What the viewer may do on the page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Can {
    /// Send customer-visible messages.
    pub reply: bool,
    /// Claim it.
    pub claim: bool,
    /// Assign, transfer, release.
    pub assign: bool,
    /// Change the status.
    pub status: bool,
    /// Take it over from its owner (managers).
    pub take_over: bool,
    /// Write private notes (and ask the owner for a handoff).
    pub note: bool,
}

/// What `actor` may do on a conversation in `state` (pure).
pub fn permissions(actor: &Actor, settings: &Settings, state: &ConvState) -> Can {
    let check =
        |a: Action| policy::check(actor, settings.agent_visibility, a, &state.ownership()).is_ok();
    Can {
        reply: check(Action::Reply),
        claim: state.assignee.is_none() && check(Action::Claim),
        assign: check(Action::Assign),
        status: check(Action::SetStatus),
        take_over: actor.is_manager() && state.assignee.is_some_and(|a| a != actor.id),
        note: check(Action::Note),
    }
}

/// Everything the conversation page shows.
#[derive(Debug, Clone)]
pub struct ConversationPage {
    /// The conversation.
    pub conv: Conversation,
    /// Timeline, oldest first.
    pub items: Vec<TimelineItem>,
    /// Cursor of older items (`{at}_{type}_{id}`).
    pub older: Option<String>,
    /// What the viewer may do.
    pub can: Can,
    /// Active staff to hand over to (not the viewer), with their availability.
    pub staff: Vec<Person>,
    /// Teams to hand over to.
    pub teams: Vec<Named>,
    /// Canned replies as a JSON object shortcut → text.
    pub canned: String,
    /// The contact's other conversations the viewer may see.
    pub others: Vec<Conversation>,
    /// The time the page was decided at (ms).
    pub now: i64,
    /// Whether free text may be sent now (else only a template).
    pub free_text_allowed: bool,
    /// Whether opening it tells the customer their messages were read.
    pub read_receipt: bool,
    /// The customer message a reply will quote: id and its first 120 characters.
    pub quote: Option<(i64, String)>,
    /// The latest change of hands, when it took the conversation from the viewer.
    pub taken: Option<Handover>,
    /// The shop's time zone (the `timezone` setting; UTC when the system does not know it).
    pub tz: TimeZone,
    /// The snooze presets that make sense now.
    pub snooze_presets: Vec<Preset>,
    /// The Undo the page offers for the viewer's change just made.
    pub undo: Option<UndoOffer>,
}

/// A person to hand over to.
#[derive(Debug, Clone)]
pub struct Person {
    /// Id and name.
    pub user: Named,
    /// Their availability now.
    pub status: UserStatus,
}

/// The shop's time zone from the `timezone` setting, looked up in the system's tz database
/// (UTC when it is not there).
pub fn shop_tz(settings: &Settings) -> TimeZone {
    TimeZone::get(&settings.timezone).unwrap_or(TimeZone::UTC)
}

/// A `{at}_{type}_{id}` timeline cursor from a page link (an odd one is ignored).
pub fn parse_before(b: Option<&str>) -> Option<(i64, i64, i64)> {
    let [at, kind, id] = super::cursor(b?)?;
    Some((at, kind, id))
}

/// The conversation page for `actor` (404 when it is hidden), older items from `before`,
/// quoting message `quote` if it is on the page, offering to undo change `undo` while it may.
pub fn page(
    conn: &Connection,
    actor: &Actor,
    id: ConversationId,
    before: Option<&str>,
    quote: Option<i64>,
    undo: Option<i64>,
    now: i64,
) -> Result<ConversationPage> {
    let auth = authorize(conn, actor, Action::View, id)?;
    let conv = show(conn, &auth)?;
    let (items, older) = messages::timeline(conn, id, parse_before(before), PAGE_ITEMS)?;
    let can = permissions(actor, auth.settings(), auth.state());
    let staff = users::list_users(conn)?
        .into_iter()
        .filter(|u| !u.disabled && u.id != actor.id)
        .map(|u| Person {
            user: Named {
                id: u.id.0,
                name: u.name,
            },
            status: u.status,
        })
        .collect();
    let teams = teams::list_teams(conn)?
        .into_iter()
        .map(|t| Named {
            id: t.id.0,
            name: t.name,
        })
        .collect();
    let canned = super::workspace::canned_json(conn)?.to_string();
    let others = super::contacts::visible_conversations(conn, actor, conv.contact.id)?
        .into_iter()
        .filter(|o| o.id != id)
        .collect();
    let quote = quote.and_then(|q| {
        items.iter().find_map(|i| match i {
            TimelineItem::Message { id, text, .. } if *id == q => {
                Some((q, text.chars().take(120).collect()))
            }
            _ => None,
        })
    });
    let tz = shop_tz(auth.settings());
    let snooze_presets = Preset::ALL
        .into_iter()
        .filter(|p| snooze::until(*p, now, &tz).is_some())
        .collect();
    let undo = match undo {
        Some(e) => ownership_news::undo_left(conn, actor.id, id, e, now)?,
        None => None,
    };
    Ok(ConversationPage {
        taken: ownership_news::taken_from(conn, actor.id, id)?,
        tz,
        snooze_presets,
        undo,
        free_text_allowed: free_text_allowed(
            auth.state().channel_kind,
            auth.state().window_closes_at,
            now,
        ),
        read_receipt: super::whatsapp::wants_read_receipt(&conv, actor),
        older: older.map(|(a, t, i)| format!("{a}_{t}_{i}")),
        conv,
        items,
        can,
        staff,
        teams,
        canned,
        others,
        now,
        quote,
    })
}

/// The shop's time zone, read from the settings (see [`shop_tz`]).
pub fn load_shop_tz(conn: &Connection) -> Result<TimeZone> {
    Ok(shop_tz(&settings::load_settings(conn)?))
}

/// The page for a conversation `actor` no longer sees but held, handed on or saw in their pool
/// a moment ago ([`ownership_news::lost`]): who has it now, and no more.
#[derive(Debug, Clone)]
pub struct LostPage {
    /// The conversation.
    pub id: ConversationId,
    /// The change of hands that took it out of sight.
    pub handover: Handover,
    /// The Undo the page offers, when the viewer made that change a moment ago.
    pub undo: Option<UndoOffer>,
    /// The shop's time zone.
    pub tz: TimeZone,
    /// The time the page was decided at (ms).
    pub now: i64,
}

/// The [`LostPage`] for `actor`, or `None` when they may learn nothing (then: not found).
pub fn lost_page(
    conn: &Connection,
    actor: &Actor,
    id: ConversationId,
    undo: Option<i64>,
    now: i64,
) -> Result<Option<LostPage>> {
    let Some(handover) = ownership_news::lost(conn, actor, id)? else {
        return Ok(None);
    };
    let undo = match undo {
        Some(e) => ownership_news::undo_left(conn, actor.id, id, e, now)?,
        None => None,
    };
    Ok(Some(LostPage {
        id,
        handover,
        undo,
        tz: shop_tz(&settings::load_settings(conn)?),
        now,
    }))
}

/// Whether `actor` still sees `conv` after an action (handed on out of sight: back to the inbox).
pub fn still_visible(conn: &Connection, actor: &Actor, conv: &Conversation) -> Result<bool> {
    let s = settings::load_settings(conn)?;
    // Mentions count too, so the state is read again rather than built from `conv`.
    let Some(state) = crate::store::conversations::find_conv_state(conn, conv.id)? else {
        return Ok(false);
    };
    Ok(policy::can_see(
        actor,
        s.agent_visibility,
        &state.ownership(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChannelId, ChannelKind, ContactId, Role, Status, UserId, Visibility};

    fn state(assignee: Option<i64>) -> ConvState {
        ConvState {
            id: ConversationId(1),
            channel_id: ChannelId(1),
            channel_kind: ChannelKind::Api,
            contact_id: ContactId(1),
            status: Status::Open,
            assignee: assignee.map(UserId),
            team: None,
            cycle_id: None,
            last_inbound_at: None,
            window_closes_at: None,
            waiting_since: None,
            mentioned: vec![],
        }
    }

    #[test]
    fn only_managers_take_over_and_only_from_someone_else() {
        let settings = Settings {
            agent_visibility: Visibility::OwnAndPool,
            ..Settings::default()
        };
        let who = |role| Actor {
            id: UserId(1),
            role,
            teams: vec![],
        };
        let table = [
            (Role::Manager, Some(2), true),
            (Role::Manager, Some(1), false),
            (Role::Manager, None, false),
            (Role::Owner, Some(2), true),
            (Role::Agent, Some(2), false),
        ];
        for (role, assignee, want) in table {
            let can = permissions(&who(role), &settings, &state(assignee));
            assert_eq!(can.take_over, want, "{role:?} {assignee:?}");
        }
        let agent = permissions(&who(Role::Agent), &settings, &state(None));
        assert!(agent.claim && !agent.reply, "{agent:?}");
    }

    #[test]
    fn an_odd_cursor_is_ignored() {
        assert_eq!(parse_before(Some("1_2_3")), Some((1, 2, 3)));
        assert_eq!(parse_before(Some("1_x_3")), None);
        assert_eq!(parse_before(None), None);
    }
}
