//! Every kind of event, with its typed payload: built by the operation that makes the change,
//! stored by the store as a `kind` string and its `data` JSON, read by the timeline and the live
//! stream. A kind is never a string literal at a call site; use [`Event::kind`] or [`kind`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::time::Ts;
use super::{
    ChannelId, ContactId, DeliveryStatus, Direction, MessageId, NoteId, Role, Status, UserStatus,
};

/// The stable spelling of every event kind, as stored and as sent on the live stream.
pub mod kind {
    /// A conversation began (a customer wrote, or staff started one).
    pub const CONVERSATION_CREATED: &str = "conversation.created";
    /// Someone took an unassigned conversation.
    pub const CONVERSATION_CLAIMED: &str = "conversation.claimed";
    /// A conversation was assigned, transferred or released.
    pub const CONVERSATION_ASSIGNED: &str = "conversation.assigned";
    /// A conversation's status changed.
    pub const CONVERSATION_STATUS: &str = "conversation.status";
    /// Tags were added or removed.
    pub const CONVERSATION_TAGGED: &str = "conversation.tagged";
    /// A private note was written.
    pub const NOTE_CREATED: &str = "note.created";
    /// A message came in or was queued.
    pub const MESSAGE_CREATED: &str = "message.created";
    /// A message's delivery status moved forward.
    pub const MESSAGE_STATUS: &str = "message.status";
    /// A channel needs the owner's attention (an expired token).
    pub const CHANNEL_ALERT: &str = "channel.alert";
    /// A contact's details changed.
    pub const CONTACT_UPDATED: &str = "contact.updated";
    /// A contact's phone number changed (shown in the timeline of their latest conversation).
    pub const CONTACT_PHONE_CHANGED: &str = "contact.phone_changed";
    /// A staff member's name, role, teams or access changed.
    pub const USER_UPDATED: &str = "user.updated";
    /// A staff member's availability changed.
    pub const USER_STATUS: &str = "user.status";
    /// An unassigned conversation waited longer than `unassigned_alert_secs` (once per
    /// conversation).
    pub const QUEUE_UNASSIGNED_ALERT: &str = "queue.unassigned_alert";
    /// An assignee left a waiting customer unanswered for `take_back_secs`: back to the pool.
    pub const CONVERSATION_TAKEN_BACK: &str = "conversation.taken_back";
    /// An SLA target reached its warning share (`warn_at`) and is at risk.
    pub const SLA_WARNING: &str = "sla.warning";
    /// An SLA target passed its due time.
    pub const SLA_BREACHED: &str = "sla.breached";
    /// Workspace settings changed.
    pub const SETTINGS_UPDATED: &str = "settings.updated";
    /// Someone is viewing or typing in a conversation (live stream only, never stored).
    pub const PRESENCE: &str = "presence";
    /// The menu bot took a conversation and sent its menu (#13).
    pub const BOT_STARTED: &str = "bot.started";
    /// The menu bot handed a conversation to people, with why.
    pub const BOT_HANDOFF: &str = "bot.handoff";
    /// A customer answered the satisfaction survey.
    pub const CSAT_RECEIVED: &str = "csat.received";
}

/// A reference to a person or team: `{"id","name"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    /// Id.
    pub id: i64,
    /// Display name.
    pub name: String,
}

/// Why a message could not be delivered: `{"code","message","provider_message"}`, the same
/// shape on the message (timeline `error`) and in its `message.status` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendFailure {
    /// The provider's code (`131047`), or ours (`send_failed`, `http_404`).
    pub code: String,
    /// What the agent reads: our explanation when we have one, else the provider's words.
    pub message: String,
    /// The provider's own words, verbatim (`error.message` and `error_data.details`), when it
    /// gave any; `null` when the failure was ours (network, gave up after retries).
    pub provider_message: Option<String>,
}

/// `conversation.created`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationCreated {
    /// Staff started it (an outbound conversation).
    pub outbound: bool,
    /// Who holds it from the start (outbound only; absent for inbound).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Named>,
}

/// `conversation.claimed`: `to` took it from the pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claimed {
    /// Always `null`: only an unassigned conversation can be claimed.
    pub from: Option<Named>,
    /// Who took it.
    pub to: Option<Named>,
    /// Its team.
    pub team: Option<Named>,
}

/// `conversation.assigned`: assignee `from` → `to` (`null`: the pool), by `by` (`null`: routing).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assigned {
    /// The previous assignee.
    pub from: Option<Named>,
    /// The new assignee; `null` releases to the pool.
    pub to: Option<Named>,
    /// Who did it; `null` when the server did (routing, take-back).
    pub by: Option<Named>,
    /// The team afterwards.
    pub team: Option<Named>,
    /// A note stored with the handoff.
    pub note_id: Option<NoteId>,
}

