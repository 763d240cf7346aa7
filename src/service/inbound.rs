//! Inbound customer messages: find or create the contact and conversation, apply the state
//! machine, store the message once (idempotent on the provider's id).

use rusqlite::Connection;

use super::Result;
use super::messages::preview;
use crate::domain::conversation::{self as rules, InboundNature};
use crate::domain::events::{
    ConversationCreated, Event, MessageCreated, PhoneSource, StatusChanged,
};
use crate::domain::time::now_ms;
use crate::domain::{
    ChannelId, ChannelKind, ContactId, ConversationId, DeliveryStatus, Direction, MessageId, Status,
};
use crate::store::conversations::{self as convs, NewConversation, Stored};
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
    /// The customer's phone as the provider gave it, if it did: stored in the canonical form
    /// (`+digits`, [`crate::domain::phone::canonical`]); one that cannot be a number is kept
    /// in the contact's attributes as `phone_as_given` instead, and the message lands all the
    /// same.
    pub phone: Option<&'a str>,
    /// `text`, `image`…
    pub kind: &'a str,
    /// Text.
    pub text: &'a str,
    /// Structured content.
    pub payload: Option<&'a serde_json::Value>,
    /// Provider's time (ms), else now.
    pub at: Option<i64>,
    /// Whether the customer wrote something or this is a notice (a reaction, a system message);
    /// see [`InboundNature`]. `Nothing` is the caller's to drop; here it counts as a notice.
    pub nature: InboundNature,
}

