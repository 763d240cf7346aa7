//! The frame's own actions: setting one's availability from the top bar (`POST /me/status`).

use actix_web::http::StatusCode;
use actix_web::http::header::REFERER;
use actix_web::web::{Data, Form};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{html, refusal, see_other_notice};
use crate::domain::UserStatus;
use crate::service;
use crate::web::AppState;
use crate::web::session::Viewer;
use crate::web::views::layout::{availability_label, message_page};

#[derive(Deserialize)]
pub(super) struct StatusForm {
    csrf: String,
    status: String,
}

/// Where to go back after an action from the frame: the path and query of the page it was sent
/// from (the `Referer`, this site's own only), else the inbox.
fn back(req: &HttpRequest) -> String {
    let host = req.connection_info().host().to_string();
    req.headers()
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://"))
        .and_then(|(_, rest)| rest.strip_prefix(host.as_str()))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .map(|p| p.split('#').next().unwrap_or("/").to_string())
        .unwrap_or_else(|| "/".into())
}

/// `POST /me/status` (`status=available|busy|offline`): the same operation as
/// `PUT /api/v1/me/status`, then back to the page it came from saying "You are busy".
pub(super) async fn post_status(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    form: Form<StatusForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let outcome = match (
        viewer.check_csrf(&form.csrf),
        UserStatus::parse(&form.status),
    ) {
        (Err(e), _) => Err(e),
        (Ok(()), None) => Err(service::bad_request(
            "invalid_field",
            "status is available, busy or offline",
        )),
        (Ok(()), Some(status)) => {
            let id = viewer.user.id;
            state
                .store
                .write(move |c| service::users::set_status(c, id, status))
                .await
                .map(|u| u.status)
        }
    };
    match outcome {
        Ok(s) => see_other_notice(
            &req,
            &back(&req),
            &format!("You are {}", availability_label(s).to_lowercase()),
        ),
        Err(e) => {
            let (status, m): (StatusCode, String) = refusal(&e);
            html(status, message_page("Availability", &m))
        }
    }
}
