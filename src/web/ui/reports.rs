//! HTML pages of reports: `GET /now` (the live board) and `GET /reports`. Managers and owners;
//! an agent gets a 403 page.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{Data, Query};
use serde::Deserialize;

use super::{frame, html};
use crate::domain::TeamId;
use crate::domain::time::{format_ms, now_ms};
use crate::service::{Error, reports};
use crate::store::{channels, teams, users};
use crate::web::AppState;
use crate::web::error::refusal;
use crate::web::session::Viewer;
use crate::web::views::layout::message_page;
use crate::web::views::now::now_page;
use crate::web::views::reports::{Filters, reports_page};

/// `?team=` and friends as typed (a blank select sends an empty value).
#[derive(Deserialize, Default)]
pub(super) struct PageQuery {
    from: Option<String>,
    to: Option<String>,
    team: Option<String>,
    agent: Option<String>,
    channel: Option<String>,
}

fn id(s: &Option<String>) -> Option<i64> {
    s.as_deref().and_then(|s| s.trim().parse().ok())
}

fn refused(title: &str, e: &Error) -> HttpResponse {
    let (status, m) = refusal(e);
    html(status, message_page(title, &m))
}

fn forbidden(viewer: &Viewer, title: &str) -> Option<HttpResponse> {
    reports::check(&viewer.user.actor()).err().map(|_| {
        html(
            StatusCode::FORBIDDEN,
            message_page(title, "Reports are for managers and owners."),
        )
    })
}

/// `GET /now`.
pub(super) async fn show_now(
    viewer: Viewer,
    state: Data<AppState>,
    q: Query<PageQuery>,
) -> HttpResponse {
    if let Some(r) = forbidden(&viewer, "Now") {
        return r;
    }
    let team = id(&q.team);
    let now = now_ms();
    let loaded = state
        .store
        .read(move |c| {
            let board = reports::now_board(c, team.map(TeamId), now)?;
            let list: Vec<(i64, String)> = teams::list_teams(c)?
                .into_iter()
                .map(|t| (t.id.0, t.name))
                .collect();
            Ok::<_, Error>((board, list))
        })
        .await;
    let (board, list) = match loaded {
        Ok(v) => v,
        Err(e) => return refused("Now", &e),
    };
    let csrf = viewer.csrf();
    let f = frame(&viewer, &csrf, "now", None);
    html(StatusCode::OK, now_page(&f, &board, &list, team))
}

/// `GET /reports`.
pub(super) async fn show_reports(
    viewer: Viewer,
    state: Data<AppState>,
    q: Query<PageQuery>,
) -> HttpResponse {
    if let Some(r) = forbidden(&viewer, "Reports") {
        return r;
    }
    let q = q.into_inner();
    let now = now_ms();
    let query = reports::Query {
        from: q.from.clone(),
        to: q.to.clone(),
        team: id(&q.team),
        agent: id(&q.agent),
        channel: id(&q.channel),
    };
    let loaded = state
        .store
        .read_with_spare(move |c, spare| {
            let f = query.filter(c, now)?;
            let summary = reports::summary(c, spare, &f, now)?;
            let t: Vec<(i64, String)> = teams::list_teams(c)?
                .into_iter()
                .map(|t| (t.id.0, t.name))
                .collect();
            let a: Vec<(i64, String)> = users::list_users(c)?
                .into_iter()
                .map(|u| (u.id.0, u.name))
                .collect();
            let ch: Vec<(i64, String)> = channels::list_channels(c)?
                .into_iter()
                .map(|x| (x.id.0, x.name))
                .collect();
            Ok::<_, Error>((f, summary, t, a, ch))
        })
        .await;
    let (filter, summary, t, a, ch) = match loaded {
        Ok(v) => v,
        Err(e) => return refused("Reports", &e),
    };
    // The dates shown are the period's own (a bare `to` date names the whole day).
    let from = format_ms(filter.from)[..10].to_string();
    let to = format_ms(filter.to - 1)[..10].to_string();
    let mut query = format!("from={from}&to={to}");
    for (k, v) in [
        ("team", filter.team.map(|x| x.0)),
        ("agent", filter.agent.map(|x| x.0)),
        ("channel", filter.channel.map(|x| x.0)),
    ] {
        if let Some(v) = v {
            query.push_str(&format!("&{k}={v}"));
        }
    }
    let csrf = viewer.csrf();
    let fr = frame(&viewer, &csrf, "reports", None);
    let filters = Filters {
        from: &from,
        to: &to,
        teams: &t,
        team: filter.team.map(|x| x.0),
        agents: &a,
        agent: filter.agent.map(|x| x.0),
        channels: &ch,
        channel: filter.channel.map(|x| x.0),
        query: &query,
    };
    html(StatusCode::OK, reports_page(&fr, &summary, &filters))
}
