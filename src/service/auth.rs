//! Passwords, tokens and the first-run setup token.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rusqlite::Connection;
use sha2::{Digest, Sha256};

use super::{Error, Result, invalid};
use crate::domain::Role;
use crate::domain::time::now_ms;
use crate::store::settings;
use crate::store::tokens::{self, TokenKind};
use crate::store::users::{self, NewUser, User};

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest password accepted, in characters (argon2 hashes every byte of it).
pub const MAX_PASSWORD_LEN: usize = 1024;
const SETUP_KEY: &str = "_setup_token_sha256";

/// Hashes a password with argon2id (slow on purpose: call from a blocking thread).
pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(invalid(
            "weak_password",
            format!("the password must have at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    // Characters, as the OpenAPI document's maxLength counts them.
    if password.chars().count() > MAX_PASSWORD_LEN {
        return Err(invalid("too_long", "the password is too long"));
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| {
            Error::Store(crate::store::StoreError::Commit(format!(
                "hashing failed: {e}"
            )))
        })
}

/// Checks a password against an argon2 hash (slow on purpose).
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A hash that no password matches, so a login for an unknown email costs as much as a real one.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        Argon2::default()
            .hash_password(new_secret().as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// A new random secret: 32 bytes as 64 hex characters.
pub fn new_secret() -> String {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    hex::encode(buf)
}

/// Where to send a browser after login: `next` when it is a path on this site, else `/`. A
/// path here starts with one `/` and is made only of printable ASCII without spaces or
/// backslashes. Anything else goes to `/`: control characters and whitespace (browsers drop tabs
/// and newlines from URLs, so `/\t/evil.example` would become `//evil.example`), backslashes
/// (read as `/`), `//` (another host), schemes, non-ASCII and over-long values (neither fits a
/// `Location` header as it is).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.len() <= 2048
                && n.starts_with('/')
                && !n[1..].starts_with('/')
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n
        }
        _ => "/",
    }
}

/// SHA-256 of a token, as stored.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates and stores a token for `user`; returns the secret (shown once).
pub fn issue_token(
    conn: &Connection,
    user: &User,
    kind: TokenKind,
    expires_at: Option<i64>,
) -> Result<String> {
    let token = new_secret();
    tokens::insert_token(
        conn,
        user.id,
        kind,
        &hash_token(&token),
        now_ms(),
        expires_at,
    )?;
    Ok(token)
}

/// The enabled user holding a live token.
pub fn authenticate(conn: &Connection, token: &str, kind: TokenKind) -> Result<Option<User>> {
    if token.is_empty() || token.len() > 256 {
        return Ok(None);
    }
    match tokens::find_token_user(conn, kind, &hash_token(token), now_ms())? {
        Some(id) => Ok(users::find_user(conn, id)?.filter(|u| !u.disabled)),
        None => Ok(None),
    }
}

/// Revokes a token.
pub fn revoke(conn: &Connection, token: &str) -> Result<bool> {
    Ok(tokens::revoke_token(conn, &hash_token(token), now_ms())?)
}

/// While there is no user, makes a fresh one-time setup token (replacing any older one) and
/// returns it; with users, returns None.
pub fn ensure_setup_token(conn: &Connection) -> Result<Option<String>> {
    if users::count_users(conn)? > 0 {
        settings::set_internal(conn, SETUP_KEY, None)?;
        return Ok(None);
    }
    let token = new_secret();
    settings::set_internal(conn, SETUP_KEY, Some(&hex::encode(hash_token(&token))))?;
    Ok(Some(token))
}

/// Whether `token` is the current setup token (and no user exists yet).
pub fn check_setup_token(conn: &Connection, token: &str) -> Result<bool> {
    if users::count_users(conn)? > 0 {
        return Ok(false);
    }
    let Some(stored) = settings::find_internal(conn, SETUP_KEY)? else {
        return Ok(false);
    };
    let given = hex::encode(hash_token(token));
    Ok(subtle::ConstantTimeEq::ct_eq(stored.as_bytes(), given.as_bytes()).into())
}

/// Creates the first owner with the setup token, which is then used up.
pub fn complete_setup(
    conn: &Connection,
    token: &str,
    name: &str,
    email: &str,
    password_hash: String,
) -> Result<User> {
    if !check_setup_token(conn, token)? {
        return Err(Error::Unauthenticated(
            "this setup link is not valid any more; restart teaminbox to get a new one, or log in"
                .into(),
        ));
    }
    let user = super::users::create_user(
        conn,
        NewUser {
            email: email.into(),
            name: name.into(),
            role: Role::Owner,
            password_hash,
        },
        &[],
    )?;
    settings::set_internal(conn, SETUP_KEY, None)?;
    Ok(user)
}

/// How long a browser session lasts.
pub const SESSION_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// The CSRF token of a session: derived from its secret, so it needs no storage and cannot be
/// guessed without the cookie.
pub fn csrf_token(session: &str) -> String {
    hex::encode(&Sha256::digest(format!("csrf:{session}").as_bytes())[..20])
}

/// Whether `given` is the CSRF token of `session` (constant time).
pub fn check_csrf(session: &str, given: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(csrf_token(session).as_bytes(), given.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_paths_on_this_site_are_followed_after_login() {
        let cases: &[(Option<&str>, &str)] = &[
            (None, "/"),
            (Some(""), "/"),
            (Some("/"), "/"),
            (Some("/c/12"), "/c/12"),
            (Some("/?view=unassigned&team=2"), "/?view=unassigned&team=2"),
            (Some("/c/1%3Fx%3Dy%20z"), "/c/1%3Fx%3Dy%20z"),
            (Some("/\t/evil.example/"), "/"),
            (Some("/\n/x"), "/"),
            (Some("/\r\nSet-Cookie: x=1"), "/"),
            (Some("/x\u{7f}"), "/"),
            (Some("//evil.example"), "/"),
            (Some("///evil.example"), "/"),
            (Some("/\\evil.example"), "/"),
            (Some("\\\\evil.example"), "/"),
            (Some("https://evil.example/"), "/"),
            (Some("javascript:alert(1)"), "/"),
            (Some(" /c/12"), "/"),
            (Some("/c/12 "), "/"),
            (Some("/c/\u{2028}12"), "/"),
            (Some("/c/é"), "/"),
            (Some("evil.example"), "/"),
        ];
        for (next, want) in cases {
            assert_eq!(safe_next(*next), *want, "{next:?}");
        }
        let long = format!("/{}", "a".repeat(2048));
        assert_eq!(safe_next(Some(&long)), "/");
    }
}
