//! Contacts: which of a contact's conversations a caller may see (the API's contact and the
//! conversation page's "other conversations" both ask here), and edits to a contact.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Error, Result, clean_text, invalid};
use crate::domain::events::{ContactUpdated, Event};
use crate::domain::policy::{self, Actor, Ownership, Scope};
use crate::domain::time::now_ms;
use crate::domain::{ContactId, ConversationId};
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
        .filter(|(_, o)| scope.contains(*o))
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
    /// `Some(None)` clears the phone; `Some(Some(p))` sets it (normalized to digits).
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
        Some(Some(ph)) => Some(Some(super::messages::normalize_phone(ph)?)),
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
    contacts::update_contact(
        conn,
        id,
        name.as_deref(),
        phone.as_ref().map(|p| p.as_deref()),
        attributes.as_ref(),
    )?;
    events::insert_event(
        conn,
        None,
        &Event::ContactUpdated(ContactUpdated { contact_id: id }),
        Some(seen.actor.id),
        now_ms(),
    )?;
    Ok(show(conn, &seen.actor, id)?.into_view())
}

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
        let own = |a: Option<i64>, t: Option<i64>| Ownership {
            assignee: a.map(UserId),
            team: t.map(TeamId),
        };
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
