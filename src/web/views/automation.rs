//! Settings → a channel's automation (#13): the menu, away message and survey form, and beside
//! it a live preview of what the customer will see (re-rendered by htmx on every input), with
//! Meta's limits said in words.

use maud::{Markup, html};

use super::layout::{Frame, page};
use crate::domain::bot::{
    self as rules, Automation, MAX_BODY, MAX_BUTTON_TITLE, MAX_BUTTONS, MAX_OPTIONS, MAX_ROW_TITLE,
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

/// The preview alone (the htmx target): what the customer receives, or what Meta would refuse.
pub fn preview_partial(a: &Automation, kind: ChannelKind) -> Markup {
    let problem = a.check().err();
    let m = &a.menu;
    html! {
        @if let Some(p) = &problem { p.alert role="alert" data-code=(p.code) { (p.message) } }
        @if m.enabled {
            h3 { "Menu" }
            @if kind == ChannelKind::Whatsapp {
                div.bubble.out {
                    p dir="auto" { (m.text) }
                    @if m.options.len() <= MAX_BUTTONS {
                        @for o in &m.options { button type="button" disabled { (o.title) } }
                        p.meta { "Reply buttons (titles up to " (MAX_BUTTON_TITLE) " characters)" }
                    } @else {
                        button type="button" disabled { "☰ " (rules::MENU_BUTTON) }
                        ul { @for o in &m.options { li { (o.title) } } }
                        p.meta { "A list (rows up to " (MAX_ROW_TITLE) " characters)" }
                    }
                }
            } @else {
                pre.bubble.out { (rules::menu_text(m)) }
            }
        } @else {
            p.meta { "The menu is off: new conversations go straight to routing." }
        }
        @if a.away.enabled {
            h3 { "Outside business hours" }
            pre.bubble.out { (a.away.text) }
        }
        @if a.csat.enabled {
            h3 { "After a resolve" }
            pre.bubble.out { (rules::csat_text(&a.csat.text)) }
        }
    }
}

fn checkbox(name: &str, label: &str, on: bool) -> Markup {
    html! { label { input type="checkbox" name=(name) value="1" checked[on]; " " (label) } }
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
                main {
                    p { a href="/settings" { "← Settings" } }
                    h1 { "Automation · " (name) }
                    p.meta { "Greets new customers with a menu and hands them to the right team; "
                        "answers outside business hours; asks how it went after a resolve." }
                    @if let Some(e) = v.error { p.alert role="alert" { (e) } }
                    form.stack #automation method="post" action=(action)
                        hx-get={ (action) "/preview" } hx-trigger="input delay:250ms, change"
                        hx-target="#preview" hx-swap="innerHTML" {
                        input type="hidden" name="csrf" value=(frame.csrf);
                        section.card {
                            h2 { "Menu" }
                            (checkbox("menu_enabled", "Send the menu to every new conversation", a.menu.enabled))
                            label for="menu_text" { "Greeting (up to " (MAX_BODY) " characters)" }
                            textarea #menu_text name="menu_text" rows="2" { (a.menu.text) }
                            p.meta { "Options (1 to " (MAX_OPTIONS) "; up to 3 show as buttons, more as a list)" }
                            @for i in 0..MAX_OPTIONS {
                                @let o = a.menu.options.get(i);
                                fieldset.option {
                                    legend { "Option " (i + 1) }
                                    input type="text" name={ "opt_title_" (i) } aria-label={ "Option " (i + 1) " title" }
                                        placeholder="Title" value=(o.map_or("", |o| o.title.as_str()));
                                    input type="text" name={ "opt_id_" (i) } aria-label={ "Option " (i + 1) " id" }
                                        placeholder="id (optional)" value=(o.map_or("", |o| o.id.as_str()));
                                    select name={ "opt_team_" (i) } aria-label={ "Option " (i + 1) " team" } {
                                        option value="" { "General pool" }
                                        @for t in v.teams {
                                            option value=(t.id.0) selected[o.and_then(|o| o.team_id) == Some(t.id.0)] { (t.name) }
                                        }
                                    }
                                    input type="text" name={ "opt_tags_" (i) } aria-label={ "Option " (i + 1) " tags" }
                                        placeholder="tags, comma-separated" value=(o.map_or(String::new(), |o| o.tags.join(", ")));
                                    select name={ "opt_priority_" (i) } aria-label={ "Option " (i + 1) " priority" } {
                                        option value="" { "Priority unchanged" }
                                        @for p in [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent] {
                                            option value=(p.as_str()) selected[o.and_then(|o| o.priority) == Some(p)] { (p.as_str()) }
                                        }
                                    }
                                }
                            }
                            label for="timeout_secs" { "Hand over after this many seconds without a choice" }
                            input #timeout_secs type="number" name="timeout_secs" min="10" max="86400" value=(a.menu.timeout_secs);
                            label for="human_keywords" { "Words that ask for a person (comma-separated)" }
                            input #human_keywords type="text" name="human_keywords" value=(a.menu.human_keywords.join(", "));
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
                        button type="submit" { "Save" }
                    }
                    section.card aria-live="polite" {
                        h2 { "What the customer sees" }
                        div #preview { (preview_partial(a, kind)) }
                    }
                }
            },
        ))
    }
}
