//! The browser UI: server-rendered pages (maud) that work without JavaScript, enhanced by htmx.
//! Every action goes through the same service operations as the API.

mod auth;
mod automation;
mod conversation;
mod inbox;
mod invite;
mod reports;
mod routing;
mod settings;
mod settings_hours;
mod settings_sla;
mod shell;
mod shift;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::Markup;

pub(crate) use inbox::mark_mentions_seen;

use crate::web::error::refusal;
use crate::web::session::Viewer;
use crate::web::views::layout::Frame;

/// Registers the UI routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(inbox::show_inbox))
        .route("/bulk", web::post().to(inbox::post_bulk))
        .route("/next", web::post().to(inbox::post_next))
        .route("/login", web::get().to(auth::show_login))
        .route("/login", web::post().to(auth::post_login))
        .route("/logout", web::post().to(auth::post_logout))
        .route("/setup", web::get().to(auth::show_setup))
        .route("/setup", web::post().to(auth::post_setup))
        .route("/c/{id}", web::get().to(conversation::show_conversation))
        .route(
            "/c/{id}/{action}",
            web::post().to(conversation::post_action),
        )
        .route("/me/status", web::post().to(shell::post_status))
        .route("/shift", web::get().to(shift::show_shift))
        .route("/shift", web::post().to(shift::post_shift))
        .route("/settings/hours", web::get().to(settings_hours::show_hours))
        .route(
            "/settings/hours/{action}",
            web::post().to(settings_hours::post_hours),
        )
        .route("/settings/sla", web::get().to(settings_sla::show_sla))
        .route("/settings/sla", web::post().to(settings_sla::post_sla))
        .route("/settings/sla/{id}", web::post().to(settings_sla::post_sla))
        .route("/now", web::get().to(reports::show_now))
        .route("/reports", web::get().to(reports::show_reports))
        .route("/settings", web::get().to(settings::show_settings))
        .route("/invite", web::get().to(invite::show_invite))
        .route("/invite", web::post().to(invite::post_invite))
        .route(
            "/settings/invitations",
            web::post().to(invite::post_new_invitation),
        )
        .route(
            "/settings/invitations/{id}",
            web::post().to(invite::post_reissue),
        )
        .route(
            "/settings/invitations/{id}/delete",
            web::post().to(invite::post_revoke),
        )
        .route("/settings/routing", web::get().to(routing::show_routing))
        .route("/settings/routing", web::post().to(routing::post_routing))
        .route(
            "/settings/routing/{id}/delete",
            web::post().to(routing::post_routing),
        )
        .route(
            "/settings/routing/teams/{id}",
            web::post().to(routing::post_routing),
        )
        .route(
            "/settings/routing/sticky",
            web::post().to(routing::post_routing),
        )
        .route(
            "/settings/automation/{id}",
            web::get().to(automation::show_automation),
        )
        .route(
            "/settings/automation/{id}",
            web::post().to(automation::post_automation),
        )
        .route(
            "/settings/automation/{id}/preview",
            web::get().to(automation::show_preview),
        )
        .route("/settings/{kind}", web::post().to(settings::post_settings))
        .route(
            "/settings/{kind}/{id}",
            web::post().to(settings::post_settings),
        )
        .route(
            "/settings/{kind}/{id}/delete",
            web::post().to(settings::post_settings),
        )
        .route(
            "/assets/{name}",
            web::get().to(crate::web::assets::show_asset),
        );
}

/// The frame of a page for `viewer`.
fn frame<'a>(
    viewer: &'a Viewer,
    csrf: &'a str,
    page: &'a str,
    conversation: Option<i64>,
) -> Frame<'a> {
    Frame {
        name: &viewer.user.name,
        role: viewer.user.role.as_str(),
        csrf,
        page,
        conversation,
        user_id: viewer.user.id.0,
        status: viewer.user.status,
        notice: viewer.notice.as_deref(),
        last_event: viewer.last_event,
        timezone: &viewer.timezone,
    }
}

/// An HTML response.
fn html(status: StatusCode, m: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(m.into_string())
}

/// The page that says why `e` refused a page titled `title`, with its status (one mapping:
/// [`crate::web::error::refusal`]).
fn refused_page(title: &str, e: &crate::service::Error) -> HttpResponse {
    let (status, message) = crate::web::error::refusal(e);
    html(
        status,
        crate::web::views::layout::message_page(title, &message),
    )
}

/// The status and message a settings page is rendered with: 200 and none, or the refusal a
/// form's POST met (`error`).
fn form_outcome(error: &Option<(StatusCode, String)>) -> (StatusCode, Option<&str>) {
    match error {
        Some((s, m)) => (*s, Some(m.as_str())),
        None => (StatusCode::OK, None),
    }
}

/// After a successful form: htmx follows `HX-Location` without a full reload; a plain browser
/// gets a 303.
fn see_other(req: &HttpRequest, to: &str) -> HttpResponse {
    // Never a 500 for a target that cannot be a header value: go home instead.
    let to = if actix_web::http::header::HeaderValue::from_str(to).is_ok() {
        to
    } else {
        "/"
    };
    if req.headers().contains_key("HX-Request") {
        HttpResponse::Ok()
            .insert_header(("HX-Location", to.to_string()))
            .finish()
    } else {
        HttpResponse::SeeOther()
            .insert_header(("Location", to.to_string()))
            .finish()
    }
}

/// Like [`see_other`], and the next page shown says `notice` in words ("Handed to Bruno",
/// "Ana added") in the page's notice area (`#notice`, role=status). Every successful UI action
/// answers with this. The words travel in a short-lived cookie signed for this session
/// ([`crate::web::notice`]), never in the URL, so a link cannot make a page say anything.
fn see_other_notice(req: &HttpRequest, to: &str, notice: &str) -> HttpResponse {
    let mut res = see_other(req, to);
    if let Some(session) = crate::web::session::cookie_session(req) {
        // A cookie that cannot be a header value is dropped: the action itself succeeded.
        let _ = res.add_cookie(&crate::web::notice::cookie(req, &session, notice));
    }
    res
}
