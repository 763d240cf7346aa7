//! The conversation timeline: customer messages and staff replies with delivery ticks, private
//! notes, and every change in words ("Ana handed this to Bruno: she will pay cash").

use std::collections::{HashMap, HashSet};

use jiff::tz::TimeZone;
use maud::{Markup, html};
use serde_json::Value;

use crate::domain::events::kind;
use crate::domain::snooze;
use crate::domain::time::format_ms;
use crate::domain::{DeliveryStatus, Direction};
use crate::store::messages::TimelineItem;
use crate::store::users::Named;

/// A clock time ("14:05") in the shop's zone, in a `<time>` that carries the instant (app.js
/// formats it again in the same zone when it inserts or refreshes one).
pub(super) fn when(ms: i64, tz: &TimeZone) -> Markup {
    html! { time datetime=(format_ms(ms)) { (snooze::clock(ms, tz)) } }
}

fn name(v: &Value) -> String {
    v.get("name")
        .and_then(Value::as_str)
        .unwrap_or("someone")
        .to_string()
}

/// An event in words: "Ana handed this to Bruno", "Resolved by Ana", "First response target
/// breached (due 14:05)" — times in the shop's zone `tz`.
pub fn event_words(
    event_kind: &str,
    actor: Option<&Named>,
    data: &Value,
    notes: &HashMap<i64, String>,
    tz: &TimeZone,
) -> String {
    let who = actor.map_or("teaminbox".to_string(), |a| a.name.clone());
    match event_kind {
        kind::CONVERSATION_CREATED if data["outbound"] == true => {
            format!("{who} started this conversation")
        }
        kind::CONVERSATION_CREATED => "New conversation".into(),
        kind::CONVERSATION_CLAIMED => format!("{who} claimed this"),
        kind::CONVERSATION_ASSIGNED => {
            let team = data["team"].get("name").and_then(Value::as_str);
            let mut s = match (&data["to"], actor) {
                (Value::Null, _) => match team {
                    Some(t) => format!("{who} released this to the {t} pool"),
                    None => format!("{who} released this to the pool"),
                },
                (to, Some(a)) if to.get("id").and_then(Value::as_i64) == Some(a.id) => {
                    match &data["from"] {
                        Value::Null => format!("{who} took this"),
                        from => format!("{who} took this over from {}", name(from)),
                    }
                }
                (to, _) => format!("{who} handed this to {}", name(to)),
            };
            if let (Some(t), false) = (team, data["to"].is_null()) {
                s.push_str(&format!(" ({t})"));
            }
            if let Some(n) = data["note_id"].as_i64().and_then(|id| notes.get(&id)) {
                s.push_str(": ");
                s.push_str(n);
            }
            s
        }
        kind::CONVERSATION_STATUS => {
            let to = data["to"].as_str().unwrap_or("");
            let by = if actor.is_some() {
                format!(" by {who}")
            } else {
                " by a customer message".into()
            };
            match to {
                "resolved" => format!("Resolved{by}"),
                "pending" => format!("Waiting on the customer{by}"),
                "snoozed" => format!("Snoozed{by}"),
                "open" if data["from"] == "resolved" => format!("Reopened{by}"),
                "open" => format!("Open{by}"),
                other => format!("Status {other}{by}"),
            }
        }
        kind::CONVERSATION_TAGGED => {
            let list = |v: &Value, sign: &str| -> Vec<String> {
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(|t| format!("{sign}{t}"))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let mut parts = list(&data["added"], "+");
            parts.extend(list(&data["removed"], "−"));
            format!("{who} tagged {}", parts.join(" "))
        }
        kind::CONTACT_PHONE_CHANGED => {
            let num = |v: &Value| v.as_str().unwrap_or("none").to_string();
            let (from, to) = (num(&data["from"]), num(&data["to"]));
            match data["source"].as_str() {
                Some("user_changed_number") => {
                    format!("The customer changed their WhatsApp number from {from} to {to}")
                }
                Some("inbound") => {
                    format!("The customer wrote from another number: {from} is now {to}")
                }
                _ => format!("{who} changed the phone number from {from} to {to}"),
            }
        }
        kind::SLA_WARNING | kind::SLA_BREACHED => {
            let target = match data["target"].as_str() {
                Some("first_response") => "First response",
                Some("next_response") => "Next response",
                Some("resolution") => "Resolution",
                _ => "SLA",
            };
            let due = data["due_at"]
                .as_str()
                .and_then(crate::domain::time::parse_rfc3339)
                .map(|ms| format!(" (due {})", snooze::clock(ms, tz)))
                .unwrap_or_default();
            if event_kind == kind::SLA_WARNING {
                format!("{target} target at risk{due}")
            } else {
                format!("{target} target breached{due}")
            }
        }
        kind::QUEUE_UNASSIGNED_ALERT => {
            let secs = data["after_secs"].as_i64().unwrap_or(0);
            format!(
                "Still unassigned after {}: the team was alerted",
                super::age(secs * 1000)
            )
        }
        kind::CONVERSATION_TAKEN_BACK => {
            let secs = data["after_secs"].as_i64().unwrap_or(0);
            let from = match &data["from"] {
                Value::Null => String::new(),
                f => format!(" from {}", name(f)),
            };
            format!("Taken back{from}: no reply for {}", super::age(secs * 1000))
        }
        other => format!("{who}: {other}"),
    }
}

fn tick(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Queued => "◷ queued",
        DeliveryStatus::Sent => "✓ sent",
        DeliveryStatus::Delivered => "✓✓ delivered",
        DeliveryStatus::Read => "✓✓ read",
        DeliveryStatus::Failed => "✗ failed",
        DeliveryStatus::Received => "",
    }
}

