//! API tokens and sessions, stored as the SHA-256 of the secret.

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;
use crate::domain::UserId;

/// Kind of token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `Authorization: Bearer`.
    Api,
    /// Browser session cookie.
    Session,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Session => "session",
        }
    }
}

/// Stores a token hash for a user.
pub fn insert_token(
    conn: &Connection,
    user: UserId,
    kind: TokenKind,
    hash: &[u8],
    now: i64,
    expires_at: Option<i64>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO tokens (user_id, kind, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![user.0, kind.as_str(), hash, now, expires_at])?;
    Ok(())
}

/// The enabled user a live token of `kind` belongs to.
pub fn find_token_user(
    conn: &Connection,
    kind: TokenKind,
    hash: &[u8],
    now: i64,
) -> Result<Option<UserId>> {
    Ok(conn
        .prepare_cached(
            "SELECT t.user_id FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?1 AND t.kind = ?2 AND t.revoked_at IS NULL
               AND (t.expires_at IS NULL OR t.expires_at > ?3) AND u.disabled = 0",
        )?
        .query_row(params![hash, kind.as_str(), now], |r| r.get(0))
        .optional()?
        .map(UserId))
}

/// Revokes one token; returns whether it was live.
pub fn revoke_token(conn: &Connection, hash: &[u8], now: i64) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
        params![hash, now],
    )? > 0)
}

/// Revokes every token of a user.
pub fn revoke_user_tokens(conn: &Connection, user: UserId, now: i64) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
        params![user.0, now],
    )?)
}

/// Revokes every token of a user except the one whose hash is `keep` (a token of another user
/// named there keeps nothing alive).
pub fn revoke_user_tokens_except(
    conn: &Connection,
    user: UserId,
    keep: Option<&[u8]>,
    now: i64,
) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL
           AND token_hash IS NOT ?3",
        params![user.0, now, keep],
    )?)
}
