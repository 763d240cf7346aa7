//! The inbox: queue tabs with live counts and the list of conversations.

use maud::{Markup, html};

use super::age;
use super::layout::{Frame, page};
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

/// A list of conversations with its tabs.
pub struct InboxView<'a> {
    /// Tabs.
    pub tabs: Vec<Tab>,
    /// The page of conversations.
    pub items: &'a [Conversation],
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
}

fn row(c: &Conversation, now: i64) -> Markup {
    let waiting = c.waiting_since.map(|t| age(now - t.0));
    html! {
        li {
            a href={ "/c/" (c.id) } {
                div.row1 {
                    span.name { (c.contact.name) }
                    @if let Some(w) = waiting { span.age title="waiting for a reply" { (w) } }
                }
                div.preview { (c.preview) }
                div.meta {
                    span.status { (c.status) }
                    " · "
                    @match &c.assignee { Some(a) => span { (a.name) }, None => span { "Unassigned" } }
                    @if let Some(t) = &c.team { " · " (t.name) }
                    @if c.window_closing {
                        @if let Some(w) = c.window_closes_at { " · " span.age { "window closes in " (age(w.0 - now)) } }
                    }
                    " "
                    @for tag in &c.tags { span.tag { (tag) } }
                }
            }
        }
    }
}

/// The inbox page.
pub fn inbox_page(frame: &Frame<'_>, v: &InboxView<'_>) -> Markup {
    page(
        "Inbox · teaminbox",
        frame,
        html! {
            form.actions.search method="get" action="/" role="search" {
                input type="hidden" name="view" value=(v.view);
                @if let Some(t) = v.team { input type="hidden" name="team" value=(t); }
                input type="text" name="q" value=(v.q) placeholder="Search name, phone or message" aria-label="Search";
            }
            div #live-region {
                nav.tabs aria-label="Queues" {
                    @for t in &v.tabs {
                        a class=[t.on.then_some("on")] href=(t.href) {
                            (t.label)
                            @if let Some(n) = t.count { span.n { (n) } }
                            @if let Some(x) = &t.note { " · " (x) }
                        }
                    }
                }
                main {
                    @if v.items.is_empty() {
                        p.empty { "Nothing here right now." }
                    } @else {
                        ul.queue { @for c in v.items { (row(c, v.now)) } }
                    }
                    @if let Some(n) = &v.next { p { a href=(n) { "Older conversations →" } } }
                }
            }
        },
    )
}
