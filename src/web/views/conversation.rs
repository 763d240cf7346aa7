//! The conversation page: timeline (customer messages, staff replies with delivery ticks, private
//! notes, events in words), the actions the viewer may take, and the composers.

use std::collections::HashMap;

use maud::{Markup, html};
use serde_json::Value;

use super::layout::{Frame, page};
use crate::domain::events::kind;
use crate::domain::time::format_ms;
use crate::domain::{DeliveryStatus, Direction, Status};
use crate::store::conversations::Conversation;
use crate::store::messages::TimelineItem;
use crate::store::users::Named;

/// What the viewer may do here (decided in `service::conversation_page`).
pub use crate::service::conversation_page::Can;

/// Everything the page shows.
pub struct ConversationView<'a> {
    /// The conversation.
    pub conv: &'a Conversation,
    /// Timeline, oldest first.
    pub items: &'a [TimelineItem],
    /// Link to older items.
    pub older: Option<String>,
    /// Permissions.
    pub can: Can,
    /// Staff to hand over to.
    pub staff: &'a [Named],
    /// Teams to hand over to.
    pub teams: &'a [Named],
    /// A refusal to show.
    pub error: Option<&'a str>,
    /// Canned replies as a JSON object shortcut → text, for the composer.
    pub canned: &'a str,
    /// The contact's other conversations the viewer may see.
    pub others: &'a [Conversation],
    /// Now (ms), for the time left in the customer service window.
    pub now: i64,
    /// Whether free text may be sent now (else only a template).
    pub free_text_allowed: bool,
    /// The customer message a reply will quote: id and text.
    pub quote: Option<(i64, String)>,
}

fn when(ms: i64) -> Markup {
    let iso = format_ms(ms);
    html! { time datetime=(iso) { (iso[11..16]) " UTC" } }
}

fn name(v: &Value) -> String {
    v.get("name")
        .and_then(Value::as_str)
        .unwrap_or("someone")
        .to_string()
}

/// An event in words: "Ana handed this to Bruno", "Resolved by Ana".
pub fn event_words(
    event_kind: &str,
    actor: Option<&Named>,
    data: &Value,
    notes: &HashMap<i64, String>,
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

fn item(i: &TimelineItem, notes: &HashMap<i64, String>, quote_base: Option<&str>) -> Markup {
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
                div.msg { (text) }
                div.meta {
                    @if let Some(a) = author { (a.name) " · " }
                    (when(at.0))
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
                div.msg { strong { "Private note" } " — " (text) }
                div.meta { @if let Some(a) = author { (a.name) " · " } (when(at.0)) " · never sent to the customer" }
            }
        },
        TimelineItem::Event {
            at,
            kind,
            actor,
            data,
            ..
        } => html! {
            li.event { div.ev { (event_words(kind, actor.as_ref(), data, notes)) " · " (when(at.0)) } }
        },
    }
}

fn hidden(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

fn actions(v: &ConversationView<'_>, csrf: &str) -> Markup {
    let c = v.conv;
    let base = format!("/c/{}", c.id);
    let status_button = |to: Status, label: &str| {
        html! {
            form method="post" action={ (base) "/status" } {
                (hidden(csrf)) input type="hidden" name="status" value=(to.as_str());
                button.secondary type="submit" { (label) }
            }
        }
    };
    html! {
        div.actions {
            @if v.can.claim { form method="post" action={ (base) "/claim" } { (hidden(csrf)) button type="submit" { "Claim" } } }
            @if v.can.take_over {
                form method="post" action={ (base) "/take" } { (hidden(csrf)) button.secondary type="submit" { "Take over" } }
            }
            @if v.can.status {
                @if c.status == Status::Resolved { (status_button(Status::Open, "Reopen")) }
                @else {
                    (status_button(Status::Resolved, "Resolve"))
                    @if c.status != Status::Pending { (status_button(Status::Pending, "Waiting on customer")) }
                }
            }
            @if v.can.assign && c.assignee.is_some() {
                form method="post" action={ (base) "/assign" } {
                    (hidden(csrf)) input type="hidden" name="to" value="pool";
                    button.secondary type="submit" { "Release to pool" }
                }
            }
        }
        @if v.can.status && c.status != Status::Resolved {
            details {
                summary { "Snooze" }
                form.stack method="post" action={ (base) "/status" } {
                    (hidden(csrf)) input type="hidden" name="status" value="snoozed";
                    label for="until" { "Until (your local time)" }
                    input #until type="datetime-local" name="until" required;
                    input type="hidden" name="tz_offset_min" value="0" data-tz-offset;
                    button type="submit" { "Snooze" }
                }
            }
        }
        @if v.can.assign {
            details #transfer {
                summary { "Transfer" }
                form.stack method="post" action={ (base) "/assign" } {
                    (hidden(csrf))
                    label for="to" { "Hand over to" }
                    select #to name="to" {
                        option value="pool" { "The pool (nobody)" }
                        @for s in v.staff { option value={ "user:" (s.id) } { (s.name) } }
                        @for t in v.teams { option value={ "team:" (t.id) } { "Team " (t.name) " (pool)" } }
                    }
                    label for="handoff-note" { "Note for the next person (private)" }
                    textarea #handoff-note name="note" placeholder="What they need to know" {}
                    button type="submit" { "Transfer" }
                }
            }
        }
    }
}

