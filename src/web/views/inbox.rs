//! The inbox: queue tabs with live counts, the list of conversations (with a bulk-action form
//! for managers), the Mentions view, and at desktop width a pane beside the list where
//! `inbox.js` opens a conversation.

use std::collections::HashMap;

use maud::{Markup, html};

use super::age;
use super::layout::{Frame, page};
use crate::domain::UserStatus;
use crate::service::mentions::MentionItem;
use crate::store::conversations::Conversation;

/// One queue tab.
pub struct Tab {
    /// Label.
    pub label: String,
    /// Link.
    pub href: String,
    /// Count shown beside the label.
    pub count: Option<i64>,
    /// Extra words (such as the oldest wait).
    pub note: Option<String>,
    /// The tab shown now.
    pub on: bool,
}

/// What the list shows: conversations, or the notes that mention the viewer.
pub enum Rows<'a> {
    /// A queue view's page of conversations.
    Conversations(&'a [Conversation]),
    /// Unseen mentions of the viewer, newest first.
    Mentions(&'a [MentionItem]),
}

/// Who a bulk action can hand conversations to.
pub struct BulkTargets<'a> {
    /// People: (id, name, availability).
    pub people: &'a [(i64, String, UserStatus)],
    /// Teams: (id, name).
    pub teams: &'a [(i64, String)],
}

/// A list of conversations with its tabs.
pub struct InboxView<'a> {
    /// Tabs.
    pub tabs: Vec<Tab>,
    /// The rows.
    pub rows: Rows<'a>,
    /// Link to the next page.
    pub next: Option<String>,
    /// The search text.
    pub q: &'a str,
    /// The view's query string without the search (for the form).
    pub view: &'a str,
    /// Team filter.
    pub team: Option<i64>,
    /// Now (ms), for ages.
    pub now: i64,
    /// Staff availability by user id, shown beside assignee names.
    pub status: &'a HashMap<i64, UserStatus>,
    /// Set for managers and owners: the list becomes a form with a checkbox per row and a bar
    /// of actions (assign, tag, resolve).
    pub bulk: Option<BulkTargets<'a>>,
    /// This page's own URL (where a bulk action comes back to).
    pub here: &'a str,
    /// A conversation to open in the desktop pane (`?open=`).
    pub open: Option<i64>,
    /// The list's order as in `?sort=` (`recent` or `waiting`).
    pub sort: &'a str,
    /// The shop's time zone, for due times.
    pub tz: &'a jiff::tz::TimeZone,
}

/// The short name of an SLA target on a badge.
fn target_short(target: &str) -> &'static str {
    match target {
        "first_response" => "FRT",
        "next_response" => "Reply",
        "resolution" => "Resolve",
        _ => "SLA",
    }
}

/// The row's SLA badge: the running target due first, with the time left ("FRT 4 min"), amber
/// once at risk, red when breached ("FRT late 3 min"); its title says the due time in the shop's
/// zone. Nothing when no target runs.
pub fn sla_badge(sla: Option<&serde_json::Value>, now: i64, tz: &jiff::tz::TimeZone) -> Markup {
    let next = sla.map(|s| &s["next"]).filter(|n| n.is_object());
    let Some(n) = next else {
        return html! {};
    };
    let state = n["state"].as_str().unwrap_or("running");
    let target = n["target"].as_str().unwrap_or("");
    let Some(due) = n["due_at"]
        .as_str()
        .and_then(crate::domain::time::parse_rfc3339)
    else {
        return html! {};
    };
    let short = target_short(target);
    let words = if state == "breached" {
        format!("{short} late {}", age(now - due))
    } else {
        format!("{short} {}", age(due - now))
    };
    let title = format!(
        "SLA {}: due {}",
        target.replace('_', " "),
        crate::domain::snooze::clock(due, tz)
    );
    html! { span class={ "sla " (state) } title=(title) data-sla=(state) { (words) } }
}

/// A phone number as people read it: digits alone get their `+` (stored numbers are E.164; a
/// contact named by its number shows it the same way). Anything else is shown as it is.
pub fn phone(s: &str) -> String {
    let t = s.trim();
    if (7..=15).contains(&t.len()) && t.chars().all(|c| c.is_ascii_digit()) {
        format!("+{t}")
    } else {
        t.to_string()
    }
}

/// A person's availability as a small badge beside their name.
pub fn status_badge(status: Option<UserStatus>) -> Markup {
    html! {
        @if let Some(s) = status {
            span class={ "presence " (s.as_str()) } title=(s.as_str()) { (s.as_str()) }
        }
    }
}

fn row(c: &Conversation, v: &InboxView<'_>) -> Markup {
    let now = v.now;
    let waiting = c.waiting_since.map(|t| age(now - t.0));
    let name = phone(&c.contact.name);
    html! {
        li {
            @if v.bulk.is_some() {
                label.pick {
                    input type="checkbox" name="ids" value=(c.id) aria-label={ "Select " (name) };
                }
            }
            a href={ "/c/" (c.id) } data-open=(c.id) {
                div.row1 {
                    span.name dir="auto" { (name) }
                    (sla_badge(c.sla.as_ref(), now, v.tz))
                    @if let Some(w) = waiting { span.age title="waiting for a reply" { (w) } }
                }
                @if let Some(p) = c.contact.phone.as_deref().filter(|p| phone(p) != name) {
                    div.phone dir="ltr" { (phone(p)) }
                }
                div.preview dir="auto" { (c.preview) }
                div.meta {
                    span.status { (c.status) }
                    " · "
                    @match &c.assignee {
                        Some(a) => {
                            span dir="auto" { (a.name) }
                            " " (status_badge(v.status.get(&a.id).copied()))
                        },
                        None => span { "Unassigned" },
                    }
                    @if let Some(t) = &c.team { " · " span dir="auto" { (t.name) } }
                    @if c.window_closing {
                        @if let Some(w) = c.window_closes_at { " · " span.age { "window closes in " (age(w.0 - now)) } }
                    }
                    " "
                    @for tag in &c.tags { span.tag dir="auto" { (tag) } }
                }
            }
        }
    }
}

