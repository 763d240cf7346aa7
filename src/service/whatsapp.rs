//! WhatsApp operations: turn a kept webhook body (kept by `super::webhooks`) into conversations,
//! messages and delivery statuses; react to refused sends (a 131047 closes the window, a 190 alerts the
//! owner). The network side (processing after the 200, media downloads, read receipts, the
//! sweep) is the job `crate::jobs::whatsapp`. Processing is idempotent (dedupe on the
//! wamid, statuses only move forward), so a body processed twice or retried by Meta changes
//! nothing the second time, and bodies left unprocessed by a crash are picked up at start.

use rusqlite::Connection;

use super::Result;
use super::contacts as contacts_service;
use super::inbound::{Inbound, receive};
use crate::channels::whatsapp::graph;
use crate::channels::whatsapp::webhook::{self, InMessage, StatusUpdate};
use crate::domain::conversation::{InboundNature, whatsapp_nature};
use crate::domain::events::{ChannelAlert, Event, PhoneSource, SendFailure};
use crate::domain::phone;
use crate::domain::time::now_ms;
use crate::domain::{ChannelId, ChannelKind, ConversationId, DeliveryStatus};
use crate::store::whatsapp::{self as wa, MediaJob};
use crate::store::{contacts, events, isolated, messages};

/// Whether `token` is the verify token of a WhatsApp channel (compared in constant time), for
/// Meta's subscription handshake.
pub fn verify_handshake(conn: &Connection, token: &str) -> Result<bool> {
    Ok(wa::list_whatsapp_channels(conn)?.iter().any(|c| {
        let expected = c.config["verify_token"].as_str().unwrap_or_default();
        !expected.is_empty()
            && bool::from(subtle::ConstantTimeEq::ct_eq(
                expected.as_bytes(),
                token.as_bytes(),
            ))
    }))
}

/// Whether `actor` opening `conv` tells the customer their messages were read: only the owner,
/// only on WhatsApp.
pub fn wants_read_receipt(
    conv: &crate::store::conversations::Conversation,
    actor: &crate::domain::policy::Actor,
) -> bool {
    conv.channel.kind == ChannelKind::Whatsapp
        && conv.assignee.as_ref().is_some_and(|a| a.id == actor.id.0)
}

/// Processes a kept webhook body (once: a processed or set-aside one is skipped), acting only on
/// the changes of the channels whose app secret signed it. Returns the media to fetch.
pub fn process(conn: &Connection, webhook_id: i64) -> Result<Vec<MediaJob>> {
    let Some(wa::KeptWebhook { body, verified }) = wa::find_unprocessed(conn, webhook_id)? else {
        return Ok(Vec::new());
    };
    let now = now_ms();
    let mut parsed = match webhook::parse(&body) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(webhook = webhook_id, error = %e, "kept a WhatsApp webhook we cannot read");
            wa::mark_processed(conn, webhook_id, &format!("not understood: {e}"), now)?;
            return Ok(Vec::new());
        }
    };
    let mut jobs = Vec::new();
    let (mut new, mut dup, mut statuses, mut problems) = (0, 0, 0, parsed.ignored.clone());
    problems.extend(super::webhooks::drop_unverified(
        conn,
        webhook_id,
        &mut parsed,
        verified.as_deref(),
    )?);
    let mut dropped = 0;
    for m in &parsed.messages {
        if whatsapp_nature(&m.kind, m.has_content) == InboundNature::Nothing {
            dropped += 1;
            continue;
        }
        match isolated(conn, || receive_message(conn, m)) {
            Ok(Some((created, job))) => {
                if created {
                    new += 1;
                } else {
                    dup += 1;
                }
                jobs.extend(job);
            }
            Ok(None) => problems.push(format!("no channel for number {}", m.phone_number_id)),
            Err(e) => problems.push(format!("message {}: {e}", m.id)),
        }
    }
    for s in &parsed.statuses {
        match isolated(conn, || apply_status(conn, s)) {
            Ok(true) => statuses += 1,
            Ok(false) => {}
            Err(e) => problems.push(format!("status of {}: {e}", s.id)),
        }
    }
    let mut outcome = format!(
        "{} messages ({new} new, {dup} repeated, {dropped} reactions removed), {} statuses ({statuses} applied)",
        parsed.messages.len(),
        parsed.statuses.len()
    );
    if !problems.is_empty() {
        problems.truncate(20);
        outcome.push_str("; ignored: ");
        outcome.push_str(&problems.join("; "));
    }
    wa::mark_processed(conn, webhook_id, &outcome, now)?;
    Ok(jobs)
}