/// One timeline item: a message bubble, a private note, or an event in words.
pub fn item(
    i: &TimelineItem,
    notes: &HashMap<i64, String>,
    quote_base: Option<&str>,
    tz: &TimeZone,
) -> Markup {
    match i {
        TimelineItem::Message {
            id,
            at,
            direction,
            text,
            author,
            status,
            error,
            notice,
            ..
        } => html! {
            li class={ (if *direction == Direction::Out { "out" } else { "in" }) @if *notice { " notice" } } {
                div.msg dir="auto" { (text) }
                div.meta {
                    @if let Some(a) = author { span dir="auto" { (a.name) } " · " }
                    (when(at.0, tz))
                    @if let (Direction::In, Some(base), false) = (direction, quote_base, *notice) {
                        " · " a href={ (base) "?quote=" (id) "#reply" } { "Quote" }
                    }
                    @if *direction == Direction::Out {
                        " " span class={ "tick" @if *status == DeliveryStatus::Failed { " failed" } } { (tick(*status)) }
                    }
                }
                @if let Some(e) = error {
                    div.meta.tick.failed {
                        (e.message)
                        // The provider's own words, when they add to ours.
                        @if let Some(p) = e.provider_message.as_deref().filter(|p| *p != e.message) {
                            " (" (e.code) ": " (p) ")"
                        }
                    }
                }
            }
        },
        TimelineItem::Note {
            at, author, text, ..
        } => html! {
            li.note {
                div.msg { strong { "Private note" } " — " span dir="auto" { (text) } }
                div.meta { @if let Some(a) = author { span dir="auto" { (a.name) } " · " } (when(at.0, tz)) " · never sent to the customer" }
            }
        },
        TimelineItem::Event {
            at,
            kind,
            actor,
            data,
            ..
        } => html! {
            li.event { div.ev dir="auto" { (event_words(kind, actor.as_ref(), data, notes, tz)) " · " (when(at.0, tz)) } }
        },
    }
}

/// The timeline, oldest first. A handoff note shows once, inside its handoff event ("Ana handed
/// this to Bruno: she will pay cash"), not again as a note of its own.
pub fn timeline(items: &[TimelineItem], quote_base: Option<&str>, tz: &TimeZone) -> Markup {
    let notes: HashMap<i64, String> = items
        .iter()
        .filter_map(|i| match i {
            TimelineItem::Note { id, text, .. } => Some((*id, text.clone())),
            _ => None,
        })
        .collect();
    let handoff_notes: HashSet<i64> = items
        .iter()
        .filter_map(|i| match i {
            TimelineItem::Event { kind: k, data, .. } if k == kind::CONVERSATION_ASSIGNED => {
                data["note_id"].as_i64()
            }
            _ => None,
        })
        .collect();
    html! {
        ol.timeline {
            @for i in items {
                @if !matches!(i, TimelineItem::Note { id, .. } if handoff_notes.contains(id)) {
                    (item(i, &notes, quote_base, tz))
                }
            }
        }
    }
}
