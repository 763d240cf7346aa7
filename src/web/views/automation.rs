//! Settings → a channel's automation (#13): the menu, away message and survey form, and beside
//! it a live preview of what the customer will see (re-rendered by htmx on every input), with
//! Meta's limits said in words.

use maud::{Markup, html};

use super::layout::{Frame, page};
use crate::domain::bot::{
    self as rules, Automation, MAX_BODY, MAX_BUTTON_TITLE, MAX_BUTTONS, MAX_OPTIONS, MAX_ROW_TITLE,
    MenuOption,
};
use crate::domain::{ChannelKind, Priority};
use crate::store::teams::Team;

/// Everything the page shows.
pub struct AutomationView<'a> {
    /// The channel's id, name and kind.
    pub channel: (i64, &'a str, ChannelKind),
    /// The automation the form shows (as stored, or as just submitted when refused).
    pub automation: &'a Automation,
    /// Teams an option may hand to.
    pub teams: &'a [Team],
    /// A refusal to show.
    pub error: Option<&'a str>,
}

/// The preview alone (the htmx target): what the customer receives, drawn like a WhatsApp chat,
/// or what Meta would refuse.
pub fn preview_partial(a: &Automation, kind: ChannelKind) -> Markup {
    let problem = a.check().err();
    let m = &a.menu;
    html! {
        @if let Some(p) = &problem { p.alert role="alert" data-code=(p.code) { (p.message) } }
        @if m.enabled {
            h3 { "New conversation" }
            @if kind == ChannelKind::Whatsapp {
                div.wa-chat {
                    p.wa-bubble dir="auto" { (m.text) }
                    @if m.options.len() <= MAX_BUTTONS {
                        div.wa-buttons { @for o in &m.options { span.wa-button dir="auto" { (o.title) } } }
                    } @else {
                        div.wa-buttons { span.wa-button { "☰ " (rules::MENU_BUTTON) } }
                        ol.wa-sheet aria-label="The list the button opens" {
                            @for o in &m.options { li dir="auto" { (o.title) } }
                        }
                    }
                }
                p.meta {
                    @if m.options.len() <= MAX_BUTTONS {
                        "Sent as reply buttons (titles up to " (MAX_BUTTON_TITLE) " characters)."
                    } @else {
                        "Sent as a list: the button opens these rows (up to " (MAX_ROW_TITLE) " characters each)."
                    }
                }
            } @else {
                div.wa-chat { p.wa-bubble dir="auto" { (rules::menu_text(m)) } }
                p.meta { "Sent as numbered text: the customer answers with a number or a title." }
            }
        } @else {
            p.meta { "The menu is off: new conversations go straight to routing." }
        }
        @if a.away.enabled {
            h3 { "Outside business hours" }
            div.wa-chat { p.wa-bubble dir="auto" { (a.away.text) } }
        }
        @if a.csat.enabled {
            h3 { "After a resolve" }
            div.wa-chat { p.wa-bubble dir="auto" { (rules::csat_text(&a.csat.text)) } }
        }
    }
}

fn checkbox(name: &str, label: &str, on: bool) -> Markup {
    html! { label { input type="checkbox" name=(name) value="1" checked[on]; " " (label) } }
}

/// One option's row: the title on its own line, then team, priority, id and tags two by two.
/// Empty rows after the first empty one are hidden by the style sheet (`:has`), so the form shows
/// the options there are and one row to add the next.
fn option_row(i: usize, o: Option<&MenuOption>, teams: &[Team]) -> Markup {
    let n = i + 1;
    html! {
        fieldset.option {
            legend { "Option " (n) }
            input.opt-title type="text" name={ "opt_title_" (i) } aria-label={ "Option " (n) " title" }
                placeholder="Title" value=(o.map_or("", |o| o.title.as_str()));
            select name={ "opt_team_" (i) } aria-label={ "Option " (n) " team" } {
                option value="" { "General pool" }
                @for t in teams {
                    option value=(t.id.0) selected[o.and_then(|o| o.team_id) == Some(t.id.0)] { (t.name) }
                }
            }
            select name={ "opt_priority_" (i) } aria-label={ "Option " (n) " priority" } {
                option value="" { "Keep priority" }
                @for p in [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent] {
                    option value=(p.as_str()) selected[o.and_then(|o| o.priority) == Some(p)] { (p.as_str()) }
                }
            }
            input type="text" name={ "opt_tags_" (i) } aria-label={ "Option " (n) " tags" }
                placeholder="Tags: a, b" value=(o.map_or(String::new(), |o| o.tags.join(", ")));
            input type="text" name={ "opt_id_" (i) } aria-label={ "Option " (n) " id" }
                placeholder="Id (auto)" value=(o.map_or("", |o| o.id.as_str()));
        }
    }
}

/// The page.
pub fn automation_page(frame: &Frame<'_>, v: &AutomationView<'_>) -> Markup {
    let (id, name, kind) = v.channel;
    let a = v.automation;
    let action = format!("/settings/automation/{id}");
    html! {
        (page(
            "Automation · teaminbox",
            frame,
            html! {
                main.wide {
                    p { a href="/settings" { "← Settings" } }
                    h1 { "Automation · " (name) }
                    p.meta { "Greets new customers with a menu and hands them to the right team; "
                        "answers outside business hours; asks how it went after a resolve." }
                    @if let Some(e) = v.error { p.alert role="alert" { (e) } }
                    form.stack.automation-form #automation method="post" action=(action)
                        hx-get={ (action) "/preview" } hx-trigger="input delay:250ms, change"
                        hx-target="#preview" hx-swap="innerHTML" {
                        input type="hidden" name="csrf" value=(frame.csrf);
                        section.card {
                            h2 { "Menu" }
                            (checkbox("menu_enabled", "Send the menu to every new conversation", a.menu.enabled))
                            label for="menu_text" { "Greeting (up to " (MAX_BODY) " characters)" }
                            textarea #menu_text name="menu_text" rows="2" { (a.menu.text) }
                            p.meta { "Options: 1 to " (MAX_OPTIONS) ". Up to 3 show as buttons, more as a list. "
                                "Type a title to add one (another empty row appears); clear a title to remove it." }
                            @for i in 0..MAX_OPTIONS {
                                (option_row(i, a.menu.options.get(i), v.teams))
                            }
                            label for="timeout_secs" { "Hand over after this many seconds without a choice" }
                            input #timeout_secs type="number" name="timeout_secs" min="10" max="86400" value=(a.menu.timeout_secs);
                            label for="human_keywords" { "Words that ask for a person (comma-separated)" }
                            input #human_keywords type="text" name="human_keywords" value=(a.menu.human_keywords.join(", "));
                        }
                        // After the menu in the page's order, so a phone shows it right below
                        // what is being typed; beside the form (sticky) on a wide screen.
                        section.card.preview-card aria-live="polite" {
                            h2 { "What the customer sees" }
                            div #preview { (preview_partial(a, kind)) }
                        }
                        section.card {
                            h2 { "Away message" }
                            (checkbox("away_enabled", "Answer once per conversation outside business hours", a.away.enabled))
                            textarea name="away_text" aria-label="Away message" rows="2" { (a.away.text) }
                        }
                        section.card {
                            h2 { "Satisfaction survey" }
                            (checkbox("csat_enabled", "Ask for a score from 1 to 5 after a resolve", a.csat.enabled))
                            textarea name="csat_text" aria-label="Survey question" rows="2" { (a.csat.text) }
                        }
                        div { button type="submit" { "Save" } }
                    }
                }
            },
        ))
    }
}
