//! Inbound customer messages: find or create the contact and conversation, apply the state
//! machine, store the message once (idempotent on the provider's id).

use rusqlite::Connection;

use super::Result;
use super::messages::preview;
use crate::domain::conversation as rules;
use crate::domain::events::{ConversationCreated, Event, MessageCreated, StatusChanged};
use crate::domain::time::now_ms;
use crate::domain::{
    ChannelId, ChannelKind, ContactId, ConversationId, DeliveryStatus, Direction, MessageId, Status,
};
use crate::store::conversations::{self as convs, NewConversation};
use crate::store::messages::{self, NewMessage};
use crate::store::{contacts, events};

/// A customer message as any channel delivers it.
#[derive(Debug, Clone)]
pub struct Inbound<'a> {
    /// Channel.
    pub channel: ChannelId,
    /// Kind of the channel.
    pub channel_kind: ChannelKind,
    /// Provider's message id (dedupe key).
    pub external_id: &'a str,
    /// Kind of identity (`api`, `wa_id`, `bsuid`).
    pub identity_kind: &'a str,
    /// The customer's identifier on the channel.
    pub identifier: &'a str,
    /// The customer's name, if given.
    pub name: Option<&'a str>,
    /// The customer's phone, if given.
    pub phone: Option<&'a str>,
    /// `text`, `image`…
    pub kind: &'a str,
    /// Text.
    pub text: &'a str,
    /// Structured content.
    pub payload: Option<&'a serde_json::Value>,
    /// Provider's time (ms), else now.
    pub at: Option<i64>,
}

/// Where an inbound message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Landed {
    /// Its conversation.
    pub conversation_id: ConversationId,
    /// The message.
    pub message_id: MessageId,
    /// False when the provider's id was seen before (nothing was changed).
    pub created: bool,
}

fn find_or_create_contact(conn: &Connection, m: &Inbound<'_>, now: i64) -> Result<ContactId> {
    let name = m.name.map(str::trim).filter(|n| !n.is_empty());
    let phone = m.phone.map(str::trim).filter(|p| !p.is_empty());
    match contacts::find_identity(conn, m.channel, m.identity_kind, m.identifier)? {
        Some(c) => {
            // Customers rename themselves; keep what the channel says now.
            if name.is_some() || phone.is_some() {
                contacts::update_contact(conn, c, name, phone.map(Some), None)?;
            }
            Ok(c)
        }
        None => {
            let c = contacts::insert_contact(conn, name.unwrap_or(m.identifier), phone, now)?;
            contacts::insert_identity(conn, c, m.channel, m.identity_kind, m.identifier)?;
            Ok(c)
        }
    }
}

/// Stores an inbound message; a repeated provider id changes nothing and returns where the first
/// one landed.
pub fn receive(conn: &Connection, m: &Inbound<'_>) -> Result<Landed> {
    if let Some((message_id, conversation_id)) =
        messages::find_by_external(conn, m.channel, m.external_id)?
    {
        return Ok(Landed {
            conversation_id,
            message_id,
            created: false,
        });
    }
    let now = now_ms();
    let at = m.at.unwrap_or(now);
    let contact = find_or_create_contact(conn, m, now)?;
    let (id, before, cycle) = match convs::find_latest_for_contact(conn, contact, m.channel)? {
        Some(id) => {
            let state =
                convs::find_conv_state(conn, id)?.ok_or(super::Error::NotFound("conversation"))?;
            (id, Some(state.status), state.cycle_id)
        }
        None => {
            let id = convs::insert_conversation(
                conn,
                &NewConversation {
                    channel: m.channel,
                    contact,
                    status: Status::Open,
                    assignee: None,
                    team: None,
                },
                at.min(now),
            )?;
            events::insert_event(
                conn,
                Some(id),
                &Event::ConversationCreated(ConversationCreated {
                    outbound: false,
                    assignee: None,
                }),
                None,
                now,
            )?;
            (id, None, None)
        }
    };
    let effect = rules::on_inbound(before.unwrap_or(Status::Open));
    if effect.new_cycle || cycle.is_none() {
        crate::store::cycles::insert_cycle(conn, id, at)?;
    }
    let message_id = messages::insert_message(
        conn,
        &NewMessage {
            conversation: id,
            channel: m.channel,
            direction: Direction::In,
            kind: m.kind,
            text: m.text,
            payload: m.payload,
            author: None,
            status: DeliveryStatus::Received,
            external_id: Some(m.external_id),
            created_at: at,
        },
    )?;
    let window = rules::window_closes_at(m.channel_kind, Some(at));
    convs::record_inbound(conn, id, at, &preview(m.text), effect.status, window, now)?;
    events::insert_event(
        conn,
        Some(id),
        &Event::MessageCreated(MessageCreated {
            message_id,
            direction: Direction::In,
        }),
        None,
        now,
    )?;
    if let Some(from) = before.filter(|s| *s != effect.status) {
        events::insert_event(
            conn,
            Some(id),
            &Event::ConversationStatus(StatusChanged {
                from,
                to: effect.status,
                until: None,
            }),
            None,
            now,
        )?;
    }
    Ok(Landed {
        conversation_id: id,
        message_id,
        created: true,
    })
}
