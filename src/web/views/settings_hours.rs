//! Settings → Business hours: the shop's time zone, open–close ranges per weekday, holidays and
//! pending auto-resolve.

use std::collections::BTreeMap;

use maud::{Markup, html};

use super::layout::{Frame, page};

/// The weekdays as the settings name them, with their words.
pub const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

/// Everything the page shows (the stored settings, or what was submitted before a refusal).
pub struct HoursView<'a> {
    /// The shop's IANA time zone.
    pub timezone: &'a str,
    /// Every zone name to choose from.
    pub zones: &'a [String],
    /// Weekday key → `[open, close]` ranges (`HH:MM`).
    pub hours: &'a BTreeMap<String, Vec<[String; 2]>>,
    /// Holidays, `YYYY-MM-DD`, sorted.
    pub holidays: &'a [String],
    /// `auto_resolve_pending_secs` (None: off).
    pub auto_resolve_secs: Option<i64>,
    /// Owners change the time zone; managers see it.
    pub is_owner: bool,
    /// A refusal to show.
    pub error: Option<&'a str>,
}

fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

fn range_inputs(day: &str, label: &str, i: usize, open: &str, close: &str) -> Markup {
    html! {
        div.actions.hours-range {
            input type="time" name={ (day) "_open" } value=(open) aria-label={ (label) " opens (range " (i + 1) ")" };
            span { "–" }
            input type="time" name={ (day) "_close" } value=(close) aria-label={ (label) " closes (range " (i + 1) ")" };
        }
    }
}

fn week(v: &HoursView<'_>, csrf: &str) -> Markup {
    html! {
        section.card #hours {
            h2 { "Opening hours" }
            form.stack method="post" action="/settings/hours/hours" {
                (csrf_field(csrf))
                label for="timezone" { "Time zone" }
                select #timezone name="timezone" disabled[!v.is_owner] {
                    @if !v.zones.iter().any(|z| z == v.timezone) {
                        option value=(v.timezone) selected { (v.timezone) }
                    }
                    @for z in v.zones {
                        option value=(z) selected[z == v.timezone] { (z) }
                    }
                }
                @if !v.is_owner { p.meta { "Only the owner changes the time zone." } }
                p.meta {
                    "Each day: any number of open–close ranges; leave a day empty for closed. "
                    "Clear both times of a range to remove it; the empty row adds one. "
                    "With no hours on any day the shop counts as always open."
                }
                @for (key, label) in WEEKDAYS {
                    @let ranges = v.hours.get(key).map(Vec::as_slice).unwrap_or(&[]);
                    fieldset.hours-day id={ "day-" (key) } {
                        legend { (label) @if ranges.is_empty() { span.meta { " · closed" } } }
                        @for (i, [open, close]) in ranges.iter().enumerate() {
                            (range_inputs(key, label, i, open, close))
                        }
                        (range_inputs(key, label, ranges.len(), "", ""))
                    }
                }
                button type="submit" { "Save hours" }
            }
        }
    }
}

fn holidays(v: &HoursView<'_>, csrf: &str) -> Markup {
    html! {
        section.card #holidays {
            h2 { "Holidays" }
            p.meta { "Whole days closed, in the shop's time zone: SLA clocks do not run and the away message answers." }
            @if v.holidays.is_empty() { p.meta { "No holidays yet." } }
            ul {
                @for d in v.holidays {
                    li.actions {
                        span { (d) }
                        form method="post" action="/settings/hours/holiday_remove" {
                            (csrf_field(csrf))
                            input type="hidden" name="date" value=(d);
                            button.secondary type="submit" aria-label={ "Remove holiday " (d) } { "×" }
                        }
                    }
                }
            }
            form.actions method="post" action="/settings/hours/holiday_add" {
                (csrf_field(csrf))
                input type="date" name="date" aria-label="Holiday date" required;
                button type="submit" { "Add holiday" }
            }
        }
    }
}

fn auto_resolve(v: &HoursView<'_>, csrf: &str) -> Markup {
    let (value, unit) = match v.auto_resolve_secs {
        None => (String::new(), "h"),
        Some(s) if s % 86_400 == 0 => ((s / 86_400).to_string(), "d"),
        Some(s) if s % 3600 == 0 => ((s / 3600).to_string(), "h"),
        Some(s) if s % 60 == 0 => ((s / 60).to_string(), "min"),
        Some(s) => (s.to_string(), "s"),
    };
    html! {
        section.card #auto-resolve {
            h2 { "Auto-resolve" }
            p.meta { "Resolve a conversation waiting on the customer after they stayed quiet this long. Empty: never." }
            form.actions method="post" action="/settings/hours/auto_resolve" {
                (csrf_field(csrf))
                input type="number" name="value" min="1" step="1" value=(value) aria-label="Quiet period" placeholder="off";
                select name="unit" aria-label="Unit" {
                    @for (u, words) in [("s", "seconds"), ("min", "minutes"), ("h", "hours"), ("d", "days")] {
                        option value=(u) selected[u == unit] { (words) }
                    }
                }
                button type="submit" { "Save" }
            }
        }
    }
}

/// The business hours page.
pub fn hours_page(frame: &Frame<'_>, v: &HoursView<'_>) -> Markup {
    page(
        "Business hours · teaminbox",
        frame,
        html! {
            main {
                p { a href="/settings" { "← Settings" } }
                h1 { "Business hours" }
                @if let Some(e) = v.error { p.alert role="alert" { (e) } }
                (week(v, frame.csrf))
                (holidays(v, frame.csrf))
                (auto_resolve(v, frame.csrf))
            }
        },
    )
}
