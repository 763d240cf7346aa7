//! Users and teams.

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde::Deserialize;

use super::{nullable, present};
use crate::domain::policy::Capability;
use crate::domain::{Assignment, Role, TeamId, UserId};
use crate::service::teams::TeamChange;
use crate::service::{self, Error};
use crate::store::users::NewUser;
use crate::store::{teams, users};
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
    /// Absent: the user gets an invitation link instead (#14).
    #[serde(default, deserialize_with = "present")]
    password: Option<String>,
    role: Role,
    #[serde(default)]
    teams: Vec<TeamId>,
}

/// `POST /api/v1/users` (owner): with `password`, the user as created; without, the user with
/// `"invitation": {"url", "expires_at"}`, a one-time link to set their own password.
pub(super) async fn post_user(
    auth: Auth,
    state: Data<AppState>,
    body: Body<NewUserBody>,
) -> ApiResult<HttpResponse> {
    auth.require(Capability::ManageUsers)?;
    let b = body.into_inner()?;
    let Some(password) = b.password else {
        let by = auth.user.id;
        let (user, issued) = state
            .store
            .write(move |c| {
                service::invitations::invite_new(c, b.email, b.name, b.role, &b.teams, Some(by))
            })
            .await?;
        return Ok(
            HttpResponse::Created().json(super::invitations::with_invitation(
                &user,
                &issued,
                state.base(),
            )),
        );
    };
    let password_hash = hash_password(password).await?;
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
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    role: Option<Role>,
    #[serde(default, deserialize_with = "present")]
    disabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    teams: Option<Vec<TeamId>>,
    #[serde(default, deserialize_with = "nullable")]
    capacity: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
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
        keep_token: Some(auth.token.clone()),
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
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    assignment: Option<Assignment>,
    #[serde(default, deserialize_with = "present")]
    members: Option<Vec<UserId>>,
}

impl From<TeamBody> for TeamChange {
    fn from(b: TeamBody) -> Self {
        TeamChange {
            name: b.name,
            assignment: b.assignment,
            members: b.members,
        }
    }
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
        .write(move |c| service::teams::create_team(c, b.into()))
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
            service::teams::update_team(c, id, body?.into())
        })
        .await?;
    Ok(HttpResponse::Ok().json(team))
}
