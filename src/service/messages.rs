//! Customer-visible messages from staff: replies by the assignee and conversations the business
//! starts. Each queues the message and its outbox row in the caller's transaction.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Value, json};

use super::conversations::{
    Assignment, Authorized, Created, MAX_TEXT, author, denied, named_user, view, write_assignment,
};
use super::{Error, Result, clean_text, invalid};
use crate::domain::conversation as rules;
use crate::domain::events::{
    ConversationCreated, Event, MessageCreated, MessageStatus, SendFailure, StatusChanged,
};
use crate::domain::policy::{self, Action, Actor, Denied};
use crate::domain::settings::Settings;
use crate::domain::time::Ts;
use crate::domain::time::now_ms;
use crate::domain::{
    ChannelId, ChannelKind, ConversationId, DeliveryStatus, Direction, MessageId, Status,
};
use crate::store::conversations::{self as convs, ConvState, Conversation, NewConversation};
use crate::store::messages::{self, NewMessage};
use crate::store::{channels, contacts, events, outbox, settings};

/// A template to send: name, language and positional parameters.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Template {
    /// Template name.
    pub name: String,
    /// Language code, such as `en_US`.
    pub language: String,
    /// Body parameters, in order.
    #[serde(default)]
    pub params: Vec<String>,
}

/// An attachment to send, by a link the provider fetches (or a media id it already holds).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct MediaOut {
    /// `image`, `video`, `audio`, `document` or `sticker`.
    #[serde(rename = "type")]
    pub kind: String,
    /// An http(s) URL of the file.
    #[serde(
        default,
        deserialize_with = "super::fields::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub link: Option<String>,
    /// A media id the provider already holds (uploaded earlier).
    #[serde(
        default,
        deserialize_with = "super::fields::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// Caption (image, video, document).
    #[serde(
        default,
        deserialize_with = "super::fields::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub caption: Option<String>,
    /// File name shown to the customer (document).
    #[serde(
        default,
        deserialize_with = "super::fields::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub filename: Option<String>,
}

/// What a staff member sends.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// Free text.
    Text(String),
    /// An approved template.
    Template(Template),
    /// An attachment.
    Media(MediaOut),
}

impl Outgoing {
    fn validate(self) -> Result<Outgoing> {
        match self {
            Outgoing::Text(t) => Ok(Outgoing::Text(clean_text("text", &t, MAX_TEXT)?)),
            Outgoing::Template(t) => {
                let name = clean_text("template name", &t.name, 512)?;
                let language = clean_text("template language", &t.language, 15)?;
                if t.params.len() > 100 || t.params.iter().any(|p| p.chars().count() > 1024) {
                    return Err(invalid(
                        "invalid_template",
                        "too many or too long template parameters",
                    ));
                }
                Ok(Outgoing::Template(Template {
                    name,
                    language,
                    params: t.params,
                }))
            }
            Outgoing::Media(m) => {
                if !crate::channels::whatsapp::graph::MEDIA_KINDS.contains(&m.kind.as_str()) {
                    return Err(invalid(
                        "invalid_media",
                        "media type must be image, video, audio, document or sticker",
                    ));
                }
                let link_ok = m.link.as_deref().is_some_and(|l| {
                    (l.starts_with("https://") || l.starts_with("http://"))
                        && l.len() <= 2048
                        && !l.chars().any(|c| c.is_whitespace() || c.is_control())
                });
                let id_ok = m.id.as_deref().is_some_and(|i| {
                    !i.is_empty() && i.len() <= 128 && i.chars().all(|c| c.is_ascii_alphanumeric())
                });
                if link_ok == id_ok {
                    return Err(invalid(
                        "invalid_media",
                        "media needs either an http(s) \"link\" or a media \"id\"",
                    ));
                }
                let caption = match m.caption.as_deref().map(str::trim) {
                    Some(c) if !c.is_empty() => Some(clean_text("caption", c, 1024)?),
                    _ => None,
                };
                let filename = match m.filename.as_deref().map(str::trim) {
                    Some(f) if !f.is_empty() => Some(clean_text("filename", f, 240)?),
                    _ => None,
                };
                Ok(Outgoing::Media(MediaOut {
                    caption,
                    filename,
                    ..m
                }))
            }
        }
    }