/// The conversation page.
pub fn conversation_page(frame: &Frame<'_>, v: &ConversationView<'_>) -> Markup {
    let c = v.conv;
    let base = format!("/c/{}", c.id);
    // Quoting is a WhatsApp feature, offered to whoever may reply.
    let quote_base = (v.can.reply && c.channel.kind == crate::domain::ChannelKind::Whatsapp)
        .then(|| base.clone());
    let notes: HashMap<i64, String> = v
        .items
        .iter()
        .filter_map(|i| match i {
            TimelineItem::Note { id, text, .. } => Some((*id, text.clone())),
            _ => None,
        })
        .collect();
    page(
        &format!("{} · teaminbox", c.contact.name),
        frame,
        html! {
            main {
                div #live-region {
                    p { a href="/" { "← Inbox" } }
                    div.card {
                        h2 { (c.contact.name) }
                        div.meta {
                            @if let Some(p) = &c.contact.phone { (p) " · " }
                            (c.channel.name) " · " span.status { (c.status) }
                            @for tag in &c.tags { " " span.tag { (tag) } }
                        }
                        div.owner-bar {
                            @match &c.assignee {
                                Some(a) => { "Owner: " strong { (a.name) } }
                                None => { "Unassigned" }
                            }
                            @if let Some(t) = &c.team { " · team " (t.name) }
                        }
                        (actions(v, frame.csrf))
                    }
                    @if let Some(e) = v.error { p.alert role="alert" { (e) } }
                    @if let Some(o) = &v.older { p { a href=(o) { "← Earlier" } } }
                    ol.timeline { @for i in v.items { (item(i, &notes, quote_base.as_deref())) } }
                }
                p.meta #presence aria-live="polite" {}
                // Composers stay outside the live region so live updates never wipe what is typed.
                @let window_open = v.free_text_allowed;
                @if c.channel.kind.has_service_window() {
                    @match c.window_closes_at.filter(|_| window_open) {
                        Some(t) => p.meta #window { "Reply window: " (super::age(t.0 - v.now)) " left" },
                        None => p.alert #window { "The 24-hour window is closed: send a template." },
                    }
                }
                @if v.can.reply && c.channel.kind.has_service_window() {
                    details.card #templates open[!window_open] data-channel=(c.channel.id) {
                        summary { "Send a template" }
                        p.meta #tpl-info {}
                        form.stack method="post" action={ (base) "/template" } {
                            (hidden(frame.csrf))
                            label for="tpl-name" { "Template name" }
                            input #tpl-name type="text" name="name" list="tpl-list" autocomplete="off" required;
                            datalist #tpl-list {}
                            label for="tpl-lang" { "Language" }
                            input #tpl-lang type="text" name="language" value="en_US" required;
                            label for="tpl-params" { "Parameters, one per line ({{1}}, {{2}}, …)" }
                            textarea #tpl-params name="params" {}
                            button type="submit" { "Send template" }
                        }
                    }
                }
                @if v.can.reply && window_open {
                    form.stack.card method="post" action={ (base) "/reply" } {
                        (hidden(frame.csrf))
                        @if let Some((qid, qtext)) = &v.quote {
                            input type="hidden" name="reply_to" value=(qid);
                            p.meta { "Quoting: " em { (qtext) } " · " a href=(base) { "cancel" } }
                        }
                        label for="reply" { "Reply to " (c.contact.name) }
                        textarea #reply name="text" required data-canned=(v.canned) placeholder="Type /shortcut for a canned reply" {}
                        button type="submit" { "Send" }
                    }
                } @else if let Some(a) = &c.assignee {
                    div.owner-bar {
                        (a.name) " owns this conversation; only the owner replies. Leave a note, or ask for a handoff."
                        @if !v.can.take_over {
                            form method="post" action={ (base) "/request" } {
                                (hidden(frame.csrf))
                                button.secondary type="submit" { "Ask " (a.name) " for a handoff" }
                            }
                        }
                    }
                } @else {
                    p.owner-bar { "Claim this conversation to reply." }
                }
                form.stack.card method="post" action={ (base) "/note" } {
                    (hidden(frame.csrf))
                    label for="note" { "Private note (only staff see it)" }
                    textarea #note name="text" required {}
                    button.secondary type="submit" { "Add note" }
                }
                @if !v.others.is_empty() {
                    section.card {
                        h3 { "Other conversations with " (c.contact.name) }
                        ul.queue {
                            @for o in v.others {
                                li { a href={ "/c/" (o.id) } {
                                    div.row1 { span.name { (o.channel.name) } span.meta { (o.status) } }
                                    div.preview { (o.preview) }
                                } }
                            }
                        }
                    }
                }
                details.card {
                    summary { "Tags" }
                    form.stack method="post" action={ (base) "/tags" } {
                        (hidden(frame.csrf))
                        input type="text" name="add" placeholder="Add a tag" aria-label="Add a tag";
                        button.secondary type="submit" { "Add" }
                    }
                    div.actions {
                        @for tag in &c.tags {
                            form method="post" action={ (base) "/tags" } {
                                (hidden(frame.csrf)) input type="hidden" name="remove" value=(tag);
                                button.secondary type="submit" aria-label={ "Remove tag " (tag) } { (tag) " ×" }
                            }
                        }
                    }
                }
            }
        },
    )
}
