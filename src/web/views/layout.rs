//! The page frame: head with hashed assets and htmx configuration, the top bar, and the body's
//! data attributes that `app.js` reads for live updates.

use maud::{DOCTYPE, Markup, html};

use crate::domain::UserStatus;
use crate::web::assets::url;

/// htmx settings: no eval, no inline styles (the CSP forbids both; the indicator rules htmx would
/// inject are in `assets/app.css`), and swap error pages too so a refused action shows its message.
/// A 502/503/504 comes from a proxy in front of a stopped server, not from us: it is not swapped
/// over the page but raised as an error, and `app.js` says in `#notice` that the server could not
/// be reached, with Retry.
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"historyCacheSize":0,"timeout":20000,"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"50[234]","swap":false,"error":true},{"code":"[45]..","swap":true,"error":false}]}"#;

/// Who is looking at a page.
pub struct Frame<'a> {
    /// Their name.
    pub name: &'a str,
    /// Their role, shown beside the name.
    pub role: &'a str,
    /// CSRF token for forms and htmx requests.
    pub csrf: &'a str,
    /// `inbox`, `conversation`, … (for live updates).
    pub page: &'a str,
    /// The conversation shown, if any.
    pub conversation: Option<i64>,
    /// The viewer's id (for "my conversations" in live updates).
    pub user_id: i64,
    /// The viewer's availability, shown and set in the top bar.
    pub status: UserStatus,
    /// What the previous action left to say ("Ana Agent added"), shown once in `#notice`.
    pub notice: Option<&'a str>,
    /// Id of the newest event this page reflects (`data-last-event` on `#page`): the live stream
    /// resumes after it, so nothing committed after the page was built is missed.
    pub last_event: i64,
    /// The shop's time zone (IANA name, `data-tz` on `#page`): app.js formats every time in
    /// it, never in the phone's own zone.
    pub timezone: &'a str,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover";
            title { (title) }
            meta name="theme-color" content="#0b7a55";
            meta name="htmx-config" content=(HTMX_CONFIG);
            link rel="manifest" href="/assets/manifest.webmanifest";
            link rel="icon" href=(url("icon.svg")) type="image/svg+xml";
            link rel="apple-touch-icon" href=(url("icon-192.png"));
            link rel="stylesheet" href=(url("app.css"));
            script src=(url("htmx-2.0.11.min.js")) defer {}
            script src=(url("app.js")) defer {}
            script src=(url("conversation.js")) defer {}
            script src=(url("inbox.js")) defer {}
        }
    }
}

/// The words for an availability (`Available`, `Busy`, `Offline`).
pub fn availability_label(s: UserStatus) -> &'static str {
    match s {
        UserStatus::Available => "Available",
        UserStatus::Busy => "Busy",
        UserStatus::Offline => "Offline",
    }
}

/// A person's availability as a coloured dot and a word (`span.avail.busy`), to put beside
/// their name wherever people are listed or chosen.
pub fn availability(s: UserStatus) -> Markup {
    html! { span class={ "avail " (s.as_str()) } { (availability_label(s)) } }
}

/// The top bar: home, connection state, availability menu, and a menu with the person, settings,
/// sound and log out. One line at 390 px; both menus are `<details>`, so they open without
/// JavaScript.
fn top_bar(frame: &Frame<'_>) -> Markup {
    html! {
        header.top {
            a.brand href="/" { "teaminbox" }
            // Kept across boosted navigation (hx-preserve), so the state app.js shows is never
            // blanked by a page swap; hidden until app.js runs (without it there is no live
            // stream to report on).
            span.live #live hx-preserve="true" hidden role="status" data-state="connecting" {}
            details.menu.status-menu #status-menu data-status=(frame.status.as_str()) {
                summary aria-label={ "Your availability: " (availability_label(frame.status)) } {
                    (availability(frame.status))
                }
                form.menu-body method="post" action="/me/status" {
                    input type="hidden" name="csrf" value=(frame.csrf);
                    @for s in UserStatus::ALL {
                        button.secondary type="submit" name="status" value=(s.as_str())
                            aria-pressed=(if *s == frame.status { "true" } else { "false" }) {
                            (availability(*s))
                        }
                    }
                }
            }
            details.menu.who-menu #menu {
                summary.who { span dir="auto" { (frame.name) } " · " (frame.role) }
                div.menu-body {
                    a.button.secondary href="/shift" { "End my shift" }
                    @if frame.role != "agent" { a.button.secondary href="/settings" { "Settings" } }
                    @if frame.role != "agent" { a.button.secondary href="/reports" { "Reports" } }
                    button.secondary #sound type="button" hidden aria-pressed="false" title="Sound for new messages in my conversations" { "🔕 Sound off" }
                    form method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(frame.csrf);
                        button.secondary type="submit" { "Log out" }
                    }
                }
            }
        }
    }
}

/// A page for a logged-in person.
pub fn page(title: &str, frame: &Frame<'_>, content: Markup) -> Markup {
    let headers = serde_json::json!({"X-CSRF-Token": frame.csrf}).to_string();
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body hx-boost="true" hx-ext="ti-keep" hx-headers=(headers) {
                // Read by app.js at every event: boosted navigation replaces this, not <body>.
                div #page hidden data-page=(frame.page) data-conversation=[frame.conversation]
                    data-user=(frame.user_id) data-last-event=(frame.last_event)
                    data-tz=(frame.timezone) {}
                (top_bar(frame))
                // What just happened, or that a tap could not reach the server (app.js).
                div #notice role="status" aria-live="polite" {
                    @if let Some(n) = frame.notice {
                        p.flash { span dir="auto" { (n) } }
                    }
                }
                (content)
            }
        }
    }
}

/// A page without a logged-in person (login, setup, errors).
pub fn bare_page(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { main.auth { (content) } }
        }
    }
}

/// A page that only says something.
pub fn message_page(title: &str, message: &str) -> Markup {
    bare_page(
        title,
        html! {
            h1 { (title) }
            p { (message) }
            p { a href="/" { "Back to the inbox" } }
        },
    )
}