/// `conversation.status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusChanged {
    /// Before.
    pub from: Status,
    /// After.
    pub to: Status,
    /// End of a snooze.
    pub until: Option<Ts>,
}

/// `conversation.tagged`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tagged {
    /// Tags added.
    pub added: Vec<String>,
    /// Tags removed.
    pub removed: Vec<String>,
}

/// `note.created`: `{"note_id","mentions":[{"id","name"}]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteCreated {
    /// The note.
    pub note_id: NoteId,
    /// The staff members it mentions (`@Ana` in its text or the API's `mentions` ids), in order
    /// of first mention; empty when none.
    pub mentions: Vec<Named>,
}

/// `message.created`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageCreated {
    /// The message.
    pub message_id: MessageId,
    /// From the customer (`in`) or from staff (`out`).
    pub direction: Direction,
}

/// `message.status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageStatus {
    /// The message.
    pub message_id: MessageId,
    /// Its status now.
    pub status: DeliveryStatus,
    /// Why it failed (`failed` only).
    pub error: Option<SendFailure>,
}

/// `channel.alert`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelAlert {
    /// The channel.
    pub channel_id: ChannelId,
    /// The provider's code.
    pub code: String,
    /// What happened.
    pub message: String,
}

/// `contact.updated`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactUpdated {
    /// The contact.
    pub contact_id: ContactId,
}

/// What told us a contact's number changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneSource {
    /// A customer message that came with another number than the one we held.
    Inbound,
    /// WhatsApp's "user changed number" system message.
    UserChangedNumber,
    /// A staff member edited the contact.
    Staff,
}

/// `contact.phone_changed`: `{"contact_id","from","to","source"}`, numbers in the canonical
/// form (`+` and digits; `from` is `null` when there was none). Recorded on the contact's
/// latest conversation so it shows in its timeline; the old number stays reachable as an
/// identity where it was one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhoneChanged {
    /// The contact.
    pub contact_id: ContactId,
    /// The number before (`null`: none).
    pub from: Option<String>,
    /// The number now (`null`: cleared by staff).
    pub to: Option<String>,
    /// What told us.
    pub source: PhoneSource,
}

/// `user.updated`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserUpdated {
    /// Who, with their name afterwards.
    pub user: Named,
    /// Their role afterwards.
    pub role: Role,
    /// Whether they are disabled afterwards.
    pub disabled: bool,
}

/// `user.status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserStatusChanged {
    /// Who.
    pub user: Named,
    /// Before.
    pub from: UserStatus,
    /// After.
    pub to: UserStatus,
    /// Set by the server (no open event stream), not by the person.
    pub auto: bool,
}

/// `presence` (live stream only).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Presence {
    /// `viewing`, `typing` or `left`.
    pub state: String,
    /// Who.
    pub user: Named,
}

/// `sla.warning` / `sla.breached`: `{"target":"first_response|next_response|resolution","due_at"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaAlert {
    /// Which target.
    pub target: super::sla::Target,
    /// When it is (or was) due.
    pub due_at: Ts,
}

/// `queue.unassigned_alert`: `{"waiting_since","after_secs"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnassignedAlert {
    /// Since when the customer waits.
    pub waiting_since: Ts,
    /// How long they had waited when the alert was raised, seconds.
    pub after_secs: i64,
}

/// `conversation.taken_back`: `{"from":{"id","name"},"after_secs"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TakenBack {
    /// Who had it.
    pub from: Option<Named>,
    /// How long the customer had waited on them, seconds.
    pub after_secs: i64,
}

/// `bot.started`: `{}` (the menu that went out is the automated message beside it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BotStarted {}

/// Why the bot let go of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffReason {
    /// The customer picked an option.
    Option,
    /// The customer asked for a person (a human keyword).
    Keyword,
    /// A second answer matched no option.
    NoMatch,
    /// No choice within the menu's `timeout_secs`.
    Timeout,
}

/// `bot.handoff`: `{"reason":"option|keyword|no_match|timeout","option_id"|null}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BotHandoff {
    /// Why.
    pub reason: HandoffReason,
    /// The option picked (reason `option` only).
    pub option_id: Option<String>,
}

/// `csat.received`: `{"score":1..5,"cycle_id"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CsatReceived {
    /// The customer's score, 1–5.
    pub score: u8,
    /// The resolved cycle it rates.
    pub cycle_id: i64,
}

