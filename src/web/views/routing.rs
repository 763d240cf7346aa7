//! `/settings/routing`: the routing rules in the order they are tried (each in words, with
//! Delete), a form to add one, each team's assignment mode and the returning-customer switch.

use maud::{Markup, html};

use super::layout::{Frame, page};
use crate::domain::routing::{HoursCondition, Rule};
use crate::domain::{Assignment, Priority};
use crate::service::channels::ChannelView;
use crate::store::teams::Team;

/// Everything the routing page shows.
pub struct RoutingView<'a> {
    /// Rules in the order they are tried.
    pub rules: &'a [Rule],
    /// Teams with their modes.
    pub teams: &'a [Team],
    /// Channels, secrets hidden.
    pub channels: &'a [ChannelView],
    /// The workspace's `sticky_owner`.
    pub sticky_owner: bool,
    /// A refusal to show.
    pub error: Option<&'a str>,
}

fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// How a mode reads in a select.
pub fn mode_label(a: Assignment) -> &'static str {
    match a {
        Assignment::Manual => "Manual: people claim from the pool",
        Assignment::RoundRobin => "Round robin: in turn to whoever is available",
        Assignment::LeastLoaded => "Least loaded: to whoever has fewest open",
    }
}

fn team_name(v: &RoutingView<'_>, id: i64) -> String {
    v.teams
        .iter()
        .find(|t| t.id.0 == id)
        .map_or_else(|| format!("team {id}"), |t| t.name.clone())
}

fn channel_name(v: &RoutingView<'_>, id: i64) -> String {
    v.channels
        .iter()
        .find(|c| c.id.0 == id)
        .map_or_else(|| format!("channel {id}"), |c| c.name.clone())
}

/// A rule's conditions in words ("Any message" when it has none).
fn when(v: &RoutingView<'_>, r: &Rule) -> Vec<String> {
    let c = &r.conditions;
    let mut out = Vec::new();
    if let Some(ch) = c.channel_id {
        out.push(format!("on {}", channel_name(v, ch)));
    }
    if let Some(k) = &c.keywords {
        out.push(format!("first message says {}", k.join(" or ")));
    }
    if let Some(t) = &c.contact_tag {
        out.push(format!("customer tagged {t}"));
    }
    match c.business_hours {
        Some(HoursCondition::Inside) => out.push("during business hours".into()),
        Some(HoursCondition::Outside) => out.push("outside business hours".into()),
        None => {}
    }
    if out.is_empty() {
        out.push("any message".into());
    }
    out
}

/// A rule's actions in words.
fn then(v: &RoutingView<'_>, r: &Rule) -> Vec<String> {
    let a = &r.actions;
    let mut out = Vec::new();
    if let Some(t) = a.team_id {
        out.push(format!("to {}", team_name(v, t)));
    }
    if let Some(tags) = &a.tags {
        out.push(format!("tag {}", tags.join(", ")));
    }
    if let Some(p) = a.priority {
        out.push(format!("priority {}", p.as_str()));
    }
    out
}

fn rules(v: &RoutingView<'_>, csrf: &str) -> Markup {
    html! {
        section.card #rules {
            h2 { "Rules" }
            p.meta { "Tried in order on a customer's first message and when they write again after a resolve; the first that matches applies." }
            @if v.rules.is_empty() {
                p { "No rules yet: new conversations go to their channel's team." }
            }
            ol.rules {
                @for r in v.rules {
                    li.rule {
                        p {
                            span.meta { "#" (r.position) " " }
                            "When " (when(v, r).join(" and ")) ": " strong { (then(v, r).join(", ")) }
                        }
                        form method="post" action={ "/settings/routing/" (r.id) "/delete" } {
                            (csrf_field(csrf))
                            button.secondary type="submit" aria-label={ "Delete rule " (r.position) } { "Delete" }
                        }
                    }
                }
            }
            details open[v.rules.is_empty()] {
                summary { "Add a rule" }
                form.stack method="post" action="/settings/routing" {
                    (csrf_field(csrf))
                    h3 { "When" }
                    label for="rule-channel" { "Channel" }
                    select #rule-channel name="channel_id" {
                        option value="" { "Any channel" }
                        @for c in v.channels { option value=(c.id.0) { (c.name) } }
                    }
                    label for="rule-keywords" { "Words in the first message (any of them, comma-separated)" }
                    input #rule-keywords type="text" name="keywords" placeholder="refund, broken, price list";
                    label for="rule-tag" { "Customer tag" }
                    input #rule-tag type="text" name="contact_tag" placeholder="vip";
                    label for="rule-hours" { "Time" }
                    select #rule-hours name="business_hours" {
                        option value="" { "Any time" }
                        option value="inside" { "During business hours" }
                        option value="outside" { "Outside business hours" }
                    }
                    h3 { "Then" }
                    label for="rule-team" { "Team" }
                    select #rule-team name="team_id" {
                        option value="" { "Keep the channel's team" }
                        @for t in v.teams { option value=(t.id.0) { (t.name) } }
                    }
                    label for="rule-tags" { "Add tags (comma-separated)" }
                    input #rule-tags type="text" name="tags" placeholder="refund";
                    label for="rule-priority" { "Priority" }
                    select #rule-priority name="priority" {
                        option value="" { "Leave as it is" }
                        @for p in [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent] {
                            option value=(p.as_str()) { (p.as_str()) }
                        }
                    }
                    label for="rule-position" { "Position (lower runs first; empty: last)" }
                    input #rule-position type="number" name="position" min="0" inputmode="numeric";
                    button type="submit" { "Add rule" }
                }
            }
        }
    }
}

fn modes(v: &RoutingView<'_>, csrf: &str) -> Markup {
    html! {
        section.card #modes {
            h2 { "Who gets a team's conversations" }
            p.meta { "Only available people within their capacity receive conversations; the rest wait in the team's pool and go out the moment someone is available." }
            @if v.teams.is_empty() { p { "No teams yet: create them in " a href="/settings#teams" { "Settings" } "." } }
            @for t in v.teams {
                form.stack method="post" action={ "/settings/routing/teams/" (t.id.0) } {
                    (csrf_field(csrf))
                    label for={ "mode-" (t.id.0) } { (t.name) }
                    select id={ "mode-" (t.id.0) } name="assignment" {
                        @for a in [Assignment::Manual, Assignment::RoundRobin, Assignment::LeastLoaded] {
                            option value=(a.as_str()) selected[t.assignment == a] { (mode_label(a)) }
                        }
                    }
                    button.secondary type="submit" { "Save " (t.name) }
                }
            }
            form.stack method="post" action="/settings/routing/sticky" {
                (csrf_field(csrf))
                label {
                    input type="checkbox" name="sticky_owner" checked[v.sticky_owner];
                    " Returning customers go back to their last owner when that person is available"
                }
                button.secondary type="submit" { "Save" }
            }
        }
    }
}

/// The routing settings page.
pub fn routing_page(frame: &Frame<'_>, v: &RoutingView<'_>) -> Markup {
    page(
        "Routing · teaminbox",
        frame,
        html! {
            main {
                p { a href="/settings" { "← Settings" } }
                h1 { "Routing" }
                @if let Some(e) = v.error { p.alert role="alert" { (e) } }
                (rules(v, frame.csrf))
                (modes(v, frame.csrf))
            }
        },
    )
}