    fn parts(&self) -> (&'static str, String, Option<Value>) {
        match self {
            Outgoing::Text(t) => ("text", t.clone(), None),
            Outgoing::Template(t) => {
                let shown = if t.params.is_empty() {
                    format!("[template {}]", t.name)
                } else {
                    format!("[template {}: {}]", t.name, t.params.join(", "))
                };
                ("template", shown, Some(json!({"template": t})))
            }
            Outgoing::Media(m) => {
                let label = match (m.kind.as_str(), &m.filename) {
                    ("image", _) => "[photo]".to_string(),
                    ("document", Some(f)) => format!("[document: {f}]"),
                    (k, _) => format!("[{k}]"),
                };
                let shown = match &m.caption {
                    Some(c) => format!("{label} {c}"),
                    None => label,
                };
                ("media", shown, Some(json!({"media": m})))
            }
        }
    }
}

/// Queues a customer-visible message from the assignee: message, outbox row, status and events
/// in one transaction.
pub fn reply(conn: &Connection, auth: Authorized, out: Outgoing) -> Result<Created> {
    reply_quoting(conn, auth, out, None)
}

/// [`reply`], quoting one of the conversation's messages (WhatsApp shows it above the reply).
pub fn reply_quoting(
    conn: &Connection,
    auth: Authorized,
    out: Outgoing,
    quoted: Option<MessageId>,
) -> Result<Created> {
    auth.permits(conn, Action::Reply)?;
    let id = auth.id();
    let out = out.validate()?;
    let quote = match quoted {
        Some(q) => match messages::find_external_id(conn, q)? {
            Some((conv, external_id)) if conv == id => {
                Some(json!({"message_id": q, "external_id": external_id}))
            }
            _ => {
                return Err(invalid(
                    "invalid_reply_to",
                    "reply_to must name a message of this conversation",
                ));
            }
        },
        None => None,
    };
    send(
        conn,
        auth.actor(),
        auth.state(),
        auth.settings(),
        out,
        quote,
    )
}

fn send(
    conn: &Connection,
    actor: &Actor,
    state: &ConvState,
    settings: &Settings,
    out: Outgoing,
    quote: Option<Value>,
) -> Result<Created> {
    let now = now_ms();
    if !matches!(out, Outgoing::Template(_))
        && !rules::free_text_allowed(state.channel_kind, state.window_closes_at, now)
    {
        return Err(invalid(
            "window_closed",
            "the 24-hour window is closed: send a template",
        ));
    }
    let (kind, text, mut payload) = out.parts();
    if let Some(q) = quote {
        payload.get_or_insert_with(|| json!({}))["reply_to"] = q;
    }
    let mid = messages::insert_message(
        conn,
        &NewMessage {
            conversation: state.id,
            channel: state.channel_id,
            direction: Direction::Out,
            kind,
            text: &text,
            payload: payload.as_ref(),
            author: Some(actor.id),
            status: DeliveryStatus::Queued,
            external_id: None,
            created_at: now,
        },
    )?;
    outbox::insert_outbox(conn, mid, state.channel_id, now)?;
    let status = rules::on_staff_reply(state.status, settings.auto_pending_on_reply);
    convs::record_outbound(conn, state.id, &preview(&text), status, now)?;
    if let Some(cycle) = state.cycle_id {
        crate::store::cycles::mark_first_response(conn, cycle, now, actor.id)?;
    }
    events::insert_event(
        conn,
        Some(state.id),
        &Event::MessageCreated(MessageCreated {
            message_id: mid,
            direction: Direction::Out,
        }),
        Some(actor.id),
        now,
    )?;
    if status != state.status {
        events::insert_event(
            conn,
            Some(state.id),
            &Event::ConversationStatus(StatusChanged {
                from: state.status,
                to: status,
                until: None,
            }),
            Some(actor.id),
            now,
        )?;
    }
    super::sla::sync(conn, state.id, now)?;
    Ok(Created {
        kind: "message",
        id: mid.0,
        conversation_id: state.id,
        at: Ts(now),
        author: author(conn, actor.id)?,
        text,
        direction: Some(Direction::Out),
        status: Some(DeliveryStatus::Queued),
        error: None,
        payload,
    })
}

