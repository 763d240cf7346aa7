//! Settings: staff, teams, tags, canned replies and workspace options.

use maud::{Markup, html};

use super::layout::{Frame, availability, page};
use crate::domain::settings::Settings;
use crate::domain::{Role, Visibility};
use crate::store::canned::Canned;
use crate::store::teams::Team;
use crate::store::users::User;

/// Everything the settings page shows.
pub struct SettingsView<'a> {
    /// Staff.
    pub users: &'a [User],
    /// Teams.
    pub teams: &'a [Team],
    /// Tags: id, name, conversations.
    pub tags: &'a [(i64, String, i64)],
    /// Canned replies.
    pub canned: &'a [Canned],
    /// Workspace settings.
    pub settings: &'a Settings,
    /// Owners see staff and workspace sections.
    pub is_owner: bool,
    /// A refusal to show.
    pub error: Option<&'a str>,
    /// A new API channel's secret, shown only on the answer that created it.
    pub secret: Option<&'a NewSecret>,
    /// Channels, secrets hidden.
    pub channels: &'a [crate::service::channels::ChannelView],
    /// A newer teaminbox found by the daily update check.
    pub update_available: Option<&'a str>,
}

/// A channel secret shown once, right after the channel was created.
pub struct NewSecret {
    /// The channel's name.
    pub channel: String,
    /// The channel's id (for the inbound URL).
    pub id: i64,
    /// The secret itself.
    pub secret: String,
}

/// The once-shown secret: wraps within a phone's width, with a Copy button (app.js) that falls
/// back to selecting the text where the clipboard is not available (plain http on the shop's
/// network is not a secure context).
fn secret_box(n: &NewSecret) -> Markup {
    html! {
        div.ok.secret-box #new-secret role="status" {
            p { "Channel " span dir="auto" { (n.channel) } " added. Its secret, shown only now:" }
            div.secret-row {
                code #secret dir="ltr" { (n.secret) }
                button.secondary #copy-secret type="button" data-copy="secret" hidden { "Copy" }
            }
            p.meta #copy-said aria-live="polite" {}
            p.meta {
                "Send it as " code { "Authorization: Bearer <secret>" } " to " code { "POST /api/v1/channels/" (n.id) "/inbound" }
                ", and use it to check " code { "X-Teaminbox-Signature" } " on the callbacks."
            }
        }
    }
}

fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

fn role_select(current: Role) -> Markup {
    html! {
        select name="role" aria-label="Role" {
            @for r in Role::ALL { option value=(r.as_str()) selected[*r == current] { (r.as_str()) } }
        }
    }
}

fn team_boxes(teams: &[Team], checked: &dyn Fn(i64) -> bool) -> Markup {
    html! {
        div.actions {
            @for t in teams {
                label { input type="checkbox" name="teams" value=(t.id) checked[checked(t.id.0)]; " " (t.name) }
            }
        }
    }
}

fn staff(v: &SettingsView<'_>, csrf: &str) -> Markup {
    html! {
        section.card #staff {
            h2 { "Staff" }
            @for u in v.users {
                details {
                    summary {
                        span dir="auto" { (u.name) } " · " (u.role) " " (availability(u.status))
                        @if u.disabled { " · disabled" }
                        @for t in &u.teams { " " span.tag { (t.name) } }
                    }
                    form.stack method="post" action={ "/settings/users/" (u.id) } {
                        (csrf_field(csrf))
                        div.meta { (u.email) }
                        label { "Role" } (role_select(u.role))
                        label { "Teams" }
                        (team_boxes(v.teams, &|id| u.teams.iter().any(|t| t.id == id)))
                        label { input type="checkbox" name="disabled" value="1" checked[u.disabled]; " Disabled (signs them out everywhere)" }
                        label for={ "pw-" (u.id) } { "New password (leave empty to keep)" }
                        input id={ "pw-" (u.id) } type="password" name="password" autocomplete="new-password";
                        button type="submit" { "Save " (u.name) }
                    }
                    p { a href={ "/shift?user=" (u.id) } { "End " (u.name) "'s shift…" } }
                }
            }
            details {
                summary { "Add a person" }
                form.stack method="post" action="/settings/users" {
                    (csrf_field(csrf))
                    label for="new-name" { "Name" } input #new-name type="text" name="name" required;
                    label for="new-email" { "Email" } input #new-email type="email" name="email" required;
                    label for="new-password" { "Password (8 characters or more)" }
                    input #new-password type="password" name="password" autocomplete="new-password" required;
                    label { "Role" } (role_select(Role::Agent))
                    label { "Teams" } (team_boxes(v.teams, &|_| false))
                    button type="submit" { "Add" }
                }
            }
        }
    }
}

