//! The conversation page, built for a thumb: a compact header with the actions (claim, resolve,
//! and Transfer / Snooze / More as bottom sheets), the timeline that opens at the newest message,
//! and a composer pinned to the bottom with a Reply / Note switch. When the conversation changes
//! hands under the viewer, the page says so in words and keeps what they typed.

use maud::{Markup, html};

use super::layout::{Frame, page};
use super::timeline::timeline;
use crate::domain::snooze::{self, Preset};
use crate::domain::{ChannelKind, Status};
use crate::service::conversation_page::{LostPage, Person};
use crate::service::ownership_news::{Handover, UndoOffer};
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
    /// Staff to hand over to, with their availability.
    pub staff: &'a [Person],
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
    /// The latest change of hands, when it took the conversation from the viewer.
    pub taken: Option<&'a Handover>,
    /// The shop's time zone, for times in words.
    pub tz: &'a jiff::tz::TimeZone,
    /// The snooze presets that make sense now.
    pub snooze_presets: &'a [Preset],
    /// The Undo offered for the viewer's change just made.
    pub undo: Option<&'a UndoOffer>,
    /// Text of a refused reply or note (`(action, text)`), put back on screen.
    pub draft: Option<(&'a str, &'a str)>,
    /// The viewer's id.
    pub viewer: i64,
}

fn hidden(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// A phone number as people write it: `+` and the digits (bare `wa_id` digits are international).
fn phone(p: &str) -> String {
    crate::domain::phone::canonical(p).unwrap_or_else(|_| p.to_string())
}

/// "Bruno Agent took this at 08:43" (today) or "… on Mon 23 Nov 08:43", in the shop's zone.
fn handover_words(h: &Handover, viewer: i64, now: i64, tz: &jiff::tz::TimeZone) -> String {
    let words = h.words(crate::domain::UserId(viewer));
    let when = snooze::describe(h.at, now, tz);
    match when.strip_prefix("today ") {
        Some(clock) => format!("{words} at {clock}"),
        None => format!("{words} on {when}"),
    }
}

fn undo_bar(id: i64, u: &UndoOffer, csrf: &str) -> Markup {
    html! {
        div #undo .undo role="status" data-left=(u.left_ms) {
            span dir="auto" { (u.words) }
            form method="post" action={ "/c/" (id) "/undo" } {
                (hidden(csrf)) input type="hidden" name="event" value=(u.event_id);
                button.secondary type="submit" { "Undo" }
            }
        }
    }
}

/// What live updates read to adapt the composer outside the live region.
/// `gone`: the viewer no longer sees the conversation (the page stops saying "viewing" there).
fn can_marker(reply: bool, note: bool, owner: Option<&str>, gone: bool) -> Markup {
    html! { div #can hidden data-reply=(reply) data-note=(note) data-owner=[owner] data-gone[gone] {} }
}

fn status_button(base: &str, csrf: &str, to: Status, label: &str, primary: bool) -> Markup {
    html! {
        form method="post" action={ (base) "/status" } {
            (hidden(csrf)) input type="hidden" name="status" value=(to.as_str());
            button type="submit" class=[(!primary).then_some("secondary")] { (label) }
        }
    }
}

fn transfer_sheet(v: &ConversationView<'_>, base: &str, csrf: &str) -> Markup {
    html! {
        details.sheet #transfer {
            summary.chip { "Transfer" }
            div.panel {
                form.stack method="post" action={ (base) "/assign" } {
                    (hidden(csrf))
                    label for="to" { "Hand over to" }
                    select #to name="to" {
                        option value="pool" { "The pool (nobody)" }
                        @for p in v.staff {
                            option value={ "user:" (p.user.id) } { (p.user.name) " · " (p.status.as_str()) }
                        }
                        @for t in v.teams { option value={ "team:" (t.id) } { "Team " (t.name) " (pool)" } }
                    }
                    label for="handoff-note" { "Note for the next person (private)" }
                    textarea #handoff-note name="note" dir="auto" placeholder="What they need to know" {}
                    button type="submit" { "Transfer" }
                }
            }
        }
    }
}