fn mention_row(m: &MentionItem, v: &InboxView<'_>) -> Markup {
    let c = &m.conversation;
    html! {
        li.mention {
            a href={ "/c/" (c.id) } data-open=(c.id) {
                div.row1 {
                    span.name dir="auto" { (phone(&c.contact.name)) }
                    span.age { (age(v.now - m.at.0)) " ago" }
                }
                div.meta {
                    span dir="auto" { (m.note.author.name) }
                    " " (status_badge(v.status.get(&m.note.author.id).copied()))
                    " mentioned you"
                }
                div.preview.note-text dir="auto" { (m.note.text) }
            }
        }
    }
}

fn bulk_bar(t: &BulkTargets<'_>, csrf: &str, here: &str) -> Markup {
    html! {
        div.bulkbar #bulk-bar role="group" aria-label="Selected conversations" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="back" value=(here);
            select name="assign" aria-label="Assign the selected to" {
                option value="" { "Assign to…" }
                @for (id, name, status) in t.people {
                    option value={ "user:" (id) } { (name) " (" (status.as_str()) ")" }
                }
                @for (id, name) in t.teams { option value={ "team:" (id) } { (name) " pool" } }
                option value="pool" { "General pool" }
            }
            input type="text" name="tag" placeholder="Add tag" aria-label="Tag the selected" maxlength="50";
            button type="submit" name="do" value="apply" { "Apply" }
            button.secondary type="submit" name="do" value="resolve" { "Resolve" }
        }
    }
}

/// Above the list: "Take next" (on Unassigned and Mine) and, on Unassigned, the order
/// (newest activity or longest waiting). Plain links and a plain form: they work without
/// JavaScript.
fn queue_tools(v: &InboxView<'_>, csrf: &str) -> Markup {
    let take = matches!(v.view, "unassigned" | "mine") && v.team.is_none();
    let sorts = v.view == "unassigned";
    if !take && !sorts {
        return html! {};
    }
    let sort_link = |sort: &str, label: &str| {
        let on = v.sort == sort;
        html! {
            a class=[on.then_some("on")] href={ "/?view=unassigned&sort=" (sort) }
                aria-current=[on.then_some("true")] { (label) }
        }
    };
    html! {
        div.queue-tools {
            @if take {
                form.take-next method="post" action="/next" {
                    input type="hidden" name="csrf" value=(csrf);
                    button #take-next type="submit" { "Take next" }
                }
            }
            @if sorts {
                nav.sort aria-label="Order" {
                    span.meta { "Sort:" }
                    (sort_link("recent", "Newest"))
                    (sort_link("waiting", "Longest waiting"))
                }
            }
        }
    }
}

/// The inbox page.
pub fn inbox_page(frame: &Frame<'_>, v: &InboxView<'_>) -> Markup {
    let list = html! {
        @match &v.rows {
            Rows::Conversations(items) if items.is_empty() && v.view == "at_risk" => p.empty { "No SLA target is running right now." },
            Rows::Conversations(items) if items.is_empty() => p.empty { "Nothing here right now." },
            Rows::Mentions(items) if items.is_empty() => p.empty { "No mentions waiting. When someone writes @" (frame.name) " in a note, it shows here until you open it." },
            Rows::Conversations(items) => ul.queue { @for c in items.iter() { (row(c, v)) } },
            Rows::Mentions(items) => ul.queue.mentions { @for m in items.iter() { (mention_row(m, v)) } },
        }
    };
    page(
        "Inbox · teaminbox",
        frame,
        html! {
            form.actions.search method="get" action="/" role="search" {
                input type="hidden" name="view" value=(v.view);
                @if let Some(t) = v.team { input type="hidden" name="team" value=(t); }
                input type="text" name="q" value=(v.q) placeholder="Search name, phone or message" aria-label="Search";
            }
            div.inbox-split {
                div #live-region {
                    nav.tabs aria-label="Queues" {
                        @for t in &v.tabs {
                            a class=[t.on.then_some("on")] href=(t.href) aria-current=[t.on.then_some("page")] {
                                (t.label)
                                @if let Some(n) = t.count { span.n { (n) } }
                                @if let Some(x) = &t.note { " · " (x) }
                            }
                        }
                    }
                    main.list {
                        (queue_tools(v, frame.csrf))
                        @match (&v.bulk, &v.rows) {
                            (Some(t), Rows::Conversations(items)) if !items.is_empty() => {
                                form #bulk method="post" action="/bulk" {
                                    (list)
                                    (bulk_bar(t, frame.csrf, v.here))
                                }
                            },
                            _ => (list),
                        }
                        @if let Some(n) = &v.next { p { a href=(n) { "Older conversations →" } } }
                    }
                }
                section #pane aria-label="Conversation" data-open=[v.open] {
                    p.empty { "Pick a conversation to open it here." }
                }
            }
        },
    )
}