fn teams(v: &SettingsView<'_>, csrf: &str) -> Markup {
    html! {
        section.card #teams {
            h2 { "Teams" }
            @for t in v.teams {
                details {
                    summary { (t.name) " · " (t.members.len()) " members" }
                    form.stack method="post" action={ "/settings/teams/" (t.id) } {
                        (csrf_field(csrf))
                        label { "Name" } input type="text" name="name" value=(t.name) required;
                        label { "Members" }
                        div.actions {
                            @for u in v.users.iter().filter(|u| !u.disabled) {
                                label {
                                    input type="checkbox" name="members" value=(u.id) checked[t.members.iter().any(|m| m.id == u.id.0)];
                                    " " span dir="auto" { (u.name) } " " (availability(u.status))
                                }
                            }
                        }
                        button type="submit" { "Save team" }
                    }
                }
            }
            form.actions method="post" action="/settings/teams" {
                (csrf_field(csrf))
                input type="text" name="name" placeholder="New team, such as Sales" aria-label="New team name" required;
                button type="submit" { "Add team" }
            }
        }
    }
}

fn tags_and_canned(v: &SettingsView<'_>, csrf: &str) -> Markup {
    html! {
        section.card #tags {
            h2 { "Tags" }
            @if v.tags.is_empty() { p.meta { "Tags appear here once someone tags a conversation." } }
            div.actions {
                @for (id, name, n) in v.tags {
                    form method="post" action={ "/settings/tags/" (id) "/delete" } {
                        (csrf_field(csrf))
                        button.secondary type="submit" aria-label={ "Delete tag " (name) } { (name) " (" (n) ") ×" }
                    }
                }
            }
        }
        section.card #canned {
            h2 { "Canned replies" }
            p.meta { "Type /shortcut in a reply to insert the text." }
            @for c in v.canned {
                div.actions {
                    span { strong { "/" (c.shortcut) } " — " (c.body) }
                    form method="post" action={ "/settings/canned/" (c.id) "/delete" } {
                        (csrf_field(csrf))
                        button.secondary type="submit" aria-label={ "Delete /" (c.shortcut) } { "×" }
                    }
                }
            }
            form.stack method="post" action="/settings/canned" {
                (csrf_field(csrf))
                input type="text" name="shortcut" placeholder="shortcut, such as hours" aria-label="Shortcut" required;
                textarea name="body" placeholder="We are open 9:00–18:00, Monday to Saturday." aria-label="Text" required {}
                button type="submit" { "Add canned reply" }
            }
        }
    }
}

fn channels(v: &SettingsView<'_>, csrf: &str) -> Markup {
    html! {
        section.card #channels {
            h2 { "Channels" }
            @for c in v.channels {
                details {
                    summary { (c.name) " · " (c.kind) }
                    ul {
                        @if let Some(config) = c.config.as_object() {
                            @for (k, val) in config {
                                li.meta { (k) ": " (val.as_str().map(String::from).unwrap_or_else(|| val.to_string())) }
                            }
                        }
                    }
                    @if c.kind == crate::domain::ChannelKind::Whatsapp {
                        p.meta { "Webhook URL for Meta: https://<your public address>/webhooks/whatsapp" }
                        form.stack method="post" action={ "/settings/channels/" (c.id) } {
                            (csrf_field(csrf))
                            label { "New access token (leave empty to keep)" }
                            input type="password" name="access_token" autocomplete="off";
                            label { "New app secret (leave empty to keep)" }
                            input type="password" name="app_secret" autocomplete="off";
                            label { "New verify token (leave empty to keep)" }
                            input type="text" name="verify_token" autocomplete="off";
                            button.secondary type="submit" { "Update " (c.name) }
                        }
                    } @else {
                        p.meta { "Inbound: POST /api/v1/channels/" (c.id) "/inbound with the channel secret" }
                        form.stack method="post" action={ "/settings/channels/" (c.id) } {
                            (csrf_field(csrf))
                            label { "Callback URL" }
                            input type="text" name="callback_url" value=(c.config["callback_url"].as_str().unwrap_or_default());
                            button.secondary type="submit" { "Update " (c.name) }
                        }
                    }
                    form.stack method="post" action={ "/settings/channels/" (c.id) } {
                        (csrf_field(csrf))
                        label for={ "default-team-" (c.id) } { "Team for new conversations (until routing rules say otherwise)" }
                        select id={ "default-team-" (c.id) } name="default_team" {
                            option value="" selected[c.default_team_id.is_none()] { "None: the general pool" }
                            @for t in v.teams { option value=(t.id) selected[c.default_team_id == Some(t.id)] { (t.name) } }
                        }
                        button.secondary type="submit" { "Save team" }
                    }
                }
            }
            details {
                summary { "Connect a WhatsApp number" }
                form.stack method="post" action="/settings/channels" {
                    (csrf_field(csrf))
                    input type="hidden" name="kind" value="whatsapp";
                    label for="wa-name" { "Name" } input #wa-name type="text" name="name" value="WhatsApp" required;
                    label for="wa-phone" { "Phone number ID" } input #wa-phone type="text" name="phone_number_id" required;
                    label for="wa-waba" { "WhatsApp Business Account ID" } input #wa-waba type="text" name="waba_id" required;
                    label for="wa-token" { "Access token" } input #wa-token type="password" name="access_token" autocomplete="off" required;
                    label for="wa-secret" { "App secret" } input #wa-secret type="password" name="app_secret" autocomplete="off" required;
                    label for="wa-verify" { "Verify token (any phrase; type the same in Meta's dashboard)" }
                    input #wa-verify type="text" name="verify_token" required;
                    label for="wa-base" { "Graph API base (leave as is)" }
                    input #wa-base type="text" name="graph_api_base" value=(crate::service::channels::DEFAULT_GRAPH_API_BASE);
                    button type="submit" { "Connect" }
                }
            }
            details {
                summary { "Add an API channel (website chat, scripts, n8n…)" }
                form.stack method="post" action="/settings/channels" {
                    (csrf_field(csrf))
                    input type="hidden" name="kind" value="api";
                    label for="api-name" { "Name" } input #api-name type="text" name="name" required;
                    label for="api-url" { "Callback URL for staff replies" } input #api-url type="text" name="callback_url" placeholder="https://example.com/hook" required;
                    button type="submit" { "Add" }
                }
            }
        }
    }
}