/// Every event, one variant per kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `conversation.created`.
    ConversationCreated(ConversationCreated),
    /// `conversation.claimed`.
    ConversationClaimed(Claimed),
    /// `conversation.assigned`.
    ConversationAssigned(Assigned),
    /// `conversation.status`.
    ConversationStatus(StatusChanged),
    /// `conversation.tagged`.
    ConversationTagged(Tagged),
    /// `note.created`.
    NoteCreated(NoteCreated),
    /// `message.created`.
    MessageCreated(MessageCreated),
    /// `message.status`.
    MessageStatus(MessageStatus),
    /// `channel.alert`.
    ChannelAlert(ChannelAlert),
    /// `contact.updated`.
    ContactUpdated(ContactUpdated),
    /// `contact.phone_changed`.
    ContactPhoneChanged(PhoneChanged),
    /// `user.updated`.
    UserUpdated(UserUpdated),
    /// `user.status`.
    UserStatus(UserStatusChanged),
    /// `settings.updated`: the changed settings, key → new value.
    SettingsUpdated(Map<String, Value>),
    /// `presence` (live stream only, never stored).
    Presence(Presence),
    /// `queue.unassigned_alert`.
    UnassignedAlert(UnassignedAlert),
    /// `conversation.taken_back`.
    TakenBack(TakenBack),
    /// `sla.warning`.
    SlaWarning(SlaAlert),
    /// `sla.breached`.
    SlaBreached(SlaAlert),
    /// `bot.started`.
    BotStarted(BotStarted),
    /// `bot.handoff`.
    BotHandoff(BotHandoff),
    /// `csat.received`.
    CsatReceived(CsatReceived),
}

