//! `/settings`: staff (owner), teams, tags, canned replies (owner, manager) and workspace options
//! (owner), through the same service operations as the API.

use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Form};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

use super::{form_outcome, frame, html, refusal, refused_page, see_other_notice};
use crate::domain::policy::Capability;
use crate::domain::{Role, TeamId, UserId};
use crate::service::teams::TeamChange;
use crate::service::users::UserPatch;
use crate::service::{self, Error, require, workspace};
use crate::store::users::NewUser;
use crate::store::{canned, settings, teams, users};
use crate::web::AppState;
use crate::web::auth::hash_password;
use crate::web::session::Viewer;
use crate::web::views::layout::message_page;
use crate::web::views::settings::{NewSecret, SettingsView, settings_page};

async fn render(
    viewer: &Viewer,
    state: &AppState,
    error: Option<(StatusCode, String)>,
) -> HttpResponse {
    render_with(viewer, state, error, None).await
}

async fn render_with(
    viewer: &Viewer,
    state: &AppState,
    error: Option<(StatusCode, String)>,
    secret: Option<NewSecret>,
) -> HttpResponse {
    if !workspace::may_open_settings(viewer.user.role) {
        return html(
            StatusCode::FORBIDDEN,
            message_page("Settings", "Only owners and managers change settings."),
        );
    }
    let loaded = state
        .store
        .read(|c| {
            Ok::<_, Error>((
                users::list_users(c)?,
                teams::list_teams(c)?,
                crate::store::tags::list_tags(c)?,
                canned::list_canned(c)?,
                settings::load_settings(c)?,
                crate::store::channels::list_channels(c)?,
                settings::find_internal(c, crate::jobs::update_check::AVAILABLE)?,
                service::invitations::pending(c)?,
            ))
        })
        .await;
    let (users, teams, tags, canned, s, channels, update, pending) = match loaded {
        Ok(v) => v,
        Err(e) => {
            return refused_page("Settings", &e);
        }
    };
    let csrf = viewer.csrf();
    let f = frame(viewer, &csrf, "settings", None);
    let (status, msg) = form_outcome(&error);
    html(
        status,
        settings_page(
            &f,
            &SettingsView {
                users: &users,
                teams: &teams,
                tags: &tags,
                canned: &canned,
                settings: &s,
                is_owner: viewer.user.role == Role::Owner,
                error: msg,
                secret: secret.as_ref(),
                channels: &channels
                    .iter()
                    .map(service::channels::redact)
                    .collect::<Vec<_>>(),
                update_available: update.as_deref(),
                pending: &pending,
                now: crate::domain::time::now_ms(),
            },
        ),
    )
}

/// `GET /settings`.
pub(super) async fn show_settings(viewer: Viewer, state: Data<AppState>) -> HttpResponse {
    render(&viewer, &state, None).await
}

/// Form fields, repeated keys kept (`teams`, `members`).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn ids(&self, key: &str) -> Vec<i64> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .filter_map(|(_, v)| v.parse().ok())
            .collect()
    }
}

