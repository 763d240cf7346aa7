//! Login and first-run setup pages.

use maud::{Markup, html};

use super::layout::bare_page;

/// The login form, with an optional error and the page to return to.
pub fn login_page(error: Option<&str>, email: &str, next: &str) -> Markup {
    bare_page(
        "Log in · teaminbox",
        html! {
            h1 { "teaminbox" }
            @if let Some(e) = error { p.alert role="alert" { (e) } }
            form.stack method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                div { label for="email" { "Email" } input #email type="email" name="email" value=(email) autocomplete="username" required; }
                div { label for="password" { "Password" } input #password type="password" name="password" autocomplete="current-password" required; }
                button type="submit" { "Log in" }
            }
        },
    )
}

/// The first-run form that creates the owner.
pub fn setup_page(token: &str, error: Option<&str>, name: &str, email: &str) -> Markup {
    bare_page(
        "Set up · teaminbox",
        html! {
            h1 { "Welcome to teaminbox" }
            p { "Create the owner account. You can add your team afterwards." }
            @if let Some(e) = error { p.alert role="alert" { (e) } }
            form.stack method="post" action="/setup" {
                input type="hidden" name="token" value=(token);
                div { label for="name" { "Your name" } input #name type="text" name="name" value=(name) required; }
                div { label for="email" { "Email" } input #email type="email" name="email" value=(email) autocomplete="username" required; }
                div { label for="password" { "Password (8 characters or more)" } input #password type="password" name="password" autocomplete="new-password" minlength="8" required; }
                button type="submit" { "Create owner account" }
            }
        },
    )
}