/// The first line of a message, shortened for queue rows.
pub fn preview(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut p: String = line.chars().take(140).collect();
    if line.chars().count() > 140 {
        p.push('…');
    }
    p
}

/// Starts (or resumes) a conversation with a customer by phone: the starter becomes assignee
/// and the first message is queued.
pub fn start(
    conn: &Connection,
    actor: &Actor,
    channel: ChannelId,
    phone: &str,
    name: Option<&str>,
    out: Outgoing,
) -> Result<Conversation> {
    let channel = channels::find_channel(conn, channel)?
        .ok_or_else(|| invalid("unknown_channel", format!("there is no channel {channel}")))?;
    let phone = super::contacts::typed_phone(phone)?;
    let out = out.validate()?;
    if channel.kind.has_service_window() && !matches!(out, Outgoing::Template(_)) {
        return Err(invalid(
            "window_closed",
            "a conversation the business starts must open with a template",
        ));
    }
    let now = now_ms();
    let id_kind = identity_kind(channel.kind);
    // Identities hold the number without `+` (a WhatsApp id); on WhatsApp another form of the
    // same number (Brazil's ninth digit, Mexico's 521) finds the same customer.
    let identifier = crate::domain::phone::wa_id(&phone);
    let known = match channel.kind {
        ChannelKind::Whatsapp => super::contacts::find_wa_contact(conn, channel.id, identifier)?,
        ChannelKind::Api => contacts::find_identity(conn, channel.id, id_kind, identifier)?,
    };
    let contact = match known {
        Some(c) => c,
        None => {
            let c = contacts::insert_contact(
                conn,
                name.map(str::trim)
                    .filter(|n| !n.is_empty())
                    .unwrap_or(&phone),
                Some(&phone),
                now,
            )?;
            contacts::insert_identity(conn, c, channel.id, id_kind, identifier)?;
            c
        }
    };
    let id = match convs::find_latest_for_contact(conn, contact, channel.id)? {
        Some(existing) => {
            let state =
                convs::find_conv_state(conn, existing)?.ok_or(Error::NotFound("conversation"))?;
            // Starting with a customer who already has a conversation takes that conversation,
            // so it obeys the claim rule: 404 when the caller may not see it; 409 when someone
            // else holds it (resolved included) unless a manager or owner takes it over.
            let visibility = settings::load_settings(conn)?.agent_visibility;
            if !policy::can_see(actor, visibility, &state.ownership()) {
                return Err(Error::NotFound("conversation"));
            }
            match state.assignee {
                Some(owner) if owner != actor.id && !actor.is_manager() => {
                    return Err(denied(conn, Denied::AlreadyAssigned { owner }));
                }
                None => policy::check(actor, visibility, Action::Claim, &state.ownership())
                    .map_err(|d| denied(conn, d))?,
                _ => {}
            }
            if state.assignee != Some(actor.id) {
                write_assignment(
                    conn,
                    existing,
                    &Assignment {
                        from: state.assignee,
                        to: Some(actor.id),
                        team: state.team,
                        note: None,
                        actor: Some(actor.id),
                        claim: false,
                    },
                    now,
                )?;
            }
            existing
        }
        None => {
            let id = convs::insert_conversation(
                conn,
                &NewConversation {
                    channel: channel.id,
                    contact,
                    status: Status::Open,
                    assignee: Some(actor.id),
                    team: None,
                },
                now,
            )?;
            events::insert_event(
                conn,
                Some(id),
                &Event::ConversationCreated(ConversationCreated {
                    outbound: true,
                    assignee: named_user(conn, Some(actor.id))?,
                }),
                Some(actor.id),
                now,
            )?;
            id
        }
    };
    let state = convs::find_conv_state(conn, id)?.ok_or(Error::NotFound("conversation"))?;
    let settings = settings::load_settings(conn)?;
    send(conn, actor, &state, &settings, out, None)?;
    view(conn, id)
}