impl Event {
    /// The stable kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::ConversationCreated(_) => kind::CONVERSATION_CREATED,
            Event::ConversationClaimed(_) => kind::CONVERSATION_CLAIMED,
            Event::ConversationAssigned(_) => kind::CONVERSATION_ASSIGNED,
            Event::ConversationStatus(_) => kind::CONVERSATION_STATUS,
            Event::ConversationTagged(_) => kind::CONVERSATION_TAGGED,
            Event::NoteCreated(_) => kind::NOTE_CREATED,
            Event::MessageCreated(_) => kind::MESSAGE_CREATED,
            Event::MessageStatus(_) => kind::MESSAGE_STATUS,
            Event::ChannelAlert(_) => kind::CHANNEL_ALERT,
            Event::ContactUpdated(_) => kind::CONTACT_UPDATED,
            Event::ContactPhoneChanged(_) => kind::CONTACT_PHONE_CHANGED,
            Event::UserUpdated(_) => kind::USER_UPDATED,
            Event::UserStatus(_) => kind::USER_STATUS,
            Event::SettingsUpdated(_) => kind::SETTINGS_UPDATED,
            Event::Presence(_) => kind::PRESENCE,
            Event::UnassignedAlert(_) => kind::QUEUE_UNASSIGNED_ALERT,
            Event::TakenBack(_) => kind::CONVERSATION_TAKEN_BACK,
            Event::SlaWarning(_) => kind::SLA_WARNING,
            Event::SlaBreached(_) => kind::SLA_BREACHED,
            Event::BotStarted(_) => kind::BOT_STARTED,
            Event::BotHandoff(_) => kind::BOT_HANDOFF,
            Event::CsatReceived(_) => kind::CSAT_RECEIVED,
        }
    }

    /// The `data` JSON, as stored and as sent.
    pub fn data(&self) -> Value {
        fn json(v: impl Serialize) -> Value {
            // Plain structs of strings, numbers and options: serializing cannot fail.
            serde_json::to_value(v).unwrap_or(Value::Null)
        }
        match self {
            Event::ConversationCreated(p) => json(p),
            Event::ConversationClaimed(p) => json(p),
            Event::ConversationAssigned(p) => json(p),
            Event::ConversationStatus(p) => json(p),
            Event::ConversationTagged(p) => json(p),
            Event::NoteCreated(p) => json(p),
            Event::MessageCreated(p) => json(p),
            Event::MessageStatus(p) => json(p),
            Event::ChannelAlert(p) => json(p),
            Event::ContactUpdated(p) => json(p),
            Event::ContactPhoneChanged(p) => json(p),
            Event::UserUpdated(p) => json(p),
            Event::UserStatus(p) => json(p),
            Event::SettingsUpdated(changed) => Value::Object(changed.clone()),
            Event::Presence(p) => json(p),
            Event::UnassignedAlert(p) => json(p),
            Event::TakenBack(p) => json(p),
            Event::SlaWarning(p) | Event::SlaBreached(p) => json(p),
            Event::BotStarted(p) => json(p),
            Event::BotHandoff(p) => json(p),
            Event::CsatReceived(p) => json(p),
        }
    }

    /// Whether the kind changes who may see what (a role, a team, the visibility setting), so a
    /// live stream must reload its viewer before filtering.
    pub fn changes_viewers(kind: &str) -> bool {
        matches!(kind, kind::SETTINGS_UPDATED | kind::USER_UPDATED)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ana() -> Named {
        Named {
            id: 2,
            name: "Ana".into(),
        }
    }

    fn sales() -> Named {
        Named {
            id: 7,
            name: "Sales".into(),
        }
    }

    /// Every variant, with the kind and data JSON it had before events were typed.
    #[test]
    fn every_kind_keeps_its_stored_shape() {
        let failure = SendFailure {
            code: "131047".into(),
            message: "the 24-hour window is closed: send a template".into(),
            provider_message: Some("Re-engagement message".into()),
        };
        let mut changed = Map::new();
        changed.insert("timezone".into(), json!("Europe/Lisbon"));
        let table: Vec<(Event, &str, Value)> = vec![
            (
                Event::ConversationCreated(ConversationCreated {
                    outbound: false,
                    assignee: None,
                }),
                "conversation.created",
                json!({"outbound": false}),
            ),
            (
                Event::ConversationCreated(ConversationCreated {
                    outbound: true,
                    assignee: Some(ana()),
                }),
                "conversation.created",
                json!({"outbound": true, "assignee": {"id": 2, "name": "Ana"}}),
            ),
            (
                Event::ConversationClaimed(Claimed {
                    from: None,
                    to: Some(ana()),
                    team: None,
                }),
                "conversation.claimed",
                json!({"from": null, "to": {"id": 2, "name": "Ana"}, "team": null}),
            ),
            (
                Event::ConversationAssigned(Assigned {
                    from: None,
                    to: Some(ana()),
                    by: Some(ana()),
                    team: Some(sales()),
                    note_id: Some(NoteId(5)),
                }),
                "conversation.assigned",
                json!({"from": null, "to": {"id": 2, "name": "Ana"}, "by": {"id": 2, "name": "Ana"},
                       "team": {"id": 7, "name": "Sales"}, "note_id": 5}),
            ),
            (
                Event::ConversationAssigned(Assigned {
                    from: Some(ana()),
                    to: None,
                    by: None,
                    team: None,
                    note_id: None,
                }),
                "conversation.assigned",
                json!({"from": {"id": 2, "name": "Ana"}, "to": null, "by": null, "team": null,
                       "note_id": null}),
            ),
            (
                Event::ConversationStatus(StatusChanged {
                    from: Status::Open,
                    to: Status::Snoozed,
                    until: Some(Ts(0)),
                }),
                "conversation.status",
                json!({"from": "open", "to": "snoozed", "until": "1970-01-01T00:00:00.000Z"}),
            ),
            (
                Event::ConversationStatus(StatusChanged {
                    from: Status::Resolved,
                    to: Status::Open,
                    until: None,
                }),
                "conversation.status",
                json!({"from": "resolved", "to": "open", "until": null}),
            ),
            (
                Event::ConversationTagged(Tagged {
                    added: vec!["vip".into()],
                    removed: vec![],
                }),
                "conversation.tagged",
                json!({"added": ["vip"], "removed": []}),
            ),
            (
                Event::NoteCreated(NoteCreated {
                    note_id: NoteId(9),
                    mentions: vec![],
                }),
                "note.created",
                json!({"note_id": 9, "mentions": []}),
            ),
            (
                Event::NoteCreated(NoteCreated {
                    note_id: NoteId(9),
                    mentions: vec![ana()],
                }),
                "note.created",
                json!({"note_id": 9, "mentions": [{"id": 2, "name": "Ana"}]}),
            ),
            (
                Event::MessageCreated(MessageCreated {
                    message_id: MessageId(3),
                    direction: Direction::In,
                }),
                "message.created",
                json!({"message_id": 3, "direction": "in"}),
            ),
            (
                Event::MessageStatus(MessageStatus {
                    message_id: MessageId(3),
                    status: DeliveryStatus::Sent,
                    error: None,
                }),
                "message.status",
                json!({"message_id": 3, "status": "sent", "error": null}),
            ),
            (
                Event::MessageStatus(MessageStatus {
                    message_id: MessageId(3),
                    status: DeliveryStatus::Failed,
                    error: Some(failure),
                }),
                "message.status",
                json!({"message_id": 3, "status": "failed", "error": {"code": "131047",
                       "message": "the 24-hour window is closed: send a template",
                       "provider_message": "Re-engagement message"}}),
            ),
            (
                Event::ChannelAlert(ChannelAlert {
                    channel_id: ChannelId(4),
                    code: "190".into(),
                    message: "expired".into(),
                }),
                "channel.alert",
                json!({"channel_id": 4, "code": "190", "message": "expired"}),
            ),
            (
                Event::ContactUpdated(ContactUpdated {
                    contact_id: ContactId(8),
                }),
                "contact.updated",
                json!({"contact_id": 8}),
            ),
            (
                Event::ContactPhoneChanged(PhoneChanged {
                    contact_id: ContactId(8),
                    from: Some("+4915123456789".into()),
                    to: Some("+4915199999999".into()),
                    source: PhoneSource::UserChangedNumber,
                }),
                "contact.phone_changed",
                json!({"contact_id": 8, "from": "+4915123456789", "to": "+4915199999999",
                       "source": "user_changed_number"}),
            ),
            (
                Event::UserUpdated(UserUpdated {
                    user: ana(),
                    role: Role::Agent,
                    disabled: false,
                }),
                "user.updated",
                json!({"user": {"id": 2, "name": "Ana"}, "role": "agent", "disabled": false}),
            ),
            (
                Event::UserStatus(UserStatusChanged {
                    user: ana(),
                    from: UserStatus::Available,
                    to: UserStatus::Offline,
                    auto: true,
                }),
                "user.status",
                json!({"user": {"id": 2, "name": "Ana"}, "from": "available", "to": "offline",
                       "auto": true}),
            ),
            (
                Event::SettingsUpdated(changed),
                "settings.updated",
                json!({"timezone": "Europe/Lisbon"}),
            ),
            (
                Event::Presence(Presence {
                    state: "typing".into(),
                    user: ana(),
                }),
                "presence",
                json!({"state": "typing", "user": {"id": 2, "name": "Ana"}}),
            ),
            (
                Event::UnassignedAlert(UnassignedAlert {
                    waiting_since: Ts(0),
                    after_secs: 300,
                }),
                "queue.unassigned_alert",
                json!({"waiting_since": "1970-01-01T00:00:00.000Z", "after_secs": 300}),
            ),
            (
                Event::TakenBack(TakenBack {
                    from: Some(ana()),
                    after_secs: 600,
                }),
                "conversation.taken_back",
                json!({"from": {"id": 2, "name": "Ana"}, "after_secs": 600}),
            ),
            (
                Event::SlaWarning(SlaAlert {
                    target: super::super::sla::Target::FirstResponse,
                    due_at: Ts(0),
                }),
                "sla.warning",
                json!({"target": "first_response", "due_at": "1970-01-01T00:00:00.000Z"}),
            ),
            (
                Event::SlaBreached(SlaAlert {
                    target: super::super::sla::Target::NextResponse,
                    due_at: Ts(1),
                }),
                "sla.breached",
                json!({"target": "next_response", "due_at": "1970-01-01T00:00:00.001Z"}),
            ),
            (Event::BotStarted(BotStarted {}), "bot.started", json!({})),
            (
                Event::BotHandoff(BotHandoff {
                    reason: HandoffReason::NoMatch,
                    option_id: None,
                }),
                "bot.handoff",
                json!({"reason": "no_match", "option_id": null}),
            ),
            (
                Event::BotHandoff(BotHandoff {
                    reason: HandoffReason::Option,
                    option_id: Some("sales".into()),
                }),
                "bot.handoff",
                json!({"reason": "option", "option_id": "sales"}),
            ),
            (
                Event::CsatReceived(CsatReceived {
                    score: 5,
                    cycle_id: 9,
                }),
                "csat.received",
                json!({"score": 5, "cycle_id": 9}),
            ),
        ];
        for (event, kind, data) in table {
            assert_eq!(event.kind(), kind, "{event:?}");
            assert_eq!(event.data(), data, "{event:?}");
            // Stored as text: the same bytes as the JSON written by hand before.
            assert_eq!(event.data().to_string(), data.to_string(), "{event:?}");
        }
    }

    #[test]
    fn settings_and_user_changes_reload_viewers() {
        assert!(Event::changes_viewers(kind::SETTINGS_UPDATED));
        assert!(Event::changes_viewers(kind::USER_UPDATED));
        assert!(!Event::changes_viewers(kind::USER_STATUS));
    }
}