fn snooze_sheet(v: &ConversationView<'_>, base: &str, csrf: &str) -> Markup {
    html! {
        details.sheet #snooze {
            summary.chip { "Snooze" }
            div.panel {
                form.presets method="post" action={ (base) "/status" } {
                    (hidden(csrf)) input type="hidden" name="status" value="snoozed";
                    @for p in v.snooze_presets {
                        button.secondary type="submit" name="preset" value=(p.as_str()) { (p.label()) }
                    }
                }
                form.stack method="post" action={ (base) "/status" } {
                    (hidden(csrf)) input type="hidden" name="status" value="snoozed";
                    label for="until" { "Or until (shop time, " (v.tz.iana_name().unwrap_or("UTC")) ")" }
                    input #until type="datetime-local" name="until" required;
                    button type="submit" { "Snooze until then" }
                }
            }
        }
    }
}

fn more_sheet(v: &ConversationView<'_>, base: &str, csrf: &str) -> Markup {
    let c = v.conv;
    html! {
        details.sheet #more {
            summary.chip { "More" }
            div.panel {
                div.actions {
                    @if v.can.status && !matches!(c.status, Status::Resolved | Status::Pending) {
                        (status_button(base, csrf, Status::Pending, "Waiting on customer", false))
                    }
                    @if v.can.assign && c.assignee.is_some() {
                        form method="post" action={ (base) "/assign" } {
                            (hidden(csrf)) input type="hidden" name="to" value="pool";
                            button.secondary type="submit" { "Release to pool" }
                        }
                    }
                }
                h3 { "Tags" }
                form.stack method="post" action={ (base) "/tags" } {
                    (hidden(csrf))
                    input type="text" name="add" placeholder="Add a tag" aria-label="Add a tag";
                    button.secondary type="submit" { "Add" }
                }
                div.actions {
                    @for tag in &c.tags {
                        form method="post" action={ (base) "/tags" } {
                            (hidden(csrf)) input type="hidden" name="remove" value=(tag);
                            button.secondary type="submit" aria-label={ "Remove tag " (tag) } { (tag) " ×" }
                        }
                    }
                }
                @if !v.others.is_empty() {
                    section {
                        h3 { "Other conversations with " span dir="auto" { (c.contact.name) } }
                        ul.queue {
                            @for o in v.others {
                                li { a href={ "/c/" (o.id) } {
                                    div.row1 { span.name { (o.channel.name) } span.meta { (o.status) } }
                                    div.preview dir="auto" { (o.preview) }
                                } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn head(v: &ConversationView<'_>, csrf: &str) -> Markup {
    let c = v.conv;
    let base = format!("/c/{}", c.id);
    html! {
        div.conv-head {
            div.title-row {
                a.back href="/" aria-label="Back to the inbox" { "←" }
                div.title {
                    h2 dir="auto" { (c.contact.name) }
                    div.meta {
                        @if let Some(p) = &c.contact.phone { span dir="ltr" { (phone(p)) } " · " }
                        (c.channel.name) " · " span.status { (c.status) }
                        @if let Some(u) = c.snoozed_until.filter(|_| c.status == Status::Snoozed) {
                            " until " (snooze::describe(u.0, v.now, v.tz))
                        }
                        @for tag in &c.tags { " " span.tag dir="auto" { (tag) } }
                    }
                }
            }
            div.owner-bar {
                @match &c.assignee {
                    Some(a) => { "Owner: " strong dir="auto" { (a.name) } }
                    None => { "Unassigned" }
                }
                @if let Some(t) = &c.team { " · team " (t.name) }
            }
            div.actions.bar {
                @if v.can.claim { form method="post" action={ (base) "/claim" } { (hidden(csrf)) button type="submit" { "Claim" } } }
                @if v.can.take_over {
                    form method="post" action={ (base) "/take" } { (hidden(csrf)) button.secondary type="submit" { "Take over" } }
                }
                @if v.can.status {
                    @if c.status == Status::Resolved { (status_button(&base, csrf, Status::Open, "Reopen", false)) }
                    @else { (status_button(&base, csrf, Status::Resolved, "Resolve", true)) }
                }
                @if v.can.assign { (transfer_sheet(v, &base, csrf)) }
                @if v.can.status && c.status != Status::Resolved { (snooze_sheet(v, &base, csrf)) }
                (more_sheet(v, &base, csrf))
            }
        }
    }
}

/// The banner of a change of hands, and what the viewer can do about it.
fn taken_banner(v: &ConversationView<'_>, csrf: &str) -> Markup {
    let c = v.conv;
    let owner = c.assignee.as_ref().filter(|a| a.id != v.viewer);
    html! {
        @if let Some(h) = v.taken {
            div #handover .banner role="status" {
                strong dir="auto" { (handover_words(h, v.viewer, v.now, v.tz)) }
                p.meta #draft-kept hidden { "What you typed is kept below." }
                div.actions {
                    @if v.can.note { button.secondary #draft-to-note type="button" hidden { "Turn my draft into a note" } }
                    @if let (Some(a), true, false) = (owner, v.can.note, v.can.take_over) {
                        form method="post" action={ "/c/" (c.id) "/request" } {
                            (hidden(csrf))
                            button.secondary type="submit" { "Ask " (a.name) " for a handoff" }
                        }
                    }
                }
            }
        } @else if let (Some(a), false) = (owner, v.can.reply) {
            div.owner-bar.note-only {
                span dir="auto" { (a.name) } " owns this conversation; only the owner replies. Leave a note, or ask for a handoff."
                @if !v.can.take_over && v.can.note {
                    form method="post" action={ "/c/" (c.id) "/request" } {
                        (hidden(csrf))
                        button.secondary type="submit" { "Ask " (a.name) " for a handoff" }
                    }
                }
            }
        } @else if c.assignee.is_none() && !v.can.reply {
            p.owner-bar { "Claim this conversation to reply." }
        }
    }
}

fn composer(v: &ConversationView<'_>, csrf: &str) -> Markup {
    let c = v.conv;
    let base = format!("/c/{}", c.id);
    let window_open = v.free_text_allowed;
    let reply = v.can.reply && window_open;
    // A refused reply comes back in the note box when a note is possible, else where it was.
    let (draft_reply, draft_note) = match v.draft {
        Some(("reply", t)) if reply => (Some(t), None),
        Some(("reply", t)) if v.can.note => (None, Some(t)),
        Some(("note", t)) => (None, Some(t)),
        _ => (None, None),
    };
    let note_first = !reply || draft_note.is_some();
    html! {
        div.composer #composer data-conversation=(c.id) {
            @if c.channel.kind.has_service_window() {
                @match c.window_closes_at.filter(|_| window_open) {
                    Some(t) => p.meta #window { "Reply window: " (super::age(t.0 - v.now)) " left" },
                    None => p.alert #window { "The 24-hour window is closed: send a template." },
                }
            }
            @if v.can.reply && c.channel.kind.has_service_window() {
                details.sheet #templates open[!window_open] data-channel=(c.channel.id) {
                    summary.chip { "Send a template" }
                    div.panel {
                        p.meta #tpl-info {}
                        form.stack method="post" action={ (base) "/template" } {
                            (hidden(csrf))
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
            }
            @if reply {
                input.mode #mode-reply type="radio" name="mode" value="reply" checked[!note_first];
                label.tab for="mode-reply" { "Reply" }
            }
            @if v.can.note {
                input.mode #mode-note type="radio" name="mode" value="note" checked[note_first];
                label.tab for="mode-note" { "Note" }
            }
            @if reply {
                form.reply-form method="post" action={ (base) "/reply" } {
                    (hidden(csrf))
                    @if let Some((qid, qtext)) = &v.quote {
                        input type="hidden" name="reply_to" value=(qid);
                        p.meta dir="auto" { "Quoting: " em { (qtext) } " · " a href=(base) { "cancel" } }
                    }
                    label.sr for="reply" { "Reply to " (c.contact.name) }
                    ul #canned-list role="listbox" hidden aria-label="Canned replies" {}
                    div.row {
                        textarea #reply name="text" required dir="auto" data-canned=(v.canned)
                            placeholder="Reply (/ for canned replies)" { (draft_reply.unwrap_or_default()) }
                        button type="submit" { "Send" }
                        // After Send in the document (the form's first button is Send), first on screen.
                        button.secondary #canned-open type="button" hidden aria-label="Canned replies" aria-controls="canned-list" { "/" }
                    }
                }
            } @else if let Some(("reply", t)) = v.draft.filter(|_| !v.can.note) {
                div.reply-form {
                    label for="reply" { "Not sent — your text:" }
                    textarea #reply readonly dir="auto" { (t) }
                }
            }
            @if v.can.note {
                form.note-form method="post" action={ (base) "/note" } {
                    (hidden(csrf))
                    label for="note" { "Private note — the customer does not see this" }
                    div.row {
                        textarea #note name="text" required dir="auto" { (draft_note.unwrap_or_default()) }
                        button.secondary type="submit" { "Add note" }
                    }
                }
            }
        }
    }
}

/// The conversation page.
pub fn conversation_page(frame: &Frame<'_>, v: &ConversationView<'_>) -> Markup {
    let c = v.conv;
    // Quoting is a WhatsApp feature, offered to whoever may reply.
    let quote_base =
        (v.can.reply && c.channel.kind == ChannelKind::Whatsapp).then(|| format!("/c/{}", c.id));
    page(
        &format!("{} · teaminbox", c.contact.name),
        frame,
        html! {
            main.conv {
                div #live-region {
                    (head(v, frame.csrf))
                    @if let Some(u) = v.undo { (undo_bar(c.id.0, u, frame.csrf)) }
                    (taken_banner(v, frame.csrf))
                    @if let Some(e) = v.error { p.alert role="alert" dir="auto" { (e) } }
                    (can_marker(v.can.reply && v.free_text_allowed, v.can.note, c.assignee.as_ref().map(|a| a.name.as_str()), false))
                    // Newest last in a reversed scroller: the page opens at the newest message.
                    div.scroller #thread {
                        div {
                            @if let Some(o) = &v.older { p.older { a href=(o) { "↑ Earlier messages" } } }
                            (timeline(v.items, quote_base.as_deref(), v.tz))
                        }
                    }
                }
                p.meta #presence aria-live="polite" {}
                // The composer stays outside the live region so live updates never wipe what is typed.
                (composer(v, frame.csrf))
            }
        },
    )
}

/// The page of a conversation the viewer no longer sees but held, handed on or saw in their
/// pool a moment ago: who has it now (and nothing else of it), the Undo of their own handover,
/// and any refused text kept on screen.
pub fn lost_page(
    frame: &Frame<'_>,
    l: &LostPage,
    error: Option<&str>,
    draft: Option<&str>,
) -> Markup {
    let viewer = frame.user_id;
    page(
        "Conversation · teaminbox",
        frame,
        html! {
            main.conv {
                div #live-region {
                    div.conv-head {
                        div.title-row {
                            a.back href="/" aria-label="Back to the inbox" { "←" }
                            div.title { h2 { "Conversation " (l.id.0) } }
                        }
                    }
                    @if let Some(u) = &l.undo { (undo_bar(l.id.0, u, frame.csrf)) }
                    div #handover .banner role="status" {
                        strong dir="auto" { (handover_words(&l.handover, viewer, l.now, &l.tz)) }
                        p.meta { "You no longer see this conversation. " a href="/" { "Back to the inbox" } }
                        p.meta #draft-kept hidden { "What you typed is kept below; copy it if you need it." }
                    }
                    @if let Some(e) = error { p.alert role="alert" dir="auto" { (e) } }
                    (can_marker(false, false, l.handover.to.as_ref().map(|n| n.name.as_str()), true))
                }
                // Shown with a refused text, or by the script when this device kept a draft.
                div.composer #composer data-conversation=(l.id.0) hidden[draft.is_none()] {
                    label for="reply" { "Not sent — your text:" }
                    textarea #reply readonly dir="auto" { (draft.unwrap_or_default()) }
                }
            }
        },
    )
}
