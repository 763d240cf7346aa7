//! `GET /`: the inbox with queue tabs.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{Data, Query};
use serde::Deserialize;

use super::{frame, html, refusal};
use crate::domain::time::now_ms;
use crate::domain::{ConversationId, TeamId, UserId};
use crate::service::mentions;
use crate::service::queue::{self, ListRequest, Unknown};
use crate::store::queue::View;
use crate::web::AppState;
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

/// `GET /` (default view: mine).
pub(super) async fn show_inbox(
    viewer: Viewer,
    state: Data<AppState>,
    q: Query<InboxQuery>,
) -> HttpResponse {
    let q = q.into_inner();
    let team = q.team.as_deref().and_then(|t| t.parse::<i64>().ok());
    let search = q.q.clone().unwrap_or_default();
    let actor = viewer.user.actor();
    let req = ListRequest {
        view: q.view,
        default_view: View::Mine,
        status: None,
        team: team.map(TeamId),
        tag: None,
        q: q.q,
        limit: 50,
        before: q.before,
        unknown: Unknown::Ignore,
    };
    let inbox = match state
        .store
        .read(move |c| queue::inbox(c, &actor, req))
        .await
    {
        Ok(r) => r,
        Err(e) => {
            let (status, m) = refusal(&e);
            return html(status, message_page("Inbox", &m));
        }
    };
    let (counts, listing) = (inbox.counts, inbox.listing);
    let view_name = queue::view_name(listing.view);
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
    if inbox.all_tab {
        tabs.push(Tab {
            label: "All".into(),
            href: "/?view=all".into(),
            count: None,
            note: None,
            on: on("all", None),
        });
    }
    for t in &inbox.team_tabs {
        tabs.push(Tab {
            label: t.name.clone(),
            href: format!("/?view=all&team={}", t.id),
            count: None,
            note: None,
            on: on("all", Some(t.id.0)),
        });
    }
    let next = listing.next.map(|cursor| {
        let mut url = format!("/?view={view_name}&before={cursor}");
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
                items: &listing.items,
                next,
                q: &search,
                view: view_name,
                team,
                now,
            },
        ),
    )
}

/// Marks `user`'s mentions in conversation `conv` seen: they opened it (the page or the API's
/// detail). Reads first, so an ordinary page load writes nothing; a failure is logged, never
/// shown (opening a conversation must not fail over a mention).
pub(crate) async fn mark_mentions_seen(state: &AppState, conv: ConversationId, user: UserId) {
    let unseen = state
        .store
        .read(move |c| mentions::has_unseen(c, conv, user))
        .await;
    if let Ok(true) = unseen
        && let Err(e) = state
            .store
            .write(move |c| mentions::mark_seen(c, conv, user))
            .await
    {
        tracing::warn!(error = %e, conversation = conv.0, "marking mentions seen failed");
    }
}
