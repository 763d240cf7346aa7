//! Invitation and reset links in the browser (#14): Settings → Staff invites a person or resets
//! a password and shows the link once with its QR code; pending links are re-issued or revoked
//! there; `/invite?token=…` lets the person set their password and logs them in.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{frame, html, see_other, see_other_notice};
use crate::domain::invitation::Kind;
use crate::domain::policy::Capability;
use crate::domain::time::now_ms;
use crate::domain::{Role, TeamId, UserId};
use crate::service::invitations::Issued;
use crate::service::{self, Error, require};
use crate::store::tokens::TokenKind;
use crate::web::AppState;
use crate::web::auth::{accept_invitation, check_invitation};
use crate::web::error::refusal;
use crate::web::session::{Viewer, session_cookie};
use crate::web::views::invite::{NewLink, accept_page, dead_link_page, link_page};
use crate::web::views::layout::message_page;

/// The page that shows a link just issued for `name`.
fn show_link(viewer: &Viewer, state: &AppState, name: &str, issued: &Issued) -> HttpResponse {
    let url = issued.url(state.base());
    let svg = crate::lan::qr_svg(&url);
    let csrf = viewer.csrf();
    let f = frame(viewer, &csrf, "settings", None);
    html(
        StatusCode::OK,
        link_page(
            &f,
            &NewLink {
                name,
                kind: issued.kind,
                url: &url,
                expires_in_ms: issued.expires_at - now_ms(),
                qr_svg: svg.as_deref(),
            },
        ),
    )
}

/// A refused settings action, as a page that says why.
fn refused(e: &Error) -> HttpResponse {
    let (status, m) = refusal(e);
    html(status, message_page("Staff", &m))
}

/// The fields of the invite form; `teams` repeats.
struct InviteFields(Vec<(String, String)>);

impl InviteFields {
    fn one(&self, key: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// `POST /settings/invitations` (owner): creates the person without a password and shows their
/// invitation link.
pub(super) async fn post_new_invitation(
    viewer: Viewer,
    state: Data<AppState>,
    form: Form<Vec<(String, String)>>,
) -> HttpResponse {
    let f = InviteFields(form.into_inner());
    if let Err(e) = viewer
        .check_csrf(&f.one("csrf"))
        .and_then(|()| require(viewer.user.role, Capability::ManageUsers))
    {
        return refused(&e);
    }
    let role = Role::parse(&f.one("role")).unwrap_or(Role::Agent);
    let teams: Vec<TeamId> =
        f.0.iter()
            .filter(|(k, _)| k == "teams")
            .filter_map(|(_, v)| v.parse().ok().map(TeamId))
            .collect();
    let (email, name, by) = (f.one("email"), f.one("name"), viewer.user.id);
    let made = state
        .store
        .write(move |c| service::invitations::invite_new(c, email, name, role, &teams, Some(by)))
        .await;
    match made {
        Ok((user, issued)) => show_link(&viewer, &state, &user.name, &issued),
        Err(e) => refused(&e),
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

/// `POST /settings/invitations/{id}` (owner): a new link for the person — re-issued
/// invitation, or a password reset — revoking the one they had; shows it.
pub(super) async fn post_reissue(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    form: Form<CsrfForm>,
) -> HttpResponse {
    if let Err(e) = viewer
        .check_csrf(&form.csrf)
        .and_then(|()| require(viewer.user.role, Capability::ManageUsers))
    {
        return refused(&e);
    }
    let Some(id) = req.match_info().get("id").and_then(|s| s.parse().ok()) else {
        return refused(&Error::NotFound("user"));
    };
    let by = viewer.user.id;
    let done = state
        .store
        .write(move |c| {
            let issued = service::invitations::reissue(c, UserId(id), Some(by))?;
            let user = service::users::load(c, UserId(id))?;
            Ok::<_, Error>((user, issued))
        })
        .await;
    match done {
        Ok((user, issued)) => show_link(&viewer, &state, &user.name, &issued),
        Err(e) => refused(&e),
    }
}

/// `POST /settings/invitations/{id}/delete` (owner): revokes the person's live link.
pub(super) async fn post_revoke(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    form: Form<CsrfForm>,
) -> HttpResponse {
    if let Err(e) = viewer
        .check_csrf(&form.csrf)
        .and_then(|()| require(viewer.user.role, Capability::ManageUsers))
    {
        return refused(&e);
    }
    let Some(id) = req.match_info().get("id").and_then(|s| s.parse().ok()) else {
        return refused(&Error::NotFound("user"));
    };
    let done = state
        .store
        .write(move |c| {
            service::invitations::revoke(c, UserId(id))?;
            service::users::load(c, UserId(id))
        })
        .await;
    match done {
        Ok(user) => see_other_notice(
            &req,
            "/settings#staff",
            &format!("The link for {} was revoked", user.name),
        ),
        Err(e) => refused(&e),
    }
}

#[derive(Deserialize)]
pub(super) struct TokenQuery {
    token: Option<String>,
}

/// The page for a link that cannot be used now: the 410 (or 429) with its words.
fn dead(e: &Error) -> HttpResponse {
    let (status, m) = refusal(e);
    let mut resp = html(status, dead_link_page(&m));
    if let Error::RateLimited {
        retry_after_secs, ..
    } = e
        && let Ok(v) = actix_web::http::header::HeaderValue::from_str(&retry_after_secs.to_string())
    {
        resp.headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, v);
    }
    resp
}

/// `GET /invite?token=…`: the form to set a password, or why the link cannot be used.
pub(super) async fn show_invite(
    req: HttpRequest,
    state: Data<AppState>,
    q: Query<TokenQuery>,
) -> HttpResponse {
    let token = q.token.clone().unwrap_or_default();
    match check_invitation(&state, &req, token.clone()).await {
        Ok((link, user)) => html(
            StatusCode::OK,
            accept_page(&token, link.kind, &user.name, None),
        ),
        Err(e) => dead(&e),
    }
}

#[derive(Deserialize)]
pub(super) struct AcceptForm {
    token: String,
    name: Option<String>,
    password: String,
}

/// `POST /invite`: sets the password (and name), ends every other sign-in of that person, and
/// logs them in on this browser, then to the inbox.
pub(super) async fn post_invite(
    req: HttpRequest,
    state: Data<AppState>,
    form: Form<AcceptForm>,
) -> HttpResponse {
    let f = form.into_inner();
    if !super::auth::same_origin(&req) {
        return html(
            StatusCode::FORBIDDEN,
            message_page(
                "Set password",
                "Set your password from this site's own page.",
            ),
        );
    }
    let expires = now_ms() + service::auth::SESSION_MS;
    let name = f.name.clone();
    match accept_invitation(
        &state,
        &req,
        f.token.clone(),
        f.password,
        name,
        TokenKind::Session,
        Some(expires),
    )
    .await
    {
        Ok(accepted) => {
            let mut resp = see_other(&req, "/");
            let _ = resp.add_cookie(&session_cookie(&req, accepted.token));
            resp
        }
        Err(e @ (Error::Gone { .. } | Error::RateLimited { .. })) => dead(&e),
        Err(e) => {
            // A weak password or a bad name: the form again, as filled (never the password).
            let (status, m) = refusal(&e);
            let t = f.token.clone();
            let kind = state
                .store
                .read(move |c| service::invitations::check(c, &t).map(|(l, _)| l.kind))
                .await
                .unwrap_or(Kind::Invite);
            html(
                status,
                accept_page(
                    &f.token,
                    kind,
                    f.name.as_deref().unwrap_or_default(),
                    Some(&m),
                ),
            )
        }
    }
}