async fn apply(
    req: &HttpRequest,
    viewer: &Viewer,
    state: &AppState,
    what: &str,
    f: Fields,
) -> Result<(&'static str, String), Error> {
    let actor = viewer.user.actor();
    let id: Option<i64> = req.match_info().get("id").and_then(|s| s.parse().ok());
    match what {
        "user_new" => {
            require(viewer.user.role, Capability::ManageUsers)?;
            let hash = hash_password(f.one("password").unwrap_or_default().to_string()).await?;
            let role = f.one("role").and_then(Role::parse).unwrap_or(Role::Agent);
            let new = NewUser {
                email: f.one("email").unwrap_or_default().to_string(),
                name: f.one("name").unwrap_or_default().to_string(),
                role,
                password_hash: hash,
            };
            let team_ids: Vec<TeamId> = f.ids("teams").into_iter().map(TeamId).collect();
            let user = state
                .store
                .write(move |c| service::users::create_user(c, new, &team_ids))
                .await?;
            Ok(("#staff", format!("{} added", user.name)))
        }
        "user" => {
            require(viewer.user.role, Capability::ManageUsers)?;
            let uid = UserId(id.ok_or(Error::NotFound("user"))?);
            let password_hash = match f.one("password").filter(|p| !p.is_empty()) {
                Some(p) => Some(hash_password(p.to_string()).await?),
                None => None,
            };
            let patch = UserPatch {
                role: f.one("role").and_then(Role::parse),
                disabled: Some(f.one("disabled").is_some()),
                teams: Some(f.ids("teams").into_iter().map(TeamId).collect()),
                password_hash,
                keep_token: Some(viewer.session.clone()),
                ..UserPatch::default()
            };
            let user = state
                .store
                .write(move |c| service::users::patch_user(c, Some(&actor), uid, patch))
                .await?;
            Ok(("#staff", format!("{} saved", user.name)))
        }
        "team_new" => {
            require(viewer.user.role, Capability::ManageTeams)?;
            let change = TeamChange {
                name: f.one("name").map(String::from),
                ..TeamChange::default()
            };
            let team = state
                .store
                .write(move |c| service::teams::create_team(c, change))
                .await?;
            Ok(("#teams", format!("Team {} created", team.name)))
        }
        "team" => {
            require(viewer.user.role, Capability::ManageTeams)?;
            let tid = TeamId(id.ok_or(Error::NotFound("team"))?);
            let change = TeamChange {
                name: Some(f.one("name").unwrap_or_default().to_string()),
                members: Some(f.ids("members").into_iter().map(UserId).collect()),
                ..TeamChange::default()
            };
            let team = state
                .store
                .write(move |c| service::teams::update_team(c, tid, change))
                .await?;
            Ok(("#teams", format!("Team {} saved", team.name)))
        }
        "tag_delete" => {
            let tid = id.ok_or(Error::NotFound("tag"))?;
            state
                .store
                .write(move |c| workspace::remove_tag(c, &actor, tid))
                .await?;
            Ok(("#tags", "Tag deleted".into()))
        }
        "canned_new" => {
            let (shortcut, body) = (
                f.one("shortcut").unwrap_or_default().to_string(),
                f.one("body").unwrap_or_default().to_string(),
            );
            let said = format!("Canned reply /{} saved", shortcut.trim());
            state
                .store
                .write(move |c| workspace::add_canned(c, &actor, &shortcut, &body))
                .await?;
            Ok(("#canned", said))
        }
        "canned_delete" => {
            let cid = id.ok_or(Error::NotFound("canned reply"))?;
            state
                .store
                .write(move |c| workspace::remove_canned(c, &actor, cid))
                .await?;
            Ok(("#canned", "Canned reply deleted".into()))
        }
        "workspace" => {
            let mut patch = Map::new();
            if let Some(v) = f.one("agent_visibility") {
                patch.insert("agent_visibility".into(), json!(v));
            }
            if let Some(tz) = f.one("timezone") {
                patch.insert("timezone".into(), json!(tz.trim()));
            }
            patch.insert(
                "auto_pending_on_reply".into(),
                json!(f.one("auto_pending_on_reply").is_some()),
            );
            let patch = Value::Object(patch);
            state
                .store
                .write(move |c| workspace::patch_settings(c, &actor, &patch))
                .await?;
            Ok(("#workspace", "Workspace saved".into()))
        }
        "channel" => {
            require(viewer.user.role, Capability::ManageChannels)?;
            let cid = crate::domain::ChannelId(id.ok_or(Error::NotFound("channel"))?);
            if let Some(t) = f.one("default_team") {
                let team = t.trim().parse().ok().map(crate::domain::TeamId);
                state
                    .store
                    .write(move |c| service::channels::set_default_team(c, cid, team))
                    .await?;
                return Ok(("#channels", "Default team saved".into()));
            }
            let mut config = Map::new();
            for key in ["callback_url", "access_token", "app_secret", "verify_token"] {
                if let Some(v) = f.one(key).map(str::trim).filter(|v| !v.is_empty()) {
                    config.insert(key.into(), json!(v));
                }
            }
            let config = Value::Object(config);
            let channel = state
                .store
                .write(move |c| service::channels::update(c, cid, None, &config))
                .await?;
            Ok(("#channels", format!("Channel {} saved", channel.name)))
        }
        _ => Err(Error::NotFound("page")),
    }
}

/// A channel just created: its name, id and (API channels) the secret shown only now.
struct Created {
    name: String,
    id: i64,
    secret: Option<String>,
}

/// Creates a channel from the settings form.
async fn create_channel(viewer: &Viewer, state: &AppState, f: &Fields) -> Result<Created, Error> {
    require(viewer.user.role, Capability::ManageChannels)?;
    let kind = f
        .one("kind")
        .and_then(crate::domain::ChannelKind::parse)
        .ok_or_else(|| service::bad_request("invalid_field", "unknown kind of channel"))?;
    let name = f.one("name").unwrap_or_default().to_string();
    let mut config = Map::new();
    for key in [
        "callback_url",
        "phone_number_id",
        "waba_id",
        "access_token",
        "app_secret",
        "verify_token",
        "graph_api_base",
    ] {
        if let Some(v) = f.one(key).map(str::trim).filter(|v| !v.is_empty()) {
            config.insert(key.into(), json!(v));
        }
    }
    let config = Value::Object(config);
    let view = state
        .store
        .write(move |c| service::channels::create(c, kind, &name, &config))
        .await?;
    Ok(Created {
        name: view.name,
        id: view.id.0,
        secret: view.secret,
    })
}