/// Ties the identities a message arrives with to one contact before it is stored: a BSUID and a
/// phone id that arrive together (so the customer stays one contact across the BSUID
/// roll-out), and a phone id we do not know yet that is another form of a known contact's
/// (Brazil's ninth digit, Mexico's `521`: [`contacts_service::find_wa_contact`]), so the reply to
/// a conversation staff started lands in it. An identity another contact holds is left alone.
fn link_identities(
    conn: &Connection,
    channel: ChannelId,
    bsuid: Option<&str>,
    wa_id: Option<&str>,
) -> Result<()> {
    let by_b = match bsuid {
        Some(b) => contacts::find_identity(conn, channel, "bsuid", b)?,
        None => None,
    };
    let by_w = match wa_id {
        Some(w) => contacts_service::find_wa_contact(conn, channel, w)?,
        None => None,
    };
    match (by_b, by_w, bsuid, wa_id) {
        (None, Some(c), Some(b), _) => contacts::insert_identity(conn, c, channel, "bsuid", b)?,
        (Some(c), None, _, Some(w)) => {
            contacts::insert_identity(conn, c, channel, contacts_service::WA_ID, w)?
        }
        _ => {}
    }
    Ok(())
}

/// Learns the WhatsApp id Meta's answer to a send reports for the recipient (`contacts[0].wa_id`)
/// as an identity of the conversation's contact, when it differs from the number we sent to
/// (Brazil's ninth digit, Mexico's `521`, or an account Meta knows under another id): the
/// customer's reply comes from that id and must find this contact. The shown phone stays the
/// number we sent to, which Meta accepted. An id another contact holds already is left alone.
pub fn learn_recipient_wa_id(
    conn: &Connection,
    conversation: ConversationId,
    channel: ChannelId,
    wa_id: &str,
) -> Result<()> {
    let wa_id = wa_id.trim().trim_start_matches('+');
    if wa_id.is_empty() || !wa_id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    let Some(contact) = contacts::find_contact_of_conversation(conn, conversation)? else {
        return Ok(());
    };
    match contacts::find_identity(conn, channel, contacts_service::WA_ID, wa_id)? {
        Some(c) if c == contact => {}
        Some(other) => tracing::warn!(
            contact = contact.0,
            other = other.0,
            wa_id,
            "WhatsApp answered a send with the id of another contact; left as it is"
        ),
        None => {
            tracing::info!(
                contact = contact.0,
                wa_id,
                "learnt the WhatsApp id Meta reported for a send"
            );
            contacts::insert_identity(conn, contact, channel, contacts_service::WA_ID, wa_id)?;
        }
    }
    Ok(())
}

/// Stores one customer message; `None` when no channel has its phone number id. Returns
/// whether it was new and the media to fetch.
fn receive_message(conn: &Connection, m: &InMessage) -> Result<Option<(bool, Option<MediaJob>)>> {
    let Some(channel) = wa::find_channel_by_phone_number_id(conn, &m.phone_number_id)? else {
        return Ok(None);
    };
    let bsuid = m.user_id.as_deref();
    let wa_id = m.wa_id.as_deref();
    // A WhatsApp id already held as an identity says nothing new about the customer's number
    // (it may be one Meta's answer named, or the number before a change); a new one is their
    // number now, and is compared with the one held.
    let news = match wa_id {
        Some(w) => contacts::find_identity(conn, channel, contacts_service::WA_ID, w)?.is_none(),
        None => false,
    };
    link_identities(conn, channel, bsuid, wa_id)?;
    // Keyed on the business-scoped user id when present (it survives username adoption), else
    // the phone-based wa_id; a message with neither still lands, under its own id.
    let (kind, identifier) = match (bsuid, wa_id) {
        (Some(b), _) => ("bsuid", b),
        (None, Some(w)) => (contacts_service::WA_ID, w),
        (None, None) => ("wamid", m.id.as_str()),
    };
    let landed = receive(
        conn,
        &Inbound {
            channel,
            channel_kind: ChannelKind::Whatsapp,
            external_id: &m.id,
            identity_kind: kind,
            identifier,
            name: m.name.as_deref(),
            phone: wa_id.filter(|_| news),
            kind: &m.kind,
            text: &m.text,
            payload: Some(&m.payload),
            at: m.at,
            nature: whatsapp_nature(&m.kind, m.has_content),
        },
    )?;
    if !landed.created {
        return Ok(Some((false, None)));
    }
    // A new contact got the identity it is keyed on; give it the other one too.
    link_identities(conn, channel, bsuid, wa_id)?;
    if let Some(new_id) = &m.new_wa_id
        && let Some(c) = contacts::find_identity(conn, channel, kind, identifier)?
    {
        // "User changed number": the new number reaches the same contact from now on, and
        // becomes the one shown; the old one stays an identity, and the change is recorded.
        let new_id = new_id.trim().trim_start_matches('+');
        let holder = contacts::find_identity(conn, channel, contacts_service::WA_ID, new_id)?;
        if let Some(other) = holder.filter(|h| *h != c) {
            // The new number wrote before Meta's notice arrived and became a contact of its
            // own: pointing this one at it too would send replies to a number whose answers
            // land elsewhere. Both stay as they are; merging them is a person's call.
            tracing::warn!(
                contact = c.0,
                holder = other.0,
                "a changed number already belongs to another contact; not moved"
            );
        } else {
            contacts::insert_identity(conn, c, channel, contacts_service::WA_ID, new_id)?;
        }
        if holder.is_none_or(|h| h == c)
            && let Ok(new_phone) = phone::canonical(new_id)
        {
            contacts_service::observe_phone(
                conn,
                c,
                channel,
                &new_phone,
                PhoneSource::UserChangedNumber,
                now_ms(),
            )?;
        }
    }
    let job = match &m.media {
        Some(media) => {
            let now = now_ms();
            wa::insert_media(
                conn,
                landed.message_id,
                channel,
                &media.id,
                media.mime_type.as_deref(),
                media.filename.as_deref(),
                now,
            )?;
            wa::find_pending_media(conn, landed.message_id)?
        }
        None => None,
    };
    Ok(Some((true, job)))
}

