//! The Reports page: filters, the figures of a period with their formulas, per-agent figures, and
//! two charts drawn here as SVG (daily trend, busiest hours) — labelled, readable at 390 px, no
//! chart JavaScript.

use maud::{Markup, html};

use super::layout::{Frame, page};
use crate::domain::metrics::Stats;
use crate::service::reports::{DEFINITIONS, Day, Summary};

/// A duration in words: `45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn dur(v: Option<i64>) -> String {
    v.map_or("—".into(), duration)
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |r| format!("{:.0} %", r * 100.0))
}

/// What the filter form offers and holds.
pub struct Filters<'a> {
    /// `from` as typed (`YYYY-MM-DD`).
    pub from: &'a str,
    /// `to` as typed.
    pub to: &'a str,
    /// Teams (id, name) and the chosen one.
    pub teams: &'a [(i64, String)],
    /// The chosen team.
    pub team: Option<i64>,
    /// Staff (id, name).
    pub agents: &'a [(i64, String)],
    /// The chosen agent.
    pub agent: Option<i64>,
    /// Channels (id, name).
    pub channels: &'a [(i64, String)],
    /// The chosen channel.
    pub channel: Option<i64>,
    /// The query string of the report (for the CSV links).
    pub query: &'a str,
}

fn select(
    name: &str,
    label: &str,
    all: &str,
    items: &[(i64, String)],
    chosen: Option<i64>,
) -> Markup {
    html! {
        label { (label) " "
            select name=(name) {
                option value="" { (all) }
                @for (id, n) in items { option value=(id) selected[chosen == Some(*id)] { (n) } }
            }
        }
    }
}

fn stats_row(name: &str, s: &Stats, business: Option<&Stats>) -> Markup {
    html! {
        tr {
            th scope="row" { (name) }
            td { (dur(s.median)) }
            td { (s.mean.map_or("—".into(), |m| duration(m.round() as i64))) }
            td { (dur(s.p90)) }
            td { (s.count) }
            @if let Some(b) = business {
                td.bh { (dur(b.median)) " / " (b.mean.map_or("—".into(), |m| duration(m.round() as i64))) }
            }
        }
    }
}

/// The full page.
pub fn reports_page(frame: &Frame<'_>, s: &Summary, f: &Filters<'_>) -> Markup {
    let bh = s.business_hours.as_ref();
    let content = html! {
        main.reports {
            div.now-head {
                h1 { "Reports" }
                a.button.secondary href="/now" { "Now board" }
            }
            form.filters method="get" action="/reports" {
                label { "From " input type="date" name="from" value=(f.from); }
                label { "To " input type="date" name="to" value=(f.to); }
                (select("team", "Team", "All teams", f.teams, f.team))
                (select("agent", "Agent", "Everyone", f.agents, f.agent))
                (select("channel", "Channel", "All channels", f.channels, f.channel))
                button type="submit" { "Show" }
            }
            p.hint { "Times in " (s.timezone) ". " (s.cycles_started) " cycles started in the period." }
            div.tiles {
                div.tile #rep-frt { span.n { (dur(s.first_response_secs.median)) } span.l { "first response (median)" } }
                div.tile #rep-rate { span.n { (pct(s.resolution_rate)) } span.l { "resolved (" (s.cycles_resolved) " of " (s.cycles_started) ")" } }
                div.tile #rep-sla { span.n { (pct(s.sla_met_ratio)) } span.l { "SLA met" } }
                div.tile #rep-csat { span.n { (s.csat.mean.map_or("—".into(), |m| format!("{m:.1}"))) } span.l { "CSAT (" (s.csat.responses) " answers)" } }
            }
            div.scroll {
                table.figures {
                    thead { tr {
                        th { "Time" } th { "Median" } th { "Mean" } th { "90th pct" } th { "Count" }
                        @if bh.is_some() { th { "Business hours (median / mean)" } }
                    } }
                    tbody {
                        (stats_row("First response", &s.first_response_secs, bh.map(|b| &b.first_response_secs)))
                        (stats_row("Reply", &s.reply_secs, bh.map(|b| &b.reply_secs)))
                        (stats_row("Resolution", &s.resolution_secs, bh.map(|b| &b.resolution_secs)))
                    }
                }
            }
            h2 { "Per agent" }
            div.scroll {
                table.figures #per-agent {
                    thead { tr {
                        th { "Agent" } th { "Conversations" } th { "Messages" } th { "Resolved" }
                        th { "First response (median)" } th { "SLA met" } th { "CSAT" }
                    } }
                    tbody {
                        @for a in &s.per_agent {
                            tr data-agent=(a.user.id) {
                                th scope="row" dir="auto" { (a.user.name) }
                                td { (a.conversations) } td { (a.messages_sent) } td { (a.resolved) }
                                td { (dur(a.first_response_median_secs)) }
                                td { (pct(a.sla_met_ratio)) }
                                td { (a.csat_mean.map_or("—".into(), |m| format!("{m:.1}"))) " (" (a.csat_responses) ")" }
                            }
                        }
                        @if s.per_agent.is_empty() { tr { td colspan="7" { "Nobody handled a conversation in this period." } } }
                    }
                }
            }
            p {
                a.button.secondary href={ "/api/v1/reports/cycles.csv?" (f.query) } download { "Cycles (CSV)" }
                " "
                a.button.secondary href={ "/api/v1/reports/agents.csv?" (f.query) } download { "Agents (CSV)" }
            }
            h2 { "Day by day" }
            (trend(&s.daily))
            h2 { "Busiest hours" }
            (heatmap(&s.heatmap))
            h2 { "How each figure is computed" }
            dl.definitions {
                @for (name, formula) in DEFINITIONS { dt { (name) } dd { (formula) } }
            }
        }
    };
    page("Reports", frame, content)
}

