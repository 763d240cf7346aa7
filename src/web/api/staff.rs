//! Users and teams.

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde::Deserialize;

use super::nullable;
use crate::domain::policy::Capability;
use crate::domain::{Assignment, Role, TeamId, UserId};
use crate::service::{self, Error, clean_text};
use crate::store::users::NewUser;
use crate::store::{now_ms, teams, users};
use crate::web::AppState;
use crate::web::auth::{Auth, hash_password};
use crate::web::body::{Body, PathId};
use crate::web::error::ApiResult;

/// `GET /api/v1/users`.
pub(super) async fn list_users(_auth: Auth, state: Data<AppState>) -> ApiResult<HttpResponse> {
    let list = state.store.read(users::list_users).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": list, "next": null})))
}

/// `GET /api/v1/users/{id}`.
pub(super) async fn show_user(
    _auth: Auth,
    state: Data<AppState>,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let id = UserId(id.get()?);
    let user = state
        .store
        .read(move |c| service::users::load(c, id))
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

#[derive(Deserialize)]
pub(super) struct NewUserBody {
    name: String,
    email: String,
    password: String,
    role: Role,
    #[serde(default)]
    teams: Vec<TeamId>,
}

/// `POST /api/v1/users` (owner).
pub(super) async fn post_user(
    auth: Auth,
    state: Data<AppState>,
    body: Body<NewUserBody>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageUsers)?;
    let b = body.into_inner()?;
    let password_hash = hash_password(b.password).await?;
    let user = state
        .store
        .write(move |c| {
            service::users::create_user(
                c,
                NewUser {
                    email: b.email,
                    name: b.name,
                    role: b.role,
                    password_hash,
                },
                &b.teams,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(user))
}

#[derive(Deserialize)]
pub(super) struct PatchUserBody {
    name: Option<String>,
    role: Option<Role>,
    disabled: Option<bool>,
    teams: Option<Vec<TeamId>>,
    #[serde(default, deserialize_with = "nullable")]
    capacity: Option<Option<i64>>,
    password: Option<String>,
}

/// `PATCH /api/v1/users/{id}` (owner).
pub(super) async fn patch_user(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    body: Body<PatchUserBody>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageUsers)?;
    let id = UserId(id.get()?);
    state
        .store
        .read(move |c| service::users::load(c, id))
        .await?;
    let b = body.into_inner()?;
    let password_hash = match b.password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let actor = auth.actor();
    let patch = service::users::UserPatch {
        name: b.name,
        role: b.role,
        disabled: b.disabled,
        teams: b.teams,
        capacity: b.capacity,
        password_hash,
    };
    let user = state
        .store
        .write(move |c| service::users::patch_user(c, Some(&actor), id, patch))
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// `GET /api/v1/teams`.
pub(super) async fn list_teams(_auth: Auth, state: Data<AppState>) -> ApiResult<HttpResponse> {
    let list = state.store.read(teams::list_teams).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": list, "next": null})))
}

/// `GET /api/v1/teams/{id}`.
pub(super) async fn show_team(
    _auth: Auth,
    state: Data<AppState>,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let id = TeamId(id.get()?);
    let team = state
        .store
        .read(move |c| teams::find_team(c, id)?.ok_or(Error::NotFound("team")))
        .await?;
    Ok(HttpResponse::Ok().json(team))
}

#[derive(Deserialize)]
pub(super) struct TeamBody {
    name: Option<String>,
    assignment: Option<Assignment>,
    members: Option<Vec<UserId>>,
}

fn team_name_taken(
    c: &rusqlite::Connection,
    name: &str,
    except: Option<TeamId>,
) -> Result<(), Error> {
    match teams::find_team_by_name(c, name)? {
        Some(t) if Some(t) != except => Err(Error::Conflict {
            code: "name_taken",
            message: format!("a team named {name} exists already"),
            data: None,
        }),
        _ => Ok(()),
    }
}

fn check_members(c: &rusqlite::Connection, members: &[UserId]) -> Result<(), Error> {
    for m in members {
        if users::find_user(c, *m)?.is_none() {
            return Err(service::invalid(
                "unknown_user",
                format!("there is no user {m}"),
            ));
        }
    }
    Ok(())
}

fn apply_team(c: &rusqlite::Connection, id: TeamId, b: TeamBody) -> Result<teams::Team, Error> {
    if let Some(a) = b.assignment {
        teams::update_team_assignment(c, id, a)?;
    }
    if let Some(m) = &b.members {
        check_members(c, m)?;
        teams::set_team_members(c, id, m)?;
    }
    teams::find_team(c, id)?.ok_or(Error::NotFound("team"))
}

/// `POST /api/v1/teams` (owner, manager).
pub(super) async fn post_team(
    auth: Auth,
    state: Data<AppState>,
    body: Body<TeamBody>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageTeams)?;
    let b = body.into_inner()?;
    let team = state
        .store
        .write(move |c| {
            let name = clean_text("name", b.name.as_deref().unwrap_or(""), 60)?;
            team_name_taken(c, &name, None)?;
            let id = teams::insert_team(c, &name, now_ms())?;
            apply_team(c, id, b)
        })
        .await?;
    Ok(HttpResponse::Created().json(team))
}

/// `PATCH /api/v1/teams/{id}` (owner, manager).
pub(super) async fn patch_team(
    auth: Auth,
    state: Data<AppState>,
    id: PathId,
    body: Body<TeamBody>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageTeams)?;
    let id = TeamId(id.get()?);
    let body = body.0;
    let team = state
        .store
        .write(move |c| {
            teams::find_team(c, id)?.ok_or(Error::NotFound("team"))?;
            let b = body?;
            if let Some(n) = &b.name {
                let name = clean_text("name", n, 60)?;
                team_name_taken(c, &name, Some(id))?;
                teams::update_team_name(c, id, &name)?;
            }
            apply_team(c, id, b)
        })
        .await?;
    Ok(HttpResponse::Ok().json(team))
}
