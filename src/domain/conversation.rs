//! The conversation state machine: open / pending / snoozed / resolved, what an inbound message or
//! a staff reply does to it, and the customer service window.

use super::{ChannelKind, Status};

/// Length of WhatsApp's customer service window.
pub const SERVICE_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// What an inbound customer message does to a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboundEffect {
    /// The status afterwards.
    pub status: Status,
    /// Whether a new cycle (the unit of first-response and resolution metrics) starts.
    pub new_cycle: bool,
}

/// What an inbound item from a channel is to its conversation. Only a customer writing
/// something moves the conversation; the rest is shown or dropped.
///
/// | item (WhatsApp `type`) | nature | message kept | status, cycle, window, preview, waiting |
/// | --- | --- | --- | --- |
/// | text, media, location, contacts, interactive/button replies, order, unsupported | [`Writing`](InboundNature::Writing) | yes | as [`on_inbound`] says |
/// | `reaction` with an emoji | [`Notice`](InboundNature::Notice) | yes, in the timeline | unchanged |
/// | `reaction` removed (`emoji` empty or absent) | [`Nothing`](InboundNature::Nothing) | no | unchanged |
/// | `system` (number or identity changed), `edit`, `revoke` | [`Notice`](InboundNature::Notice) | yes, in the timeline | unchanged |
///
/// A notice is not a customer writing to us: it neither reopens nor starts a cycle (so it never
/// counts in first-response or resolution metrics), does not refresh the customer service window
/// (Meta opens it when the customer "messages or calls you", [M-SEND] in
/// `shared/whatsapp/PROTOCOL.md`; a late 131047 would close it anyway), and does not become the
/// queue's preview or move the conversation up the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundNature {
    /// The customer wrote something: the state machine applies.
    Writing,
    /// Shown in the timeline, changes nothing else.
    Notice,
    /// Not kept as a message at all (the webhook's outcome records it).
    Nothing,
}

/// The nature of a WhatsApp inbound message of `kind` (Meta's `type`); `has_content` is false for
/// a reaction whose emoji is empty or absent (the customer removed it).
pub fn whatsapp_nature(kind: &str, has_content: bool) -> InboundNature {
    match kind {
        "reaction" if has_content => InboundNature::Notice,
        "reaction" => InboundNature::Nothing,
        "system" | "edit" | "revoke" => InboundNature::Notice,
        _ => InboundNature::Writing,
    }
}

/// Whether a kept inbound message of `kind` is a notice (see [`InboundNature`]).
pub fn is_notice(kind: &str) -> bool {
    whatsapp_nature(kind, true) == InboundNature::Notice
}

/// An inbound message makes a pending or snoozed conversation open; on a resolved one it makes
/// it open and starts a new cycle.
pub fn on_inbound(status: Status) -> InboundEffect {
    InboundEffect {
        status: Status::Open,
        new_cycle: status == Status::Resolved,
    }
}

/// The status after a customer-visible staff reply: `pending` (waiting on the customer) when the
/// workspace turns that on, else unchanged (a reply to a resolved conversation reopens it).
pub fn on_staff_reply(status: Status, auto_pending: bool) -> Status {
    match status {
        Status::Open | Status::Resolved if auto_pending => Status::Pending,
        Status::Resolved => Status::Open,
        other => other,
    }
}

/// A status change asked for by a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    /// The new status.
    pub to: Status,
    /// Until when it is snoozed (only for `snoozed`).
    pub snoozed_until: Option<i64>,
    /// The conversation leaves `resolved`.
    pub reopened: bool,
    /// The conversation becomes `resolved`.
    pub resolved: bool,
}

/// Why a status change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// Snoozing needs a time in the future.
    #[error("snoozing needs \"until\", a time in the future")]
    SnoozeNeedsFuture,
}

/// Validates a status change from `from` to `to` at `now` (ms); `until` is the snooze end.
pub fn change_status(
    from: Status,
    to: Status,
    until: Option<i64>,
    now: i64,
) -> Result<StatusChange, StatusError> {
    let snoozed_until = match to {
        Status::Snoozed => match until {
            Some(t) if t > now => Some(t),
            _ => return Err(StatusError::SnoozeNeedsFuture),
        },
        _ => None,
    };
    Ok(StatusChange {
        to,
        snoozed_until,
        reopened: from == Status::Resolved && to != Status::Resolved,
        resolved: to == Status::Resolved && from != Status::Resolved,
    })
}

