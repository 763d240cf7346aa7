//! The Now board: the queue and every agent's load at a glance, for managers and owners (also a
//! wall screen). Everything sits in `#live-region`, which `app.js` re-renders on every event.

use maud::{Markup, html};

use super::layout::{Frame, availability, page};
use super::reports::duration;
use crate::service::reports::NowBoard;

/// A team to filter by: (id, name).
pub type TeamChoice = (i64, String);

/// The board of `team` (None: everyone).
pub fn now_page(
    frame: &Frame<'_>,
    board: &NowBoard,
    teams: &[TeamChoice],
    team: Option<i64>,
) -> Markup {
    let q = &board.queue;
    let content = html! {
        main.now {
            div.now-head {
                h1 { "Now" }
                form.filters method="get" action="/now" {
                    label { "Team "
                        select name="team" {
                            option value="" { "Everyone" }
                            @for (id, name) in teams {
                                option value=(id) selected[team == Some(*id)] { (name) }
                            }
                        }
                    }
                    button.secondary type="submit" { "Show" }
                }
                a.button.secondary href="/reports" { "Reports" }
                a.button.secondary href="/?view=all" { "Inbox" }
            }
            div #live-region {
                div.tiles {
                    a.tile #now-unassigned href="/?view=unassigned" data-count=(q.unassigned) {
                        span.n { (q.unassigned) } span.l { "unassigned" }
                    }
                    a.tile #now-oldest href="/?view=unassigned" {
                        span.n { (q.oldest_unassigned_secs.map_or("—".to_string(), duration)) }
                        span.l { "oldest wait" }
                    }
                    div.tile.warn #now-risk { span.n { (q.sla_at_risk) } span.l { "SLA at risk" } }
                    div.tile.bad #now-breached { span.n { (q.sla_breached) } span.l { "SLA breached" } }
                }
                div.scroll { table.board {
                    thead { tr {
                        th { "Agent" } th { "Open" } th { "Waiting on us" } th { "Oldest unanswered" } th { "Capacity" }
                    } }
                    tbody {
                        @for a in &board.agents {
                            tr data-agent=(a.user.id) data-status=(a.status.as_str()) {
                                td { span dir="auto" { (a.user.name) } br; (availability(a.status)) }
                                td data-field="open" { (a.open) }
                                td data-field="waiting" { (a.waiting_on_us) }
                                td { (a.oldest_waiting_secs.map_or("—".to_string(), duration)) }
                                td {
                                    @match a.capacity {
                                        Some(c) => { (a.open) " / " (c) @if a.open >= c { " full" } }
                                        None => { "no limit" }
                                    }
                                }
                            }
                        }
                    }
                } }
                p.hint { "Open: unresolved conversations they own. Waiting on us: of those, the customer wrote last. Oldest unanswered: how long their longest-waiting customer has waited." }
            }
        }
    };
    page("Now", frame, content)
}