/// How a channel identifies a customer reached by phone.
pub fn identity_kind(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Api => "api",
        ChannelKind::Whatsapp => "wa_id",
    }
}

/// The one writer of delivery statuses: moves message `message` of `conversation` to `next` and
/// records `message.status` (with `error`, for `failed` only), in the caller's transaction.
/// Both the outbox's outcome and the provider's status webhooks come here. A status only moves
/// forward ([`DeliveryStatus::can_become`]), so a late or repeated one changes nothing and
/// returns `false`.
pub fn apply_status(
    conn: &Connection,
    message: MessageId,
    conversation: ConversationId,
    next: DeliveryStatus,
    error: Option<&SendFailure>,
    now: i64,
) -> Result<bool> {
    let current = messages::find_status(conn, message)?;
    if !current.is_some_and(|c| c.can_become(next)) {
        return Ok(false);
    }
    let error = error.filter(|_| next == DeliveryStatus::Failed);
    messages::update_status(conn, message, next, error)?;
    events::insert_event(
        conn,
        Some(conversation),
        &Event::MessageStatus(MessageStatus {
            message_id: message,
            status: next,
            error: error.cloned(),
        }),
        None,
        now,
    )?;
    Ok(true)
}

/// The end of one send attempt, as the outbox dispatcher reports it.
#[derive(Debug, Clone)]
pub struct SendOutcome {
    /// The outbox row.
    pub outbox_id: i64,
    /// Attempts made, this one included.
    pub attempts: i64,
    /// The message sent.
    pub message: MessageId,
    /// Its conversation.
    pub conversation: ConversationId,
    /// Its channel.
    pub channel: ChannelId,
    /// The message's status afterwards (`sent`, `delivered` or `failed`).
    pub status: DeliveryStatus,
    /// The provider's id of the message, when it gave one.
    pub external_id: Option<String>,
    /// Why it failed, when it did (never retried after this).
    pub error: Option<SendFailure>,
    /// The recipient's id as the provider's answer named it (WhatsApp's `contacts[0].wa_id`),
    /// when it gave one.
    pub recipient_wa_id: Option<String>,
}

/// Records a final send outcome: closes the outbox row (once: a row already settled, say by a
/// status webhook, changes nothing), keeps the provider's id, moves the delivery status through
/// [`apply_status`], and lets a refusal change what it must (a closed window, a token alert).
/// The recipient id the answer named is learnt for the contact even when a status settled the
/// row first ([`super::whatsapp::learn_recipient_wa_id`]).
pub fn record_send(conn: &Connection, o: &SendOutcome, now: i64) -> Result<()> {
    if let Some(wa_id) = &o.recipient_wa_id {
        super::whatsapp::learn_recipient_wa_id(conn, o.conversation, o.channel, wa_id)?;
    }
    let closed = match &o.error {
        None => outbox::mark_done(conn, o.outbox_id, o.attempts, now)?,
        Some(e) => outbox::mark_failed(conn, o.outbox_id, o.attempts, &e.message, now)?,
    };
    if !closed {
        return Ok(());
    }
    if let Some(id) = &o.external_id {
        messages::update_external_id(conn, o.message, id)?;
    }
    apply_status(
        conn,
        o.message,
        o.conversation,
        o.status,
        o.error.as_ref(),
        now,
    )?;
    if let Some(e) = &o.error {
        super::whatsapp::on_send_rejected(
            conn,
            o.conversation,
            o.channel,
            &e.code,
            &e.message,
            now,
        )?;
    }
    Ok(())
}
