//! `GET /`: the inbox with queue tabs.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{Data, Query};
use serde::Deserialize;

use super::{frame, html, refusal};
use crate::domain::policy;
use crate::domain::time::now_ms;
use crate::domain::{TeamId, Visibility};
use crate::service::Error;
use crate::store::queue::queue_counts;
use crate::store::queue::{ConvQuery, StatusFilter, View, list_conversations};
use crate::store::{settings, teams};
use crate::web::session::{Viewer, encode};
use crate::web::views::age;
use crate::web::views::inbox::{InboxView, Tab, inbox_page};
use crate::web::views::layout::message_page;

#[derive(Deserialize)]
pub(super) struct InboxQuery {
    view: Option<String>,
    team: Option<String>,
    q: Option<String>,
    before: Option<String>,
}

/// `GET /`.
pub(super) async fn show_inbox(
    viewer: Viewer,
    state: Data<AppState>,
    q: Query<InboxQuery>,
) -> HttpResponse {
    let q = q.into_inner();
    let (view, view_name) = match q.view.as_deref() {
        Some("unassigned") => (View::Unassigned, "unassigned"),
        Some("pending") => (View::Pending, "pending"),
        Some("all") => (View::All, "all"),
        _ => (View::Mine, "mine"),
    };
    let team = q.team.as_deref().and_then(|t| t.parse::<i64>().ok());
    let before = q.before.as_deref().and_then(|b| {
        let (a, i) = b.split_once('_')?;
        Some((a.parse().ok()?, i.parse().ok()?))
    });
    let search = q.q.clone().unwrap_or_default();
    let actor = viewer.user.actor();
    let result = state
        .store
        .read(move |c| {
            let s = settings::load_settings(c)?;
            let scope = policy::scope(&actor, s.agent_visibility);
            let counts = queue_counts(c, &scope, actor.id)?;
            let page = list_conversations(
                c,
                &ConvQuery {
                    view,
                    viewer: actor.id,
                    scope,
                    team: team.map(TeamId),
                    tag: None,
                    status: StatusFilter::Unresolved,
                    q: q.q.clone(),
                    limit: 50,
                    before,
                },
            )?;
            let all_teams = teams::list_teams(c)?;
            Ok::<_, Error>((s, counts, page, all_teams))
        })
        .await;
    let (s, counts, (items, next), all_teams) = match result {
        Ok(r) => r,
        Err(e) => {
            let (status, m) = refusal(&e);
            return html(status, message_page("Inbox", &m));
        }
    };
    let now = now_ms();
    let on = |name: &str, t: Option<i64>| view_name == name && team == t;
    let mut tabs = vec![
        Tab {
            label: "Mine".into(),
            href: "/?view=mine".into(),
            count: Some(counts.mine),
            note: None,
            on: on("mine", None),
        },
        Tab {
            label: "Unassigned".into(),
            href: "/?view=unassigned".into(),
            count: Some(counts.unassigned),
            note: counts
                .oldest_unassigned
                .map(|t| format!("oldest {}", age(now - t))),
            on: on("unassigned", None),
        },
        Tab {
            label: "Waiting on customer".into(),
            href: "/?view=pending".into(),
            count: Some(counts.pending),
            note: None,
            on: on("pending", None),
        },
    ];
    let manager = viewer.user.actor().is_manager();
    if manager || s.agent_visibility == Visibility::AllReadOnly {
        tabs.push(Tab {
            label: "All".into(),
            href: "/?view=all".into(),
            count: None,
            note: None,
            on: on("all", None),
        });
    }
    let my_teams: Vec<i64> = viewer.user.teams.iter().map(|t| t.id).collect();
    for t in all_teams
        .iter()
        .filter(|t| manager || my_teams.contains(&t.id.0))
    {
        tabs.push(Tab {
            label: t.name.clone(),
            href: format!("/?view=all&team={}", t.id),
            count: None,
            note: None,
            on: on("all", Some(t.id.0)),
        });
    }
    let next = next.map(|(a, i)| {
        let mut url = format!("/?view={view_name}&before={a}_{i}");
        if let Some(t) = team {
            url.push_str(&format!("&team={t}"));
        }
        if !search.is_empty() {
            url.push_str(&format!("&q={}", encode(&search)));
        }
        url
    });
    let csrf = viewer.csrf();
    let f = frame(&viewer, &csrf, "inbox", None);
    html(
        StatusCode::OK,
        inbox_page(
            &f,
            &InboxView {
                tabs,
                items: &items,
                next,
                q: &search,
                view: view_name,
                team,
                now,
            },
        ),
    )
}

use crate::web::AppState;
