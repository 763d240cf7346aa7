//! Reports for managers and owners: `GET /api/v1/reports/summary`, `/now`, `/cycles.csv` and
//! `/agents.csv` (`shared/API.md`, "Reports: exports and the live board"). Agents get 403.

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde::Deserialize;

use crate::domain::TeamId;
use crate::domain::policy::Capability;
use crate::domain::time::now_ms;
use crate::service::reports::{self, Query};
use crate::service::reports_csv;
use crate::web::AppState;
use crate::web::auth::Auth;
use crate::web::body::QueryOf;
use crate::web::error::ApiResult;

/// `?from=&to=&team=&agent=&channel=`.
#[derive(Deserialize)]
pub(crate) struct ReportParams {
    from: Option<String>,
    to: Option<String>,
    team: Option<i64>,
    agent: Option<i64>,
    channel: Option<i64>,
}

impl From<ReportParams> for Query {
    fn from(p: ReportParams) -> Query {
        Query {
            from: p.from,
            to: p.to,
            team: p.team,
            agent: p.agent,
            channel: p.channel,
        }
    }
}

/// `GET /api/v1/reports/summary`.
pub(super) async fn show_summary(
    auth: Auth,
    state: Data<AppState>,
    params: QueryOf<ReportParams>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::SeeReports)?;
    let q: Query = params.get()?.into();
    let now = now_ms();
    let summary = state
        .store
        .read_with_spare(move |c, spare| reports::summary(c, spare, &q.filter(c, now)?, now))
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}

#[derive(Deserialize)]
pub(super) struct NowParams {
    team: Option<i64>,
}

/// `GET /api/v1/reports/now`.
pub(super) async fn show_now(
    auth: Auth,
    state: Data<AppState>,
    params: QueryOf<NowParams>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::SeeReports)?;
    let team = params.get()?.team;
    let q = Query {
        team,
        ..Query::default()
    };
    let now = now_ms();
    let board = state
        .store
        .read(move |c| {
            q.filter(c, now)?;
            reports::now_board(c, team.map(TeamId), now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(board))
}

fn csv(name: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8; header=present")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}

/// `GET /api/v1/reports/cycles.csv`.
pub(super) async fn show_cycles_csv(
    auth: Auth,
    state: Data<AppState>,
    params: QueryOf<ReportParams>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::SeeReports)?;
    let q: Query = params.get()?.into();
    let now = now_ms();
    let body = state
        .store
        .read(move |c| reports_csv::cycles_csv(c, &q.filter(c, now)?))
        .await?;
    Ok(csv("cycles.csv", body))
}

/// `GET /api/v1/reports/agents.csv`.
pub(super) async fn show_agents_csv(
    auth: Auth,
    state: Data<AppState>,
    params: QueryOf<ReportParams>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::SeeReports)?;
    let q: Query = params.get()?.into();
    let now = now_ms();
    let body = state
        .store
        .read(move |c| reports_csv::agents_csv(c, &q.filter(c, now)?, now))
        .await?;
    Ok(csv("agents.csv", body))
}
