//! The JSON API of `shared/API.md`. Routes are declared once, in [`routes!`], which both registers
//! them and lists them for the OpenAPI test.

mod account;
mod channels;
mod collab;
mod contacts;
mod conversations;
mod events;
mod handoff;
mod media;
pub(crate) mod reports;
mod routing;
mod settings;
mod sla;
mod staff;

use actix_web::web;

pub(crate) use crate::service::fields::{nullable, present};

/// Page size from `?limit=` (default 50, clamped to 1..=200).
pub(crate) fn page_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(50).clamp(1, 200)
}

/// The `Allow` header of an API path: its methods in upper case, comma-separated, in the order
/// of [`ROUTES`] (for example `"POST, DELETE"` for `/api/v1/auth/token`).
pub fn allowed_methods(path: &str) -> String {
    ROUTES
        .iter()
        .filter(|(_, p)| *p == path)
        .map(|(m, _)| m.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(", ")
}

macro_rules! routes {
    ($( $method:ident $path:literal => $handler:path ),* $(,)?) => {
        /// Every API route as (method, path), for the OpenAPI document's test.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// Registers every API route, then for each path a catch-all that answers any other
        /// method with 405 and the `Allow` header (registered after the routes, so it only sees
        /// what they did not take).
        ///
        /// A path without parameters gets its catch-all right after its last route, before the
        /// routes that follow: `/api/v1/conversations/bulk` answers GET with 405 rather than
        /// reaching `GET /api/v1/conversations/{id}`.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            let catch_all = |cfg: &mut web::ServiceConfig, path: &'static str| {
                let allow = allowed_methods(path);
                cfg.service(web::resource(path).default_service(web::to(move || {
                    let allow = allow.clone();
                    async move { crate::web::error::method_not_allowed(&allow) }
                })));
            };
            let mut seen = 0;
            $(
                cfg.route($path, web::$method().to($handler));
                seen += 1;
                if !$path.contains('{') && !ROUTES[seen..].iter().any(|(_, p)| *p == $path) {
                    catch_all(cfg, $path);
                }
            )*
            let _ = seen;
            let mut paths: Vec<&'static str> =
                ROUTES.iter().map(|(_, p)| *p).filter(|p| p.contains('{')).collect();
            paths.sort_unstable();
            paths.dedup();
            for path in paths {
                catch_all(cfg, path);
            }
        }
    };
}

routes! {
    post "/api/v1/auth/token" => account::post_token,
    delete "/api/v1/auth/token" => account::delete_token,
    post "/api/v1/setup" => account::post_setup,
    get "/api/v1/me" => account::show_me,
    put "/api/v1/me/status" => account::put_status,
    post "/api/v1/me/handoff" => handoff::post_my_handoff,
    post "/api/v1/users/{id}/handoff" => handoff::post_user_handoff,
    get "/api/v1/me/mentions" => collab::list_my_mentions,
    get "/api/v1/users" => staff::list_users,
    post "/api/v1/users" => staff::post_user,
    get "/api/v1/users/{id}" => staff::show_user,
    patch "/api/v1/users/{id}" => staff::patch_user,
    get "/api/v1/teams" => staff::list_teams,
    post "/api/v1/teams" => staff::post_team,
    get "/api/v1/teams/{id}" => staff::show_team,
    patch "/api/v1/teams/{id}" => staff::patch_team,
    get "/api/v1/conversations" => conversations::list,
    post "/api/v1/conversations" => conversations::post_start,
    post "/api/v1/conversations/bulk" => collab::post_bulk,
    post "/api/v1/conversations/next" => conversations::post_next,
    get "/api/v1/conversations/{id}" => conversations::show,
    get "/api/v1/conversations/{id}/timeline" => conversations::show_timeline,
    post "/api/v1/conversations/{id}/messages" => conversations::post_message,
    post "/api/v1/conversations/{id}/notes" => conversations::post_note,
    post "/api/v1/conversations/{id}/claim" => conversations::post_claim,
    post "/api/v1/conversations/{id}/assign" => conversations::post_assign,
    post "/api/v1/conversations/{id}/status" => conversations::post_status,
    post "/api/v1/conversations/{id}/tags" => conversations::post_tags,
    get "/api/v1/messages/{id}/media" => media::show_media,
    get "/api/v1/contacts/{id}" => contacts::show_contact,
    patch "/api/v1/contacts/{id}" => contacts::patch_contact,
    get "/api/v1/channels" => channels::list_channels,
    post "/api/v1/channels" => channels::post_channel,
    patch "/api/v1/channels/{id}" => channels::patch_channel,
    post "/api/v1/channels/{id}/inbound" => channels::post_inbound,
    get "/api/v1/channels/{id}/templates" => channels::list_templates,
    get "/api/v1/sla-policies" => sla::list_policies,
    post "/api/v1/sla-policies" => sla::post_policy,
    patch "/api/v1/sla-policies/{id}" => sla::patch_policy,
    get "/api/v1/routing-rules" => routing::list_rules,
    post "/api/v1/routing-rules" => routing::post_rule,
    patch "/api/v1/routing-rules/{id}" => routing::patch_rule,
    delete "/api/v1/routing-rules/{id}" => routing::delete_rule,
    get "/api/v1/settings" => settings::show_settings,
    patch "/api/v1/settings" => settings::patch_settings,
    get "/api/v1/events" => events::show_events,
    post "/api/v1/conversations/{id}/presence" => events::post_presence,
    get "/api/v1/reports/summary" => reports::show_summary,
    get "/api/v1/reports/now" => reports::show_now,
    get "/api/v1/reports/cycles.csv" => reports::show_cycles_csv,
    get "/api/v1/reports/agents.csv" => reports::show_agents_csv,
    get "/api/v1/openapi.json" => super::openapi::show,
    get "/healthz" => settings::show_health,
}
