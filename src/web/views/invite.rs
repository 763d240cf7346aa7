//! Invitation and reset links (#14): the page that shows the owner a new link with its QR code,
//! the pending links in Settings, and the `/invite` page where a person sets their password.

use maud::{Markup, PreEscaped, html};

use super::age;
use super::layout::{Frame, bare_page, page};
use crate::domain::invitation::Kind;
use crate::store::invitations::Pending;

/// "72 hours" for a link's remaining life (hours, rounded up, from two hours on; shorter in
/// the words of [`age`]), so a fresh link does not read "2 d".
fn expires_in(ms: i64) -> String {
    const HOUR: i64 = 3_600_000;
    if ms >= 2 * HOUR {
        format!("{} hours", (ms + HOUR - 1) / HOUR)
    } else {
        age(ms)
    }
}

/// A link just issued, as the owner sees it once.
pub struct NewLink<'a> {
    /// The person's name.
    pub name: &'a str,
    /// Invitation or reset.
    pub kind: Kind,
    /// The whole link (`<LAN base>/invite?token=…`).
    pub url: &'a str,
    /// Milliseconds until it expires.
    pub expires_in_ms: i64,
    /// Its QR code as inline SVG (`crate::lan::qr_svg`), if it fits in one.
    pub qr_svg: Option<&'a str>,
}

/// The page that shows a new link: the link in a selectable field with a Copy button (app.js;
/// without JavaScript the field is selected on a tap), its QR code, and what to do with it.
pub fn link_page(frame: &Frame<'_>, l: &NewLink<'_>) -> Markup {
    let (title, what) = match l.kind {
        Kind::Invite => (
            format!("Invitation for {}", l.name),
            "opens it on their phone, sets their own password and is logged in",
        ),
        Kind::Reset => (
            format!("Password reset for {}", l.name),
            "opens it on their phone and sets a new password; all their old sign-ins end",
        ),
    };
    page(
        &format!("{title} · teaminbox"),
        frame,
        html! {
            main.invite-link {
                p { a href="/settings#staff" { "← Settings" } }
                h1 dir="auto" { (title) }
                p { "Show this QR code to " span dir="auto" { (l.name) } " or send them the link: "
                    span dir="auto" { (l.name) } " " (what) ". It works once and expires in " (expires_in(l.expires_in_ms)) "." }
                @if let Some(svg) = l.qr_svg {
                    figure.qr #invite-qr aria-label="QR code of the link" { (PreEscaped(svg)) }
                }
                label for="invite-url" { "Link" }
                div.secret-row {
                    input #invite-url type="text" readonly value=(l.url) dir="ltr" autocomplete="off" spellcheck="false";
                    button.secondary #copy-link type="button" data-copy="invite-url" hidden { "Copy" }
                }
                p.meta #copy-said aria-live="polite" {}
                p.meta { "This is the only time the link is shown. Lost it? Re-issue it from Settings (the old one stops working)." }
                p { a.button href="/settings#staff" { "Done" } }
            }
        },
    )
}

/// The pending links in Settings, each with Re-issue and Revoke.
pub fn pending_list(pending: &[Pending], now: i64, csrf: &str) -> Markup {
    html! {
        div #pending-invitations {
            h3 { "Pending invitations" }
            @if pending.is_empty() {
                p.meta { "None: every link was used, revoked or has expired." }
            }
            ul.pending {
                @for p in pending {
                    li {
                        span dir="auto" { (p.name) } " · " span.meta { (p.email) } " · "
                        (match p.invitation.kind { Kind::Invite => "invitation", Kind::Reset => "password reset" })
                        ", expires in " (expires_in(p.invitation.expires_at - now))
                        div.actions {
                            form method="post" action={ "/settings/invitations/" (p.invitation.user_id) } {
                                input type="hidden" name="csrf" value=(csrf);
                                button.secondary type="submit" aria-label={ "Re-issue the link of " (p.name) } { "Re-issue" }
                            }
                            form method="post" action={ "/settings/invitations/" (p.invitation.user_id) "/delete" } {
                                input type="hidden" name="csrf" value=(csrf);
                                button.secondary type="submit" aria-label={ "Revoke the link of " (p.name) } { "Revoke" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The `/invite` form: the person's name (which they may fix) and a new password.
pub fn accept_page(token: &str, kind: Kind, name: &str, error: Option<&str>) -> Markup {
    let (title, intro, button) = match kind {
        Kind::Invite => (
            "Welcome to teaminbox",
            "You were invited to the shop's team inbox. Choose your password to start.",
            "Set password and log in",
        ),
        Kind::Reset => (
            "Set a new password",
            "Choose a new password. You will be logged out everywhere else.",
            "Set password and log in",
        ),
    };
    bare_page(
        &format!("{title} · teaminbox"),
        html! {
            h1 { (title) }
            p { (intro) }
            @if let Some(e) = error { p.alert role="alert" { (e) } }
            form.stack method="post" action="/invite" {
                input type="hidden" name="token" value=(token);
                div { label for="name" { "Your name" } input #name type="text" name="name" value=(name) autocomplete="name" required; }
                div { label for="password" { "Password (8 characters or more)" } input #password type="password" name="password" autocomplete="new-password" minlength="8" required; }
                button type="submit" { (button) }
            }
        },
    )
}

/// A link that cannot be used: why, in words, and what to do.
pub fn dead_link_page(message: &str) -> Markup {
    bare_page(
        "Link not valid · teaminbox",
        html! {
            h1 { "This link cannot be used" }
            p.alert role="alert" #link-state { (message) }
            p { a href="/login" { "Go to the login page" } }
        },
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_fresh_link_expires_in_72_hours() {
        let hour = 3_600_000;
        assert_eq!(super::expires_in(72 * hour - 5), "72 hours");
        assert_eq!(super::expires_in(3 * hour), "3 hours");
        assert_eq!(super::expires_in(90 * 60_000), "1 h");
        assert_eq!(super::expires_in(-1), "0 s");
    }
}