/// `POST /settings/...`: one handler per form, named by the route.
pub(super) async fn post_settings(
    req: HttpRequest,
    viewer: Viewer,
    state: Data<AppState>,
    form: Form<Vec<(String, String)>>,
) -> HttpResponse {
    let fields = Fields(form.into_inner());
    if viewer
        .check_csrf(fields.one("csrf").unwrap_or_default())
        .is_err()
    {
        return render(
            &viewer,
            &state,
            Some((
                StatusCode::FORBIDDEN,
                "The form expired; reload the page and try again.".into(),
            )),
        )
        .await;
    }
    let what = match (
        req.match_info().get("kind"),
        req.match_info().get("id"),
        req.path().ends_with("/delete"),
    ) {
        (Some("users"), None, _) => "user_new",
        (Some("users"), Some(_), _) => "user",
        (Some("teams"), None, _) => "team_new",
        (Some("teams"), Some(_), _) => "team",
        (Some("tags"), Some(_), true) => "tag_delete",
        (Some("canned"), None, _) => "canned_new",
        (Some("canned"), Some(_), true) => "canned_delete",
        (Some("workspace"), None, _) => "workspace",
        (Some("channels"), None, _) => "channel_new",
        (Some("channels"), Some(_), _) => "channel",
        (Some("update"), None, _) => "update",
        _ => "",
    };
    if what == "update" {
        return start_update(&req, &viewer, &state).await;
    }
    if what == "channel_new" {
        return match create_channel(&viewer, &state, &fields).await {
            // The secret is shown once, on this answer itself: it never travels in a cookie.
            Ok(Created {
                name,
                id,
                secret: Some(secret),
            }) => {
                let notice = NewSecret {
                    channel: name,
                    id,
                    secret,
                };
                render_with(&viewer, &state, None, Some(notice)).await
            }
            Ok(Created { name, .. }) => see_other_notice(
                &req,
                "/settings#channels",
                &format!(
                    "Channel {name} connected. In Meta's dashboard set the callback URL to \
                     https://<your public address>/webhooks/whatsapp with the same verify token."
                ),
            ),
            Err(e) => render(&viewer, &state, Some(refusal(&e))).await,
        };
    }
    match apply(&req, &viewer, &state, what, fields).await {
        Ok((anchor, notice)) => see_other_notice(&req, &format!("/settings{anchor}"), &notice),
        Err(e) => {
            let r = refusal(&e);
            render(&viewer, &state, Some(r)).await
        }
    }
}

/// "Update now" (owners): asks the root-run `teaminbox-update.path` unit to update (the
/// hardened service may not write its own binary), or says how to update by hand when this
/// teaminbox was not installed with that unit.
async fn start_update(req: &HttpRequest, viewer: &Viewer, state: &AppState) -> HttpResponse {
    if viewer.user.role != Role::Owner {
        return render(
            viewer,
            state,
            Some((
                StatusCode::FORBIDDEN,
                "Only owners update teaminbox.".into(),
            )),
        )
        .await;
    }
    let data = state
        .store
        .path()
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let unit_installed = ["/etc/systemd/system", "/lib/systemd/system"]
        .iter()
        .any(|d| {
            std::path::Path::new(d)
                .join("teaminbox-update.path")
                .exists()
        });
    if !unit_installed {
        let msg = "This teaminbox was not installed as a service with its update unit: run \
                   `sudo teaminbox update` on the machine, then restart teaminbox.";
        return render(viewer, state, Some((StatusCode::CONFLICT, msg.into()))).await;
    }
    match web::block(move || service::update::request_update(&data)).await {
        Ok(Ok(())) => see_other_notice(
            req,
            "/settings#update",
            "Updating: a backup is taken, the new version installed, and teaminbox restarts \
             in about a minute. Reload the page then.",
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "could not request the update");
            let msg = format!("The update could not be started: {e}");
            render(
                viewer,
                state,
                Some((StatusCode::INTERNAL_SERVER_ERROR, msg)),
            )
            .await
        }
        Err(_) => {
            let msg = "The update could not be started; try again.".to_string();
            render(
                viewer,
                state,
                Some((StatusCode::INTERNAL_SERVER_ERROR, msg)),
            )
            .await
        }
    }
}
