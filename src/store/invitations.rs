//! Invitation and password-reset links (#14), stored as the SHA-256 of the token.

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;
use crate::domain::UserId;
use crate::domain::invitation::Kind;

/// One stored link (never its token).
#[derive(Debug, Clone)]
pub struct Invitation {
    /// Row id.
    pub id: i64,
    /// Whose password it sets.
    pub user_id: UserId,
    /// SHA-256 of the token (32 bytes).
    pub token_hash: Vec<u8>,
    /// Invitation or reset.
    pub kind: Kind,
    /// When it was issued, UTC ms.
    pub created_at: i64,
    /// When it stops working, UTC ms.
    pub expires_at: i64,
    /// When it was used, UTC ms.
    pub used_at: Option<i64>,
    /// When it was revoked (or replaced), UTC ms.
    pub revoked_at: Option<i64>,
    /// Who issued it (`None`: the command line).
    pub created_by: Option<UserId>,
}

/// A live link as Settings lists it: the invitation, and whom it is for.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The link.
    pub invitation: Invitation,
    /// The person's name.
    pub name: String,
    /// The person's email.
    pub email: String,
}

const COLS: &str = "i.id, i.user_id, i.token_hash, i.kind, i.created_at, i.expires_at, i.used_at, \
                    i.revoked_at, i.created_by";

fn map(r: &rusqlite::Row<'_>) -> rusqlite::Result<Invitation> {
    let kind: String = r.get(3)?;
    Ok(Invitation {
        id: r.get(0)?,
        user_id: UserId(r.get(1)?),
        token_hash: r.get(2)?,
        kind: Kind::parse(&kind).unwrap_or(Kind::Invite),
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        used_at: r.get(6)?,
        revoked_at: r.get(7)?,
        created_by: r.get::<_, Option<i64>>(8)?.map(UserId),
    })
}

/// Stores a new link; returns its id.
pub fn insert_invitation(
    conn: &Connection,
    user: UserId,
    token_hash: &[u8],
    kind: Kind,
    now: i64,
    expires_at: i64,
    created_by: Option<UserId>,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO invitations (user_id, token_hash, kind, created_at, expires_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        user.0,
        token_hash,
        kind.as_str(),
        now,
        expires_at,
        created_by.map(|u| u.0)
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The link whose token hashes to `token_hash`, whatever its state.
pub fn find_invitation_by_hash(conn: &Connection, token_hash: &[u8]) -> Result<Option<Invitation>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLS} FROM invitations i WHERE i.token_hash = ?1"
        ))?
        .query_row([token_hash], map)
        .optional()?)
}

/// The newest link issued for `user`, whatever its state.
pub fn find_latest_invitation(conn: &Connection, user: UserId) -> Result<Option<Invitation>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLS} FROM invitations i WHERE i.user_id = ?1 ORDER BY i.id DESC LIMIT 1"
        ))?
        .query_row([user.0], map)
        .optional()?)
}

/// Links neither used, revoked nor expired at `now`, oldest first, with whom they are for.
pub fn list_pending_invitations(conn: &Connection, now: i64) -> Result<Vec<Pending>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS}, u.name, u.email FROM invitations i JOIN users u ON u.id = i.user_id
         WHERE i.used_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?1
         ORDER BY i.created_at, i.id"
    ))?;
    let rows = stmt.query_map([now], |r| {
        Ok(Pending {
            invitation: map(r)?,
            name: r.get(9)?,
            email: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Revokes every link of `user` not yet used or revoked; returns how many.
pub fn update_invitations_revoked(conn: &Connection, user: UserId, now: i64) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE invitations SET revoked_at = ?2
         WHERE user_id = ?1 AND used_at IS NULL AND revoked_at IS NULL",
        params![user.0, now],
    )?)
}

/// Marks a link used, if it still was neither used nor revoked; returns whether it was.
pub fn update_invitation_used(conn: &Connection, id: i64, now: i64) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE invitations SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL AND revoked_at IS NULL",
        params![id, now],
    )? > 0)
}