impl<'a> Inbound<'a> {
    /// A text the customer `identifier` wrote through the API channel `channel`, with the
    /// provider's id `external_id`, no name, phone or time of its own (now). Set the others
    /// with struct update syntax.
    pub fn api_text(
        channel: ChannelId,
        external_id: &'a str,
        identifier: &'a str,
        text: &'a str,
    ) -> Self {
        Inbound {
            channel,
            channel_kind: ChannelKind::Api,
            external_id,
            identity_kind: "api",
            identifier,
            name: None,
            phone: None,
            kind: "text",
            text,
            payload: None,
            at: None,
            nature: InboundNature::Writing,
        }
    }
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
    let given = m.phone.map(str::trim).filter(|p| !p.is_empty());
    let canonical = given.and_then(|p| crate::domain::phone::canonical(p).ok());
    let phone = canonical.as_deref();
    let c = match contacts::find_identity(conn, m.channel, m.identity_kind, m.identifier)? {
        Some(c) => {
            // Customers rename themselves; keep what the channel says now. A different number
            // replaces the held one only on the record (contact.phone_changed).
            if name.is_some() {
                contacts::update_contact(conn, c, name, None, None)?;
            }
            if let Some(p) = phone {
                super::contacts::observe_phone(conn, c, m.channel, p, PhoneSource::Inbound, now)?;
            }
            c
        }
        None => {
            let c = contacts::insert_contact(conn, name.unwrap_or(m.identifier), phone, now)?;
            contacts::insert_identity(conn, c, m.channel, m.identity_kind, m.identifier)?;
            c
        }
    };
    if let Some(raw) = given.filter(|_| phone.is_none()) {
        let raw: String = raw.chars().take(40).collect();
        contacts::update_attribute(conn, c, "phone_as_given", &raw)?;
    }
    Ok(c)
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
    // A provider clock ahead of ours must not pin a conversation to the top of the queue.
    let at = m.at.unwrap_or(now).min(now);
    let contact = find_or_create_contact(conn, m, now)?;
    let (id, stored, cycle) = match convs::find_latest_for_contact(conn, contact, m.channel)? {
        Some(id) => {
            let state =
                convs::find_conv_state(conn, id)?.ok_or(super::Error::NotFound("conversation"))?;
            if m.nature != InboundNature::Writing {
                // A notice is shown and changes nothing else: no status, cycle, window,
                // preview or wait (see `InboundNature`).
                let message_id = insert_inbound_message(conn, m, id, at, now)?;
                return Ok(Landed {
                    conversation_id: id,
                    message_id,
                    created: true,
                });
            }
            if let Some((cycle, score)) =
                super::bot::survey_answer(conn, &state, m.text, reply_id(m))?
            {
                // The answer to the survey: kept on the resolved cycle, which stays resolved.
                let message_id = insert_inbound_message(conn, m, id, at, now)?;
                let window = rules::window_closes_at(m.channel_kind, Some(at));
                convs::record_inbound_window(conn, id, at, window, now)?;
                super::bot::record_survey_answer(conn, id, cycle, score, at, now)?;
                return Ok(Landed {
                    conversation_id: id,
                    message_id,
                    created: true,
                });
            }
            let stored = Stored {
                status: state.status,
                waiting_since: state.waiting_since,
            };
            (id, Some(stored), state.cycle_id)
        }
        None => {
            // A notice from a customer with no conversation yet (say, a number-change notice
            // for a number we never heard from) is kept in a resolved conversation: found and
            // shown, but it opens nothing and starts no cycle and no window.
            let notice = m.nature != InboundNature::Writing;
            let id = convs::insert_conversation(
                conn,
                &NewConversation {
                    channel: m.channel,
                    contact,
                    status: if notice {
                        Status::Resolved
                    } else {
                        Status::Open
                    },
                    assignee: None,
                    // The channel's default team; routing (below) may put it in a rule's.
                    team: crate::store::channels::find_default_team(conn, m.channel)?,
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
            if notice {
                let message_id = insert_inbound_message(conn, m, id, at, now)?;
                return Ok(Landed {
                    conversation_id: id,
                    message_id,
                    created: true,
                });
            }
            (id, None, None)
        }
    };
    let before = stored.map(|s| s.status);
    // A new conversation was inserted open, its customer not waiting yet.
    let stored = stored.unwrap_or(Stored {
        status: Status::Open,
        waiting_since: None,
    });
    let effect = rules::on_inbound(stored.status);
    let cycle = match cycle {
        Some(c) if !effect.new_cycle => {
            crate::store::cycles::update_cycle_start(conn, c, at)?;
            c
        }
        _ => crate::store::cycles::insert_cycle(conn, id, at)?,
    };
    let message_id = insert_inbound_message(conn, m, id, at, now)?;
    let window = rules::window_closes_at(m.channel_kind, Some(at));
    convs::record_inbound(
        conn,
        id,
        at,
        &preview(m.text),
        effect.status,
        stored,
        window,
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
    let cycle_opened = effect.new_cycle || before.is_none();
    // The channel's automation (#13): the away message, and the menu bot, which holds a new
    // cycle until the customer chooses and then routes it itself.
    let bot_routes = super::bot::on_inbound(
        conn,
        &super::bot::Arrival {
            id,
            channel: m.channel,
            channel_kind: m.channel_kind,
            text: m.text,
            reply_id: reply_id(m),
            at,
            cycle_opened,
            cycle,
        },
        now,
    )?;
    if cycle_opened && !bot_routes {
        // A new conversation or a new cycle (a customer back after a resolve): routing sorts it
        // in this same transaction, so nothing lands half-routed.
        super::routing::route(conn, id, m.text, at, now)?;
    }
    super::sla::sync(conn, id, now)?;
    Ok(Landed {
        conversation_id: id,
        message_id,
        created: true,
    })
}

/// The WhatsApp button or list reply id a message carries (`payload.reply_id`), if any.
fn reply_id<'a>(m: &'a Inbound<'_>) -> Option<&'a str> {
    m.payload
        .and_then(|p| p.get("reply_id"))
        .and_then(serde_json::Value::as_str)
}

/// Keeps the customer's message (sent at `at`) and appends its `message.created` event.
fn insert_inbound_message(
    conn: &Connection,
    m: &Inbound<'_>,
    conversation: ConversationId,
    at: i64,
    now: i64,
) -> Result<MessageId> {
    let message_id = messages::insert_message(
        conn,
        &NewMessage {
            conversation,
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
    events::insert_event(
        conn,
        Some(conversation),
        &Event::MessageCreated(MessageCreated {
            message_id,
            direction: Direction::In,
        }),
        None,
        now,
    )?;
    Ok(message_id)
}

/// Longest text an API channel may deliver.
pub const MAX_API_TEXT: usize = 65_536;

/// An API channel whose secret the caller presented. Only [`authenticate_api`] makes one.
#[derive(Debug, Clone, Copy)]
pub struct ApiChannel {
    id: ChannelId,
}

/// A customer message through an API channel, as the provider posts it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ApiInbound {
    /// Provider's message id (dedupe key).
    pub external_id: String,
    /// Who sent it.
    pub contact: ApiContact,
    /// Text.
    pub text: String,
    /// Unix seconds or milliseconds (number or string), or RFC 3339.
    pub timestamp: Option<serde_json::Value>,
}

/// The customer of an [`ApiInbound`].
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ApiContact {
    /// The customer's identifier on the channel.
    pub identifier: String,
    /// Name, if known.
    pub name: Option<String>,
    /// Phone, if known.
    pub phone: Option<String>,
}

/// An [`ApiInbound`] that passed [`check_api`]: trimmed, within limits, time resolved.
#[derive(Debug, Clone)]
pub struct CheckedApi {
    external_id: String,
    identifier: String,
    name: Option<String>,
    phone: Option<String>,
    text: String,
    at: Option<i64>,
}

fn unauthenticated() -> super::Error {
    super::Error::Unauthenticated(
        "send the channel secret as Authorization: Bearer <secret>".into(),
    )
}

/// The API channel `id` if `secret` is its secret (compared in constant time). A missing secret,
/// an id that names nothing or another kind of channel all fail alike: 401, before anything else.
pub fn authenticate_api(
    conn: &Connection,
    id: Option<ChannelId>,
    secret: Option<&str>,
) -> Result<ApiChannel> {
    let secret = secret.ok_or_else(unauthenticated)?;
    let id = id.ok_or_else(unauthenticated)?;
    match crate::store::channels::find_channel(conn, id)? {
        Some(ch)
            if ch.kind == ChannelKind::Api
                && ch.secret.as_deref().is_some_and(|s| {
                    bool::from(subtle::ConstantTimeEq::ct_eq(
                        s.as_bytes(),
                        secret.as_bytes(),
                    ))
                }) =>
        {
            Ok(ApiChannel { id: ch.id })
        }
        _ => Err(unauthenticated()),
    }
}

/// A provider timestamp: unix seconds (or milliseconds), as a number or string, or RFC 3339.
pub fn parse_timestamp(v: &serde_json::Value) -> Result<Option<i64>> {
    use serde_json::Value;
    let bad = || {
        super::invalid(
            "invalid_timestamp",
            "timestamp must be unix seconds or an RFC 3339 time",
        )
    };
    let ms = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_i64().ok_or_else(bad)?,
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                return crate::domain::time::parse_rfc3339(s.trim())
                    .map(Some)
                    .ok_or_else(bad);
            }
        },
        _ => return Err(bad()),
    };
    let ms = if ms.abs() < 100_000_000_000 {
        ms.saturating_mul(1000)
    } else {
        ms
    };
    if ms <= 0 {
        return Err(bad());
    }
    Ok(Some(ms))
}

/// Checks an API-channel message (422s): ids and sizes, a phone in the canonical form (one that
/// cannot be a number is kept as given, and [`receive`] keeps it out of the phone column: a
/// customer's message is never refused for that), a time never later than `now`.
pub fn check_api(m: ApiInbound, now: i64) -> Result<CheckedApi> {
    let external_id = super::clean_text("external_id", &m.external_id, 255)?;
    let identifier = super::clean_text("contact.identifier", &m.contact.identifier, 255)?;
    if m.text.chars().count() > MAX_API_TEXT {
        return Err(super::invalid(
            "too_long",
            format!("text is longer than {MAX_API_TEXT} characters"),
        ));
    }
    if m.contact
        .name
        .as_deref()
        .is_some_and(|n| n.chars().count() > 200)
    {
        return Err(super::invalid(
            "too_long",
            "contact.name is longer than 200 characters",
        ));
    }
    let phone = m
        .contact
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match crate::domain::phone::canonical(p) {
            Ok(c) => c,
            Err(_) => p.chars().take(40).collect(),
        });
    let at = m
        .timestamp
        .as_ref()
        .map(parse_timestamp)
        .transpose()?
        .flatten()
        .map(|t| t.min(now));
    Ok(CheckedApi {
        external_id,
        identifier,
        name: m.contact.name,
        phone,
        text: m.text,
        at,
    })
}

