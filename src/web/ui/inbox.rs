//! `GET /`: the inbox with queue tabs and the Mentions view; `POST /bulk`: one action on the
//! conversations selected in a list (managers and owners).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{frame, html, refusal, refused_page, see_other_notice};
use crate::domain::time::now_ms;
use crate::domain::{ConversationId, Status, TeamId, UserId, UserStatus};
use crate::service::bulk::{self, BulkRequest};
use crate::service::mentions;
use crate::service::queue::{self, ListRequest, Unknown};
use crate::store::queue::{Order, View};
use crate::web::AppState;
use crate::web::session::{Viewer, encode};
use crate::web::views::age;
use crate::web::views::inbox::{BulkTargets, InboxView, Rows, Tab, inbox_page};
use crate::web::views::layout::message_page;

#[derive(Deserialize)]
pub(super) struct InboxQuery {
    view: Option<String>,
    team: Option<String>,
    q: Option<String>,
    before: Option<String>,
    /// `recent` or `waiting` (the Unassigned view's order).
    sort: Option<String>,
    /// A conversation to open in the desktop pane.
    open: Option<String>,
}

/// `GET /` (default view: mine).
pub(super) async fn show_inbox(
    req: actix_web::HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    q: Query<InboxQuery>,
) -> HttpResponse {
    let q = q.into_inner();
    // Managers and owners land on the Now board from a bare "/"; the inbox tabs carry `?view=`.
    if viewer.user.actor().is_manager() && req.query_string().is_empty() {
        return HttpResponse::SeeOther()
            .insert_header(("Location", "/now"))
            .finish();
    }
    let team = q.team.as_deref().and_then(|t| t.parse::<i64>().ok());
    let open = q.open.as_deref().and_then(|t| t.parse::<i64>().ok());
    let search = q.q.clone().unwrap_or_default();
    let actor = viewer.user.actor();
    let mentions_view = q.view.as_deref() == Some("mentions");
    let sort = match q.sort.as_deref() {
        Some("waiting") => "waiting",
        _ => "recent",
    };
    let here = match q.view.as_deref() {
        Some(v) => {
            let mut url = format!("/?view={}", encode(v));
            if let Some(t) = team {
                url.push_str(&format!("&team={t}"));
            }
            if sort != "recent" {
                url.push_str(&format!("&sort={sort}"));
            }
            url
        }
        None => "/".to_string(),
    };
    let req = ListRequest {
        view: q.view,
        default_view: View::Mine,
        status: None,
        team: team.map(TeamId),
        tag: None,
        q: q.q,
        limit: 50,
        before: q.before,
        sort: Some(sort.to_string()),
        unknown: Unknown::Ignore,
    };
    let a = actor.clone();
    let loaded = state
        .store
        .read(move |c| {
            let inbox = queue::inbox(c, &a, req)?;
            let mentioned = if mentions_view {
                Some(mentions::list_mine(c, &a, true, None, 50)?.0)
            } else {
                None
            };
            Ok::<_, crate::service::Error>((inbox, mentioned))
        })
        .await;
    let (inbox, mentioned) = match loaded {
        Ok(r) => r,
        Err(e) => {
            return refused_page("Inbox", &e);
        }
    };
    let (counts, listing) = (inbox.counts, inbox.listing);
    let view_name = if mentions_view {
        "mentions"
    } else {
        queue::view_name(listing.view)
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
        Tab {
            label: "Mentions".into(),
            href: "/?view=mentions".into(),
            count: Some(inbox.mentions_unseen),
            note: None,
            on: on("mentions", None),
        },
    ];
    tabs.push(Tab {
        label: "SLA at risk".into(),
        href: "/?view=at_risk".into(),
        count: None,
        note: None,
        on: on("at_risk", None),
    });
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
    let next = listing.next.filter(|_| !mentions_view).map(|cursor| {
        let mut url = format!("/?view={view_name}&before={cursor}");
        if let Some(t) = team {
            url.push_str(&format!("&team={t}"));
        }
        if !search.is_empty() {
            url.push_str(&format!("&q={}", encode(&search)));
        }
        if listing.order != Order::Recent {
            url.push_str(&format!("&sort={}", queue::order_name(listing.order)));
        }
        url
    });
    let csrf = viewer.csrf();
    let f = frame(&viewer, &csrf, "inbox", None);
    let tz = jiff::tz::TimeZone::get(&viewer.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let status: HashMap<i64, UserStatus> = inbox.staff.iter().map(|u| (u.id.0, u.status)).collect();
    let people: Vec<(i64, String, UserStatus)> = inbox
        .staff
        .iter()
        .map(|u| (u.id.0, u.name.clone(), u.status))
        .collect();
    let teams: Vec<(i64, String)> = inbox
        .team_tabs
        .iter()
        .map(|t| (t.id.0, t.name.clone()))
        .collect();
    let rows = match &mentioned {
        Some(m) => Rows::Mentions(m),
        None => Rows::Conversations(&listing.items),
    };
    html(
        StatusCode::OK,
        inbox_page(
            &f,
            &InboxView {
                tabs,
                rows,
                next,
                q: &search,
                view: view_name,
                team,
                now,
                status: &status,
                bulk: viewer.user.actor().is_manager().then_some(BulkTargets {
                    people: &people,
                    teams: &teams,
                }),
                here: &here,
                open,
                sort: queue::order_name(listing.order),
                tz: &tz,
            },
        ),
    )
}

/// `POST /next`: "Take next" — claims the conversation whose customer has waited longest in
/// the viewer's pools (the same service as `POST /api/v1/conversations/next`) and opens it; when
/// nobody waits, back to the Unassigned view saying so.
pub(super) async fn post_next(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    form: Form<Vec<(String, String)>>,
) -> HttpResponse {
    let csrf = form
        .iter()
        .find(|(n, _)| n == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if let Err(e) = viewer.check_csrf(csrf) {
        return refused_page("Not done", &e);
    }
    let actor = viewer.user.actor();
    let taken = state
        .store
        .write(move |c| crate::service::take_next::take_next(c, &actor))
        .await;
    match taken {
        Ok(conv) => {
            let waited = conv
                .waiting_since
                .map(|t| format!(" (waiting {})", age(now_ms() - t.0)))
                .unwrap_or_default();
            let who = crate::web::views::inbox::phone(&conv.contact.name);
            see_other_notice(
                &req,
                &format!("/c/{}", conv.id),
                &format!("You took {who}{waited}"),
            )
        }
        Err(crate::service::Error::Missing { message, .. }) => {
            let mut m = message;
            if let Some(c) = m.get_mut(0..1) {
                c.make_ascii_uppercase();
            }
            see_other_notice(&req, "/?view=unassigned", &m)
        }
        Err(e) => {
            let (status, m) = refusal(&e);
            html(status, message_page("Not done", &m))
        }
    }
}

/// `POST /bulk`: the conversations ticked in a list (`ids`, repeated) get one action: `do=resolve`
/// resolves them; `do=apply` assigns them (`assign` = `user:<id>`, `team:<id>` or `pool`) and
/// adds the tag in `tag`. All or nothing, through the same service as the API; then back to
/// the list (`back`) saying what was done.
pub(super) async fn post_bulk(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    form: Form<Vec<(String, String)>>,
) -> HttpResponse {
    let fields = form.into_inner();
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let refused = |status: StatusCode, m: &str| html(status, message_page("Not done", m));
    if viewer.check_csrf(&get("csrf")).is_err() {
        return refused(
            StatusCode::FORBIDDEN,
            "The form expired; go back, reload the page and try again.",
        );
    }
    let back = get("back");
    let back = if back.starts_with('/') && !back.starts_with("//") {
        back
    } else {
        "/".to_string()
    };
    let ids: Vec<ConversationId> = fields
        .iter()
        .filter(|(n, _)| n == "ids")
        .filter_map(|(_, v)| v.parse().ok().map(ConversationId))
        .collect();
    if ids.is_empty() {
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Tick at least one conversation first.",
        );
    }
    let mut request = BulkRequest {
        ids,
        ..BulkRequest::default()
    };
    let mut said = Vec::new();
    if get("do") == "resolve" {
        request.status = Some(Status::Resolved);
        said.push("resolved".to_string());
    } else {
        let assign = get("assign");
        let parsed = |s: &str| s.parse::<i64>().ok();
        request.assign = match assign.split_once(':') {
            Some(("user", n)) => parsed(n).map(|n| (Some(UserId(n)), None)),
            Some(("team", n)) => parsed(n).map(|n| (None, Some(Some(TeamId(n))))),
            _ if assign == "pool" => Some((None, Some(None))),
            _ => None,
        };
        if request.assign.is_some() {
            said.push("assigned".to_string());
        }
        let tag = get("tag");
        if !tag.is_empty() {
            said.push(format!("tagged {tag}"));
            request.tags = Some((vec![tag], vec![]));
        }
    }
    let actor = viewer.user.actor();
    match state
        .store
        .write(move |c| bulk::apply(c, &actor, request))
        .await
    {
        Ok(done) => {
            let n = done.len();
            let what = if said.is_empty() {
                "unchanged".to_string()
            } else {
                said.join(" and ")
            };
            let notice = format!("{n} conversation{} {what}", if n == 1 { "" } else { "s" });
            see_other_notice(&req, &back, &notice)
        }
        Err(e) => {
            let (status, m) = refusal(&e);
            refused(status, &m)
        }
    }
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
