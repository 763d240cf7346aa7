//! "End my shift": a person's unresolved conversations, each with a ticked box and a one-line
//! note (prefilled with a suggestion), one target, a "go offline" tick and one submit.

use std::collections::{BTreeMap, BTreeSet};

use maud::{Markup, html};

use super::layout::{Frame, availability, page};
use crate::domain::shift::{duration_words, suggested_note, window_warning};
use crate::service::handoff::ShiftSheet;

/// What the person submitted, shown again after a refusal so nothing typed is lost.
#[derive(Debug, Clone, Default)]
pub struct ShiftForm {
    /// Conversation ids ticked.
    pub ticked: BTreeSet<i64>,
    /// Conversation id → the note as typed.
    pub notes: BTreeMap<i64, String>,
    /// The target as the select's value (`user:7`, `team:2`, `pool`).
    pub target: String,
    /// The "go offline" tick.
    pub go_offline: bool,
}

/// Everything the screen shows.
pub struct ShiftView<'a> {
    /// Whose shift, their conversations and the possible targets.
    pub sheet: &'a ShiftSheet,
    /// The viewer ends their own shift (else a manager does it for someone).
    pub own: bool,
    /// Now, UTC ms (for waiting times and window warnings).
    pub now: i64,
    /// A refusal to show, in words.
    pub error: Option<&'a str>,
    /// The values submitted before a refusal (`None`: a fresh screen).
    pub form: Option<&'a ShiftForm>,
}

/// The form's address: `/shift`, or `/shift?user=ID` for someone else.
pub fn shift_path(v: &ShiftView<'_>) -> String {
    if v.own {
        "/shift".to_string()
    } else {
        format!("/shift?user={}", v.sheet.user.id)
    }
}

fn row(v: &ShiftView<'_>, r: &crate::store::handoff::ShiftRow) -> Markup {
    let id = r.id.0;
    let ticked = v.form.is_none_or(|f| f.ticked.contains(&id));
    let note = v
        .form
        .and_then(|f| f.notes.get(&id).cloned())
        .unwrap_or_else(|| suggested_note(&r.preview, r.waiting_since, v.now));
    let waited = r.waiting_since.map(|t| duration_words(v.now - t));
    html! {
        li.card.shift-row data-conversation=(id) {
            label.shift-pick {
                input type="checkbox" name="c" value=(id) checked[ticked];
                " " strong dir="auto" { (r.contact) }
                @if let Some(t) = &r.team { " " span.tag { (t) } }
            }
            p.meta {
                span dir="auto" { (r.preview) }
                " · "
                @match &waited {
                    Some(w) => { "waiting " (w) }
                    None => { (r.status.as_str()) " · last message " (duration_words(v.now - r.last_message_at)) " ago" }
                }
            }
            @if let Some(left) = window_warning(r.status, r.window_closes_at, v.now) {
                p.alert.window-flag {
                    "Window closes in " (duration_words(left)) " — reply or send a template first"
                }
            }
            label.meta for={ "note-" (id) } { "Note for " span dir="auto" { (r.contact) } " (optional)" }
            input id={ "note-" (id) } type="text" name={ "note_" (id) } value=(note) maxlength="4096";
        }
    }
}

fn target_select(v: &ShiftView<'_>) -> Markup {
    let chosen = v.form.map(|f| f.target.as_str()).unwrap_or("");
    html! {
        label for="shift-target" { "Hand them to" }
        select #shift-target name="to" required {
            option value="" selected[chosen.is_empty()] disabled { "Choose a colleague or a pool" }
            optgroup label="A colleague" {
                @for u in &v.sheet.colleagues {
                    @let value = format!("user:{}", u.id);
                    option value=(value) selected[chosen == value] {
                        (u.name) " — " (crate::web::views::layout::availability_label(u.status))
                    }
                }
            }
            optgroup label="A pool" {
                @for t in &v.sheet.teams {
                    @let value = format!("team:{}", t.id);
                    option value=(value) selected[chosen == value] { "Team " (t.name) "'s pool" }
                }
                option value="pool" selected[chosen == "pool"] { "The pool (each keeps its team)" }
            }
        }
    }
}

/// The end-of-shift page.
pub fn shift_page(frame: &Frame<'_>, v: &ShiftView<'_>) -> Markup {
    let who = &v.sheet.user;
    let n = v.sheet.rows.len();
    let flagged = v
        .sheet
        .rows
        .iter()
        .filter(|r| window_warning(r.status, r.window_closes_at, v.now).is_some())
        .count();
    html! {
        (page("End of shift · teaminbox", frame, html! {
            main.shift {
                p { a href="/" { "← Inbox" } }
                @if v.own {
                    h1 { "End my shift" }
                } @else {
                    h1 { "End " span dir="auto" { (who.name) } "'s shift" }
                    p.meta { (availability(who.status)) }
                }
                @if let Some(e) = v.error { p.alert role="alert" { (e) } }
                @if n == 0 {
                    p.empty { @if v.own { "You have" } @else { (who.name) " has" } " no open conversations to hand over." }
                }
                form.stack method="post" action=(shift_path(v)) {
                    input type="hidden" name="csrf" value=(frame.csrf);
                    @if n > 0 {
                        p.meta {
                            (n) " open conversation" @if n != 1 { "s" } ". Untick any you keep; each note travels as a private note."
                            @if flagged > 0 { " " strong { (flagged) " with a window closing soon." } }
                        }
                        ul.shift-list { @for r in &v.sheet.rows { (row(v, r)) } }
                        (target_select(v))
                    }
                    label {
                        input type="checkbox" name="go_offline" value="1" checked[v.form.is_some_and(|f| f.go_offline)];
                        @if v.own { " Go offline" } @else { " Set " (who.name) " offline" }
                    }
                    button type="submit" {
                        @if n > 0 { "Hand over and finish" } @else { "Finish" }
                    }
                }
            }
        }))
    }
}