fn parse_status(s: &str) -> Option<DeliveryStatus> {
    match s {
        "sent" => Some(DeliveryStatus::Sent),
        "delivered" => Some(DeliveryStatus::Delivered),
        // A voice message played counts as read.
        "read" | "played" => Some(DeliveryStatus::Read),
        "failed" => Some(DeliveryStatus::Failed),
        _ => None,
    }
}

/// Applies a delivery receipt; returns whether it changed the message. The status only moves
/// forward, so a late `delivered` after `read`, or a repeated receipt, changes nothing.
fn apply_status(conn: &Connection, s: &StatusUpdate) -> Result<bool> {
    let Some(channel) = wa::find_channel_by_phone_number_id(conn, &s.phone_number_id)? else {
        return Ok(false);
    };
    let Some(next) = parse_status(&s.status) else {
        return Ok(false);
    };
    let now = now_ms();
    let mut found = messages::find_by_external(conn, channel, &s.id)?;
    if found.is_none()
        && let Some(outbox_id) = s
            .biz_opaque_callback_data
            .as_deref()
            .and_then(graph::outbox_from_opaque)
        && let Some((mid, ch, _)) = wa::find_outbox_message(conn, outbox_id)?
        && ch == channel
    {
        // Our send's answer was lost (or is still on its way): the echo of the outbox id tells
        // which message this is, and that it left, so the dispatcher must not send it again.
        messages::update_external_id(conn, mid, &s.id)?;
        if wa::mark_outbox_done_by_status(conn, outbox_id, now)? {
            tracing::info!(
                outbox = outbox_id,
                "a status confirmed a send whose answer was lost"
            );
        }
        found = messages::find_by_external(conn, channel, &s.id)?;
    }
    let Some((mid, conv)) = found else {
        return Ok(false);
    };
    // Meta's words are all there is here: they are both the message and the provider's text.
    let error = s.error.as_ref().map(|e| SendFailure {
        code: e.code.clone(),
        message: e.text.clone(),
        provider_message: Some(e.text.clone()),
    });
    if !super::messages::apply_status(conn, mid, conv, next, error.as_ref(), now)? {
        return Ok(false);
    }
    if let Some(e) = error.filter(|_| next == DeliveryStatus::Failed) {
        on_send_rejected(conn, conv, channel, &e.code, &e.message, now)?;
    }
    Ok(true)
}

/// What a refused send changes beyond the message: 131047 closes the customer service window at
/// once; 190 (token) raises an alert for the owner.
pub fn on_send_rejected(
    conn: &Connection,
    conv: ConversationId,
    channel: ChannelId,
    code: &str,
    reason: &str,
    now: i64,
) -> Result<()> {
    match code.parse::<i64>() {
        Ok(graph::WINDOW_CLOSED) => wa::close_window(conn, conv, now)?,
        Ok(graph::TOKEN_INVALID) => {
            tracing::error!(
                channel = channel.0,
                "the WhatsApp access token was refused (190)"
            );
            events::insert_event(
                conn,
                None,
                &Event::ChannelAlert(ChannelAlert {
                    channel_id: channel,
                    code: code.to_string(),
                    message: reason.to_string(),
                }),
                None,
                now,
            )?;
        }
        _ => {}
    }
    Ok(())
}
