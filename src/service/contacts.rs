//! Contacts: which of a contact's conversations a caller may see (the API's contact and the
//! conversation page's "other conversations" both ask here), edits to a contact, and the one
//! place a contact's phone number changes (typed by staff or reported by a channel), recorded
//! as `contact.phone_changed`.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Error, Result, clean_text, invalid};
use crate::domain::events::{ContactUpdated, Event, PhoneChanged, PhoneSource};
use crate::domain::phone::{self, Reported};
use crate::domain::policy::{self, Actor, Ownership, Scope};
use crate::domain::time::now_ms;
use crate::domain::{ChannelId, ContactId, ConversationId, UserId};
use crate::store::contacts::{self, Contact};
use crate::store::conversations::{self as convs, Conversation};
use crate::store::{events, settings};

/// Largest `attributes` object, serialized.
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;

/// A contact with the conversations of theirs the caller may see.
#[derive(Debug, Clone, Serialize)]
pub struct ContactView {
    /// The contact.
    #[serde(flatten)]
    pub contact: Contact,
    /// Their conversations the caller may see, newest first.
    pub conversations: Vec<Conversation>,
}

/// A contact the caller was shown (so may edit, as far as visibility goes). Only [`show`] makes
/// one, so an edit runs after the visibility check (404 before a body's 400).
#[derive(Debug, Clone)]
pub struct Seen {
    actor: Actor,
    view: ContactView,
}

impl Seen {
    /// What the caller was shown.
    pub fn view(&self) -> &ContactView {
        &self.view
    }

    /// Into what the caller was shown.
    pub fn into_view(self) -> ContactView {
        self.view
    }
}

/// Of a contact's conversations, the ids `scope` covers (pure).
pub fn visible_ids(scope: &Scope, all: &[(ConversationId, Ownership)]) -> Vec<ConversationId> {
    all.iter()
        .filter(|(_, o)| scope.contains(o))
        .map(|(id, _)| *id)
        .collect()
}

/// Whether a contact is shown to `actor` at all: managers see every contact, others only one
/// with a conversation they may see (pure).
pub fn contact_visible(actor: &Actor, visible_conversations: usize) -> bool {
    visible_conversations > 0 || actor.is_manager()
}

/// The conversations of `contact` that `actor` may see, newest first.
pub fn visible_conversations(
    conn: &Connection,
    actor: &Actor,
    contact: ContactId,
) -> Result<Vec<Conversation>> {
    let settings = settings::load_settings(conn)?;
    let scope = policy::scope(actor, settings.agent_visibility);
    let all = convs::list_for_contact(conn, contact)?;
    let mut out = Vec::new();
    for id in visible_ids(&scope, &all) {
        if let Some(conv) = convs::find_conversation(conn, id)? {
            out.push(conv);
        }
    }
    Ok(out)
}

/// A contact with the conversations of theirs `actor` may see; 404 if they may see none (unless
/// a manager).
pub fn show(conn: &Connection, actor: &Actor, id: ContactId) -> Result<Seen> {
    let contact = contacts::find_contact(conn, id)?.ok_or(Error::NotFound("contact"))?;
    let conversations = visible_conversations(conn, actor, id)?;
    if !contact_visible(actor, conversations.len()) {
        return Err(Error::NotFound("contact"));
    }
    Ok(Seen {
        actor: actor.clone(),
        view: ContactView {
            contact,
            conversations,
        },
    })
}

/// An edit to a contact: absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    /// New name (trimmed, 1-200 characters).
    pub name: Option<String>,
    /// `Some(None)` clears the phone; `Some(Some(p))` sets it (to the canonical `+digits`; 422
    /// `invalid_phone` when it cannot be a number).
    pub phone: Option<Option<String>>,
    /// Replaces the attributes (at most [`MAX_ATTRIBUTES_BYTES`] serialized).
    pub attributes: Option<Map<String, Value>>,
}

/// Edits a contact the caller was shown, with its `contact.updated` event; returns it as shown
/// now.
pub fn patch(conn: &Connection, seen: Seen, p: ContactPatch) -> Result<ContactView> {
    let name = p
        .name
        .as_deref()
        .map(|n| clean_text("name", n, 200))
        .transpose()?;
    let phone = match &p.phone {
        Some(Some(ph)) => Some(Some(typed_phone(ph)?)),
        Some(None) => Some(None),
        None => None,
    };
    let attributes = p.attributes.map(Value::Object);
    if attributes
        .as_ref()
        .is_some_and(|a| a.to_string().len() > MAX_ATTRIBUTES_BYTES)
    {
        return Err(invalid("too_long", "attributes are limited to 16 KiB"));
    }
    let id = seen.view.contact.id;
    let now = now_ms();
    let held = seen.view.contact.phone.clone();
    contacts::update_contact(
        conn,
        id,
        name.as_deref(),
        phone.as_ref().map(|p| p.as_deref()),
        attributes.as_ref(),
    )?;
    if let Some(to) = phone.filter(|to| *to != held) {
        let change = PhoneChanged {
            contact_id: id,
            from: held,
            to,
            source: PhoneSource::Staff,
        };
        record_phone_change(conn, change, None, Some(seen.actor.id), now)?;
    }
    events::insert_event(
        conn,
        None,
        &Event::ContactUpdated(ContactUpdated { contact_id: id }),
        Some(seen.actor.id),
        now,
    )?;
    Ok(show(conn, &seen.actor, id)?.into_view())
}

