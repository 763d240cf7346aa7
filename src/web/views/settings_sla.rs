//! Settings → SLA policies: the list, a form per policy to change it and one to add a policy.

use maud::{Markup, html};

use super::layout::{Frame, page};
use crate::domain::Priority;
use crate::domain::sla::Policy;
use crate::store::teams::Team;

/// Everything the page shows.
pub struct SlaView<'a> {
    /// The policies.
    pub policies: &'a [Policy],
    /// Teams to pick from.
    pub teams: &'a [Team],
    /// A refusal to show.
    pub error: Option<&'a str>,
}

/// A duration in seconds as the form shows it: the largest unit it is a whole number of
/// (`(90, "min")` for 5400 s); empty and hours for none.
pub fn split_duration(secs: Option<i64>) -> (String, &'static str) {
    match secs {
        None => (String::new(), "h"),
        Some(s) if s % 3600 == 0 => ((s / 3600).to_string(), "h"),
        Some(s) if s % 60 == 0 => ((s / 60).to_string(), "min"),
        Some(s) => (s.to_string(), "s"),
    }
}

fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

fn target(key: &str, words: &str, form: &str, secs: Option<i64>) -> Markup {
    let (value, unit) = split_duration(secs);
    let id = format!("{form}-{key}");
    html! {
        label for=(id) { (words) }
        div.actions {
            input id=(id) type="number" name={ (key) "_value" } min="1" step="1" value=(value) placeholder="none";
            select name={ (key) "_unit" } aria-label={ (words) " unit" } {
                @for (u, w) in [("s", "seconds"), ("min", "minutes"), ("h", "hours")] {
                    option value=(u) selected[u == unit] { (w) }
                }
            }
        }
    }
}

fn policy_form(v: &SlaView<'_>, csrf: &str, p: Option<&Policy>) -> Markup {
    let form = p.map_or("new".to_string(), |p| format!("p{}", p.id));
    let action = p.map_or("/settings/sla".to_string(), |p| {
        format!("/settings/sla/{}", p.id)
    });
    let warn = p.map_or(80, |p| (p.warn_at * 100.0).round() as i64);
    html! {
        form.stack method="post" action=(action) {
            (csrf_field(csrf))
            label for={ (form) "-name" } { "Name" }
            input id={ (form) "-name" } type="text" name="name" required maxlength="80"
                value=(p.map_or("", |p| p.name.as_str())) placeholder="Support, urgent";
            label for={ (form) "-team" } { "Team" }
            select id={ (form) "-team" } name="team" {
                option value="" selected[p.is_none_or(|p| p.team_id.is_none())] { "Any team (and conversations without one)" }
                @for t in v.teams {
                    option value=(t.id) selected[p.is_some_and(|p| p.team_id == Some(t.id.0))] { (t.name) }
                }
            }
            label for={ (form) "-priority" } { "Priority" }
            select id={ (form) "-priority" } name="priority" {
                option value="" selected[p.is_none_or(|p| p.priority.is_none())] { "Any priority" }
                @for pr in Priority::ALL {
                    option value=(pr.as_str()) selected[p.is_some_and(|p| p.priority == Some(*pr))] { (pr.as_str()) }
                }
            }
            (target("first_response", "First response within", &form, p.and_then(|p| p.first_response_secs)))
            (target("next_response", "Next response within", &form, p.and_then(|p| p.next_response_secs)))
            (target("resolution", "Resolved within", &form, p.and_then(|p| p.resolution_secs)))
            label for={ (form) "-warn" } { "Warn at (% of the target)" }
            input id={ (form) "-warn" } type="number" name="warn_pct" min="1" max="99" step="1" value=(warn) required;
            label {
                input type="checkbox" name="business_hours" value="1" checked[p.is_some_and(|p| p.business_hours)];
                " Count business hours only (Settings → Business hours)"
            }
            label {
                input type="checkbox" name="pause_when_pending" value="1" checked[p.is_none_or(|p| p.pause_when_pending)];
                " Pause the resolution clock while waiting on the customer"
            }
            button type="submit" { @if p.is_some() { "Save policy" } @else { "Add policy" } }
        }
    }
}

fn summary(v: &SlaView<'_>, p: &Policy) -> Markup {
    let team = p
        .team_id
        .and_then(|id| v.teams.iter().find(|t| t.id.0 == id))
        .map_or("any team".to_string(), |t| t.name.clone());
    let words = |secs: Option<i64>| {
        secs.map_or("—".to_string(), |s| {
            let (n, u) = split_duration(Some(s));
            format!("{n} {u}")
        })
    };
    html! {
        span dir="auto" { strong { (p.name) } }
        " · " (team) " · " (p.priority.map_or("any priority", |pr| pr.as_str()))
        span.meta {
            " · first " (words(p.first_response_secs))
            ", next " (words(p.next_response_secs))
            ", resolve " (words(p.resolution_secs))
        }
    }
}

/// The SLA policies page.
pub fn sla_page(frame: &Frame<'_>, v: &SlaView<'_>) -> Markup {
    page(
        "SLA policies · teaminbox",
        frame,
        html! {
            main {
                p { a href="/settings" { "← Settings" } }
                h1 { "SLA policies" }
                p.meta {
                    "Targets per team and priority; the most specific policy covers a conversation. "
                    "A warning comes at the share you set, a breach at the target."
                }
                @if let Some(e) = v.error { p.alert role="alert" { (e) } }
                section.card #policies {
                    h2 { "Policies" }
                    @if v.policies.is_empty() { p.meta { "No policies yet: nothing is timed." } }
                    @for p in v.policies {
                        details id={ "policy-" (p.id) } {
                            summary { (summary(v, p)) }
                            (policy_form(v, frame.csrf, Some(p)))
                        }
                    }
                }
                section.card #new-policy {
                    h2 { "Add a policy" }
                    (policy_form(v, frame.csrf, None))
                }
            }
        },
    )
}