/// Owners: the running version, and "Update available" with "Update now" when the daily check
/// found a newer one.
fn update(v: &SettingsView<'_>, csrf: &str) -> Markup {
    let current = crate::service::update::CURRENT_VERSION;
    html! {
        section.card #update {
            h2 { "Updates" }
            @if let Some(newer) = v.update_available {
                p { strong { "Update available: teaminbox " (newer) } " (this is " (current) ")." }
                p { "A backup is taken first and the current version is kept, so " code { "teaminbox update --rollback" } " can go back." }
                form method="post" action="/settings/update" {
                    (csrf_field(csrf))
                    button type="submit" { "Update now" }
                }
            } @else {
                p { "This is teaminbox " (current) "; no newer version was found." }
            }
        }
    }
}

fn workspace(v: &SettingsView<'_>, csrf: &str) -> Markup {
    let s = v.settings;
    html! {
        section.card #workspace {
            h2 { "Workspace" }
            form.stack method="post" action="/settings/workspace" {
                (csrf_field(csrf))
                label for="agent_visibility" { "What agents see" }
                select #agent_visibility name="agent_visibility" {
                    @for (value, label) in [
                        (Visibility::Own, "Only what is assigned to them"),
                        (Visibility::OwnAndPool, "Their own and their teams' unassigned pool"),
                        (Visibility::AllReadOnly, "Everything (they still reply only to their own)"),
                    ] {
                        option value=(value.as_str()) selected[s.agent_visibility == value] { (label) }
                    }
                }
                label { input type="checkbox" name="auto_pending_on_reply" value="1" checked[s.auto_pending_on_reply]; " Mark “waiting on customer” when we reply" }
                label for="timezone" { "Time zone" }
                input #timezone type="text" name="timezone" value=(s.timezone);
                button type="submit" { "Save workspace" }
            }
        }
    }
}

/// The settings page.
pub fn settings_page(frame: &Frame<'_>, v: &SettingsView<'_>) -> Markup {
    page(
        "Settings · teaminbox",
        frame,
        html! {
            main {
                p { a href="/" { "← Inbox" } }
                h1 { "Settings" }
                @if let Some(e) = v.error { p.alert role="alert" { (e) } }
                p.actions #more-settings { a.button.secondary href="/settings/hours" { "Business hours" } a.button.secondary href="/settings/sla" { "SLA policies" } }
                @if let Some(n) = v.secret { (secret_box(n)) }
                p { a href="/settings/routing" { "Routing: rules and who gets each team's conversations →" } }
                @if v.is_owner { (staff(v, frame.csrf)) }
                (teams(v, frame.csrf))
                (tags_and_canned(v, frame.csrf))
                @if v.is_owner { (channels(v, frame.csrf)) }
                @if v.is_owner { (workspace(v, frame.csrf)) }
                @if v.is_owner { (update(v, frame.csrf)) }
            }
        },
    )
}