const GREEN: &str = "#0b7a55";
const BLUE: &str = "#3d6fb6";

/// Cycles started (bars) and resolved (dots) per day, with the largest value and the first and
/// last date labelled. 360 × 170 user units; scales to the page width.
fn trend(days: &[Day]) -> Markup {
    let (w, h, left, bottom) = (360.0_f64, 170.0_f64, 28.0_f64, 22.0_f64);
    let top = 16.0;
    let max = days
        .iter()
        .map(|d| d.started.max(d.resolved))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = days.len().max(1) as f64;
    let step = (w - left) / n;
    let y = |v: i64| top + (h - top - bottom) * (1.0 - v as f64 / max);
    let base = h - bottom;
    html! {
        svg.chart #trend viewBox={ "0 0 " (w) " " (h) } role="img"
            aria-label={ "Cycles started and resolved per day, " (days.len()) " days" } {
            title { "Cycles started (bars) and resolved (dots) per day" }
            text x="0" y=(top + 4.0) font-size="11" fill="#555" { (max as i64) }
            text x="0" y=(base) font-size="11" fill="#555" { "0" }
            line x1=(left) x2=(w) y1=(base) y2=(base) stroke="#999" stroke-width="1" {}
            @for (i, d) in days.iter().enumerate() {
                @let x = left + step * i as f64;
                rect x={ (format!("{:.1}", x + step * 0.15)) } y={ (format!("{:.1}", y(d.started))) }
                    width={ (format!("{:.1}", (step * 0.7).max(1.0))) } height={ (format!("{:.1}", base - y(d.started))) }
                    fill=(GREEN) {
                    title { (d.date) ": " (d.started) " started, " (d.resolved) " resolved" }
                }
                @if d.resolved > 0 {
                    circle cx={ (format!("{:.1}", x + step / 2.0)) } cy={ (format!("{:.1}", y(d.resolved))) }
                        r="3" fill=(BLUE) {}
                }
            }
            @if let (Some(first), Some(last)) = (days.first(), days.last()) {
                text x=(left) y=(h - 6.0) font-size="11" fill="#333" { (first.date) }
                text x=(w) y=(h - 6.0) font-size="11" fill="#333" text-anchor="end" { (last.date) }
            }
            rect x=(w - 150.0) y="2" width="9" height="9" fill=(GREEN) {}
            text x=(w - 138.0) y="10" font-size="10" fill="#333" { "started" }
            circle cx=(w - 85.0) cy="6.5" r="3.5" fill=(BLUE) {}
            text x=(w - 78.0) y="10" font-size="10" fill="#333" { "resolved" }
        }
    }
}

/// Cycles started per weekday (rows, Monday first) and hour (columns), shaded by count, with
/// the count in each cell's tooltip. 360 × 150 user units.
fn heatmap(grid: &[[i64; 24]]) -> Markup {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let (left, top, cell) = (32.0_f64, 6.0_f64, 13.5_f64);
    let max = grid
        .iter()
        .flat_map(|r| r.iter())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    html! {
        svg.chart #heatmap viewBox="0 0 360 130" role="img"
            aria-label="Cycles started per weekday and hour" {
            title { "Cycles started per weekday and hour (darker: more)" }
            @for (d, row) in grid.iter().enumerate() {
                text x="0" y=(top + cell * d as f64 + 10.0) font-size="11" fill="#333" { (DAYS[d.min(6)]) }
                @for (hr, n) in row.iter().enumerate() {
                    rect x=(left + cell * hr as f64) y=(top + cell * d as f64) width=(cell - 1.5) height=(cell - 1.5)
                        fill=(GREEN) fill-opacity={ (format!("{:.2}", if *n == 0 { 0.06 } else { 0.2 + 0.8 * *n as f64 / max })) } {
                        title { (DAYS[d.min(6)]) " " (format!("{hr:02}:00")) ": " (n) }
                    }
                }
            }
            @for hr in [0, 6, 12, 18, 23] {
                text x=(left + cell * hr as f64) y=(top + cell * 7.0 + 12.0) font-size="11" fill="#333" { (format!("{hr:02}h")) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_in_words() {
        for (secs, want) in [
            (0, "0 s"),
            (59, "59 s"),
            (600, "10 min"),
            (3660, "1 h 01 min"),
            (237_600, "2 d 18 h"),
            (-5, "0 s"),
        ] {
            assert_eq!(duration(secs), want, "{secs}");
        }
    }
}
