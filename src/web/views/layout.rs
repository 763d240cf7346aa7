//! The page frame: head with hashed assets and htmx configuration, the top bar, and the body's
//! data attributes that `app.js` reads for live updates.

use maud::{DOCTYPE, Markup, html};

use crate::web::assets::url;

/// htmx settings: no eval, no inline styles (the CSP forbids both; the indicator rules htmx would
/// inject are in `assets/app.css`), and swap error pages too so a refused action shows its message.
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"historyCacheSize":0,"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"[45]..","swap":true,"error":false}]}"#;

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

/// A page for a logged-in person.
pub fn page(title: &str, frame: &Frame<'_>, content: Markup) -> Markup {
    let headers = serde_json::json!({"X-CSRF-Token": frame.csrf}).to_string();
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body hx-boost="true" hx-headers=(headers) {
                // Read by app.js at every event: boosted navigation replaces this, not <body>.
                div #page hidden data-page=(frame.page) data-conversation=[frame.conversation] data-user=(frame.user_id) {}
                header.top {
                    a.brand href="/" { "teaminbox" }
                    span.live #live { "" }
                    div.who {
                        button.secondary #sound type="button" hidden aria-pressed="false" title="Sound for new messages in my conversations" { "🔕" }
                        @if frame.role != "agent" { a href="/settings" { "Settings" } }
                        span { (frame.name) " · " (frame.role) }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(frame.csrf);
                            button.secondary type="submit" { "Log out" }
                        }
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