/// When the customer service window closes, given the customer's last message time.
pub fn window_closes_at(kind: ChannelKind, last_inbound_at: Option<i64>) -> Option<i64> {
    if kind.has_service_window() {
        last_inbound_at.map(|t| t + SERVICE_WINDOW_MS)
    } else {
        None
    }
}

/// How long before the window closes a conversation is flagged in the queue.
pub const WINDOW_WARNING_MS: i64 = 2 * 60 * 60 * 1000;

/// Whether an unresolved conversation's window closes within [`WINDOW_WARNING_MS`] of `now`, so
/// that a handoff does not stall past it.
pub fn window_closing(status: Status, window_closes_at: Option<i64>, now: i64) -> bool {
    status != Status::Resolved
        && window_closes_at.is_some_and(|t| t > now && t - now <= WINDOW_WARNING_MS)
}

/// Whether free text may be sent now: always on channels without a window, else only while open.
pub fn free_text_allowed(kind: ChannelKind, window_closes_at: Option<i64>, now: i64) -> bool {
    !kind.has_service_window() || window_closes_at.is_some_and(|t| now < t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_customer_writing_moves_a_conversation() {
        use InboundNature::*;
        let table = [
            ("text", true, Writing),
            ("image", true, Writing),
            ("interactive", true, Writing),
            ("button", true, Writing),
            ("order", true, Writing),
            ("unsupported", true, Writing),
            ("hologram", true, Writing),
            ("reaction", true, Notice),
            ("reaction", false, Nothing),
            ("system", true, Notice),
            ("edit", true, Notice),
            ("revoke", true, Notice),
        ];
        for (kind, content, want) in table {
            assert_eq!(whatsapp_nature(kind, content), want, "{kind} {content}");
        }
    }

    #[test]
    fn inbound_reopens_and_starts_cycle_only_after_resolution() {
        for s in Status::ALL {
            let e = on_inbound(*s);
            assert_eq!(e.status, Status::Open);
            assert_eq!(e.new_cycle, *s == Status::Resolved);
        }
    }

    #[test]
    fn staff_reply_sets_pending_when_enabled() {
        assert_eq!(on_staff_reply(Status::Open, true), Status::Pending);
        assert_eq!(on_staff_reply(Status::Open, false), Status::Open);
        assert_eq!(on_staff_reply(Status::Snoozed, true), Status::Snoozed);
        assert_eq!(on_staff_reply(Status::Resolved, false), Status::Open);
    }

    #[test]
    fn snooze_needs_future_time() {
        assert_eq!(
            change_status(Status::Open, Status::Snoozed, None, 10),
            Err(StatusError::SnoozeNeedsFuture)
        );
        assert_eq!(
            change_status(Status::Open, Status::Snoozed, Some(5), 10),
            Err(StatusError::SnoozeNeedsFuture)
        );
        let c = change_status(Status::Resolved, Status::Snoozed, Some(20), 10).expect("ok");
        assert!(c.reopened && !c.resolved);
        assert_eq!(c.snoozed_until, Some(20));
        let r = change_status(Status::Open, Status::Resolved, Some(20), 10).expect("ok");
        assert!(r.resolved && r.snoozed_until.is_none());
    }

    #[test]
    fn window_closing_soon() {
        let h = 60 * 60 * 1000;
        assert!(window_closing(Status::Open, Some(10 + h), 10));
        assert!(!window_closing(Status::Resolved, Some(10 + h), 10));
        assert!(!window_closing(Status::Open, Some(10 + 3 * h), 10));
        assert!(!window_closing(Status::Open, Some(5), 10), "already closed");
        assert!(!window_closing(Status::Open, None, 10));
    }

    #[test]
    fn window() {
        assert_eq!(window_closes_at(ChannelKind::Api, Some(1)), None);
        assert_eq!(
            window_closes_at(ChannelKind::Whatsapp, Some(1)),
            Some(1 + SERVICE_WINDOW_MS)
        );
        assert!(free_text_allowed(ChannelKind::Api, None, 5));
        assert!(!free_text_allowed(ChannelKind::Whatsapp, None, 5));
        assert!(free_text_allowed(ChannelKind::Whatsapp, Some(6), 5));
        assert!(!free_text_allowed(ChannelKind::Whatsapp, Some(5), 5));
    }
}