/// Stores a checked API-channel message on its channel (idempotent on `external_id`).
pub fn receive_api(conn: &Connection, channel: ApiChannel, m: &CheckedApi) -> Result<Landed> {
    receive(
        conn,
        &Inbound {
            name: m.name.as_deref(),
            phone: m.phone.as_deref(),
            at: m.at,
            ..Inbound::api_text(channel.id, &m.external_id, &m.identifier, &m.text)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_are_seconds_millis_or_rfc3339() {
        let table = [
            (json!(null), Some(None)),
            (json!(1_700_000_000), Some(Some(1_700_000_000_000))),
            (json!("1700000000"), Some(Some(1_700_000_000_000))),
            (json!(1_700_000_000_123_i64), Some(Some(1_700_000_000_123))),
            (json!("2023-11-14T22:13:20Z"), Some(Some(1_700_000_000_000))),
            (json!(0), None),
            (json!(-5), None),
            (json!("yesterday"), None),
            (json!(true), None),
            (json!(1.5), None),
        ];
        for (v, want) in table {
            assert_eq!(parse_timestamp(&v).ok(), want, "{v}");
        }
    }

    #[test]
    fn an_odd_phone_is_kept_and_a_future_time_is_now() {
        let m = ApiInbound {
            external_id: " e1 ".into(),
            contact: ApiContact {
                identifier: "c".into(),
                name: None,
                phone: Some("call me maybe".into()),
            },
            text: "hi".into(),
            timestamp: Some(json!(4_000_000_000_i64)),
        };
        let c = check_api(m.clone(), 1_000).expect("checked");
        assert_eq!(c.external_id, "e1");
        assert_eq!(c.phone.as_deref(), Some("call me maybe"));
        assert_eq!(c.at, Some(1_000));
        // A number in any usual spelling is kept in the canonical form.
        for (given, want) in [
            ("+1 (555) 000-1", "+15550001"),
            ("0044 20 7946 0958", "+442079460958"),
        ] {
            let mut m = m.clone();
            m.contact.phone = Some(given.into());
            let c = check_api(m, 1_000).expect("checked");
            assert_eq!(c.phone.as_deref(), Some(want), "{given}");
        }
    }
}

#[cfg(test)]
mod statements_tests;
