//! Invitation and password-reset links (#14): issuing one (which revokes the person's previous
//! link, so at most one is live), revoking, checking, and accepting — set the password, end
//! every old session and API token of that person, use the link up and sign them in, in the
//! caller's one transaction. Tokens are random, stored as their SHA-256, compared in constant
//! time, and never written to the log.

use rusqlite::Connection;

use super::{Error, Result};
use crate::domain::invitation::{self, Kind, LinkState};
use crate::domain::time::now_ms;
use crate::domain::{Role, TeamId, UserId};
use crate::store::invitations::{self as store, Invitation, Pending};
use crate::store::tokens::TokenKind;
use crate::store::users::{NewUser, User};

/// Longest token looked up; ours are 64 hex characters.
const MAX_TOKEN_LEN: usize = 256;

/// A link just issued: the token (shown once, in the link) and when it expires.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The secret: 64 hex characters.
    pub token: String,
    /// Invitation or reset.
    pub kind: Kind,
    /// When it stops working, UTC ms.
    pub expires_at: i64,
}

impl Issued {
    /// The link a phone opens: `<base>/invite?token=<token>`, `base` being the LAN address the
    /// appliance prints at start (see `crate::lan::lan_base`).
    pub fn url(&self, base: &str) -> String {
        link(base, &self.token)
    }
}

/// `<base>/invite?token=<token>` (`base` without a trailing slash).
pub fn link(base: &str, token: &str) -> String {
    format!("{}/invite?token={token}", base.trim_end_matches('/'))
}

/// The 410 `invitation_invalid` for a link in `state` (or an unknown one).
fn gone(state: Option<LinkState>) -> Error {
    Error::Gone {
        code: "invitation_invalid",
        message: state
            .map_or(invitation::UNKNOWN, invitation::refusal)
            .into(),
    }
}

/// Issues a new link of `kind` for `user`, valid for `ttl_ms` from now; any link the user had
/// that was neither used nor revoked is revoked. `by` is who issued it (`None`: the command
/// line).
///
/// # Errors
/// 404 for an unknown user; 409 `user_disabled` for a disabled one (enable them first).
pub fn issue(
    conn: &Connection,
    user: UserId,
    kind: Kind,
    by: Option<UserId>,
    ttl_ms: i64,
) -> Result<Issued> {
    let u = super::users::load(conn, user)?;
    if u.disabled {
        return Err(Error::Conflict {
            code: "user_disabled",
            message: format!("{} is disabled; enable them before sending a link", u.name),
            data: None,
        });
    }
    let now = now_ms();
    store::update_invitations_revoked(conn, user, now)?;
    let token = super::auth::new_secret();
    let expires_at = now + ttl_ms;
    store::insert_invitation(
        conn,
        user,
        &super::auth::hash_token(&token),
        kind,
        now,
        expires_at,
        by,
    )?;
    Ok(Issued {
        token,
        kind,
        expires_at,
    })
}

/// A new link for `user` of the fitting kind: a fresh invitation while their newest link is an
/// invitation never used (they have not set a password yet), else a password reset; valid for
/// the default 72 hours.
///
/// # Errors
/// As [`issue`].
pub fn reissue(conn: &Connection, user: UserId, by: Option<UserId>) -> Result<Issued> {
    let kind = match store::find_latest_invitation(conn, user)? {
        Some(last) if last.kind == Kind::Invite && last.used_at.is_none() => Kind::Invite,
        _ => Kind::Reset,
    };
    issue(conn, user, kind, by, invitation::DEFAULT_TTL_MS)
}

/// A new person without a password yet, and their invitation: the user is created with a hash
/// no password matches (the dummy hash, so a login attempt costs as much as for anyone else)
/// until they accept.
///
/// # Errors
/// As `users::create_user` (invalid email or name, email taken, unknown team).
pub fn invite_new(
    conn: &Connection,
    email: String,
    name: String,
    role: Role,
    teams: &[TeamId],
    by: Option<UserId>,
) -> Result<(User, Issued)> {
    let user = super::users::create_user(
        conn,
        NewUser {
            email,
            name,
            role,
            password_hash: super::auth::dummy_hash().to_string(),
        },
        teams,
    )?;
    let issued = issue(conn, user.id, Kind::Invite, by, invitation::DEFAULT_TTL_MS)?;
    Ok((user, issued))
}

/// Revokes the live link of `user`, if any; returns whether there was one.
///
/// # Errors
/// 404 for an unknown user.
pub fn revoke(conn: &Connection, user: UserId) -> Result<bool> {
    super::users::load(conn, user)?;
    Ok(store::update_invitations_revoked(conn, user, now_ms())? > 0)
}

/// The live link a token opens, with its person.
///
/// # Errors
/// 410 `invitation_invalid` for an unknown token, a used, revoked or expired link, or a link of
/// a disabled person; the message says which in words and what to do.
pub fn check(conn: &Connection, token: &str) -> Result<(Invitation, User)> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(gone(None));
    }
    let hash = super::auth::hash_token(token);
    let Some(found) = store::find_invitation_by_hash(conn, &hash)? else {
        return Err(gone(None));
    };
    // The row was found by its hash; compare again without an early exit all the same.
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        found.token_hash.as_slice(),
        hash.as_slice(),
    )) {
        return Err(gone(None));
    }
    let state = invitation::state(found.used_at, found.revoked_at, found.expires_at, now_ms());
    if state != LinkState::Live {
        return Err(gone(Some(state)));
    }
    let user = super::users::load(conn, found.user_id)?;
    if user.disabled {
        return Err(Error::Gone {
            code: "invitation_invalid",
            message: "This account is disabled; ask the owner.".into(),
        });
    }
    Ok((found, user))
}

/// What accepting a link gives: the signed-in person and their new token or session secret.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The person, name as they fixed it.
    pub user: User,
    /// A new API token or browser session secret (shown once).
    pub token: String,
}

/// Accepts a link: sets the password (already hashed) and, when given, the name; ends every
/// session and API token the person had; marks the link used; issues a token of `kind` (a
/// session expiring at `expires_at`, or an API token). All in the caller's transaction, so a
/// failure changes nothing.
///
/// # Errors
/// As [`check`] (410); 422 for a name that is empty or too long.
pub fn accept(
    conn: &Connection,
    token: &str,
    password_hash: String,
    name: Option<String>,
    kind: TokenKind,
    expires_at: Option<i64>,
) -> Result<Accepted> {
    let (link, user) = check(conn, token)?;
    if !store::update_invitation_used(conn, link.id, now_ms())? {
        return Err(gone(Some(LinkState::Used)));
    }
    let patch = super::users::UserPatch {
        name: name.filter(|n| !n.trim().is_empty() && n.trim() != user.name),
        password_hash: Some(password_hash),
        keep_token: None,
        ..super::users::UserPatch::default()
    };
    let user = super::users::patch_user(conn, Some(&user.actor()), user.id, patch)?;
    let token = super::auth::issue_token(conn, &user, kind, expires_at)?;
    Ok(Accepted { user, token })
}

/// Links that can still be used, oldest first, for Settings.
pub fn pending(conn: &Connection) -> Result<Vec<Pending>> {
    Ok(store::list_pending_invitations(conn, now_ms())?)
}