/// A number a person typed, in the canonical form (`+` and 7–15 digits; see
/// [`phone::canonical`]); 422 `invalid_phone` saying why when it cannot be one.
pub fn typed_phone(input: &str) -> Result<String> {
    phone::canonical(input).map_err(|why| {
        let shown: String = input.trim().chars().take(40).collect();
        invalid(
            "invalid_phone",
            format!("\"{shown}\" is not a phone number: {why} (write it with the country code, such as +49 151 23456789)"),
        )
    })
}

/// Records `contact.phone_changed` on the conversation it concerns: `conversation` if given,
/// else the contact's latest (on `channel` first); with no conversation it is stored without
/// one.
pub fn record_phone_change(
    conn: &Connection,
    change: PhoneChanged,
    channel: Option<ChannelId>,
    actor: Option<UserId>,
    now: i64,
) -> Result<()> {
    let conversation = contacts::find_latest_conversation(conn, change.contact_id, channel)?;
    tracing::info!(
        contact = change.contact_id.0,
        from = change.from.as_deref().unwrap_or("none"),
        to = change.to.as_deref().unwrap_or("none"),
        source = ?change.source,
        "a contact's phone number changed"
    );
    events::insert_event(
        conn,
        conversation,
        &Event::ContactPhoneChanged(change),
        actor,
        now,
    )?;
    Ok(())
}

/// Takes a number a channel reported for a known contact (canonical form, see
/// [`phone::canonical`]) by [`phone::compare`]: another form of the held number changes
/// nothing; a number where there was none fills it; a different number replaces the held one,
/// never silently — `contact.phone_changed` with `source` goes in the timeline of the contact's
/// latest conversation on `channel`.
pub fn observe_phone(
    conn: &Connection,
    contact: ContactId,
    channel: ChannelId,
    reported: &str,
    source: PhoneSource,
    now: i64,
) -> Result<()> {
    let held = contacts::find_phone(conn, contact)?;
    match phone::compare(held.as_deref(), reported) {
        Reported::Same => {}
        Reported::Fill => {
            contacts::update_contact(conn, contact, None, Some(Some(reported)), None)?
        }
        Reported::Changed => {
            contacts::update_contact(conn, contact, None, Some(Some(reported)), None)?;
            let change = PhoneChanged {
                contact_id: contact,
                from: held,
                to: Some(reported.to_string()),
                source,
            };
            record_phone_change(conn, change, Some(channel), None, now)?;
        }
    }
    Ok(())
}

/// The contact a WhatsApp id (`wa_id`, digits) belongs to on `channel`: the id itself, else one
/// of its [`phone::equivalent_wa_ids`] (Brazil's ninth digit, Mexico's `521`) — then this id is
/// learnt as another identity of that contact, so the next lookup is direct. `None`: a new
/// customer.
pub fn find_wa_contact(
    conn: &Connection,
    channel: ChannelId,
    wa_id: &str,
) -> Result<Option<ContactId>> {
    if let Some(c) = contacts::find_identity(conn, channel, WA_ID, wa_id)? {
        return Ok(Some(c));
    }
    for other in phone::equivalent_wa_ids(wa_id) {
        if let Some(c) = contacts::find_identity(conn, channel, WA_ID, &other)? {
            tracing::info!(
                contact = c.0,
                known = %other,
                new = %wa_id,
                "a WhatsApp id matched a contact by another form of the same number"
            );
            contacts::insert_identity(conn, c, channel, WA_ID, wa_id)?;
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// The kind of identity a WhatsApp id (`wa_id`, the number without `+`) is stored as.
pub const WA_ID: &str = "wa_id";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, TeamId, UserId};

    fn actor(role: Role, teams: &[i64]) -> Actor {
        Actor {
            id: UserId(1),
            role,
            teams: teams.iter().map(|t| TeamId(*t)).collect(),
        }
    }

    #[test]
    fn a_contact_is_shown_to_managers_or_with_a_visible_conversation() {
        let table = [
            (Role::Owner, 0, true),
            (Role::Manager, 0, true),
            (Role::Agent, 0, false),
            (Role::Agent, 1, true),
        ];
        for (role, n, want) in table {
            assert_eq!(contact_visible(&actor(role, &[]), n), want, "{role:?} {n}");
        }
    }

    #[test]
    fn only_conversations_in_scope_are_listed() {
        let own = |a: Option<i64>, t: Option<i64>| Ownership::held(a.map(UserId), t.map(TeamId));
        let all = [
            (ConversationId(1), own(Some(1), None)),
            (ConversationId(2), own(Some(2), Some(7))),
            (ConversationId(3), own(None, Some(7))),
            (ConversationId(4), own(None, Some(8))),
        ];
        assert_eq!(visible_ids(&Scope::All, &all).len(), 4);
        let ids = visible_ids(&Scope::AssignedTo(UserId(1)), &all);
        assert_eq!(ids, vec![ConversationId(1)]);
    }
}
