//! Operations: each one loads what it needs through `store`, asks `domain` whether it is allowed
//! and what follows, and writes the result with its events in the caller's transaction. Handlers,
//! the CLI and background jobs all go through here, so a rule lives in one place.

pub mod auth;
pub mod auto_resolve;
pub mod backup;
pub mod bot;
pub mod bulk;
pub mod channels;
pub mod contacts;
pub mod conversation_page;
pub mod conversations;
pub mod fields;
pub mod handoff;
pub mod inbound;
pub mod invitations;
pub mod mentions;
pub mod messages;
pub mod ownership_news;
pub mod queue;
pub mod release;
pub mod reports;
pub mod reports_csv;
pub mod reports_summary;
pub mod routing;
pub mod routing_inputs;
pub mod sla;
pub mod take_next;
pub mod teams;
pub mod update;
pub mod users;
pub mod watch;
pub mod webhooks;
pub mod whatsapp;
pub mod workspace;

use serde_json::Value;

use crate::store::StoreError;

/// Errors of an operation, each with a message safe to show the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed request (400).
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// Readable message.
        message: String,
    },
    /// Missing or bad credentials (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The role does not allow it (403).
    #[error("{message}")]
    Forbidden {
        /// Stable code.
        code: &'static str,
        /// Readable message.
        message: String,
    },
    /// Unknown, or not visible to the caller (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Nothing to answer with, said with its own code (404), such as `nothing_waiting`.
    #[error("{message}")]
    Missing {
        /// Stable code.
        code: &'static str,
        /// Readable message.
        message: String,
    },
    /// Conflicts with the current state (409).
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Readable message.
        message: String,
        /// Details for clients (such as who owns the conversation).
        data: Option<Value>,
    },
    /// It existed but is gone for good (410), such as a used, expired or revoked invitation
    /// link (`invitation_invalid`).
    #[error("{message}")]
    Gone {
        /// Stable code.
        code: &'static str,
        /// Readable message.
        message: String,
    },
    /// Well-formed but not allowed (422).
    #[error("{message}")]
    Invalid {
        /// Stable code.
        code: &'static str,
        /// Readable message.
        message: String,
    },
    /// The body is over the size limit (413).
    #[error("{0}")]
    TooLarge(String),
    /// Too many attempts (429).
    #[error("{message}")]
    RateLimited {
        /// Readable message.
        message: String,
        /// Seconds until trying again makes sense.
        retry_after_secs: u64,
    },
    /// Something we depend on is not available right now (503); the message is safe to show
    /// and says what to do (usually: try again).
    #[error("{0}")]
    Unavailable(String),
    /// A fault of ours outside the database (500): the string is the cause, logged and never
    /// shown; the user sees a generic message with the request id.
    #[error("{0}")]
    Internal(String),
    /// A fault of the database (500): the cause is logged, the user sees a generic message.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Result alias of operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A 422 with `code`.
pub fn invalid(code: &'static str, message: impl Into<String>) -> Error {
    Error::Invalid {
        code,
        message: message.into(),
    }
}

/// A 400 with `code`.
pub fn bad_request(code: &'static str, message: impl Into<String>) -> Error {
    Error::BadRequest {
        code,
        message: message.into(),
    }
}

/// A 403.
pub fn forbidden(message: impl Into<String>) -> Error {
    Error::Forbidden {
        code: "forbidden",
        message: message.into(),
    }
}

/// 403 unless `role` has `cap`.
pub fn require(role: crate::domain::Role, cap: crate::domain::policy::Capability) -> Result<()> {
    if crate::domain::policy::allows(role, cap) {
        Ok(())
    } else {
        Err(forbidden("your role does not allow this"))
    }
}

/// Trims `s` and checks it is non-empty and at most `max` characters.
pub fn clean_text(field: &str, s: &str, max: usize) -> Result<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(invalid("empty", format!("{field} must not be empty")));
    }
    if t.chars().count() > max {
        return Err(invalid(
            "too_long",
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(t.to_string())
}

/// A page cursor of exactly `N` integers joined by `_` (as the API hands them out in `next`);
/// `None` for anything else.
pub fn cursor<const N: usize>(s: &str) -> Option<[i64; N]> {
    let mut out = [0; N];
    let mut parts = s.split('_');
    for slot in &mut out {
        *slot = parts.next()?.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// The 400 for a cursor this API did not give out.
pub fn invalid_cursor() -> Error {
    bad_request(
        "invalid_cursor",
        "the \"before\" cursor is not one this API gave out",
    )
}

#[cfg(test)]
mod tests {
    use super::cursor;

    #[test]
    fn cursors_are_exactly_n_integers() {
        assert_eq!(
            cursor::<2>("1700000000000_42"),
            Some([1_700_000_000_000, 42])
        );
        assert_eq!(cursor::<3>("1_2_3"), Some([1, 2, 3]));
        assert_eq!(cursor::<3>("-1_2_3"), Some([-1, 2, 3]));
        for bad in ["", "1", "1_", "_1", "1_2_3", "1__2", "1_x", "1_2 ", "１_2"] {
            assert_eq!(cursor::<2>(bad), None, "{bad:?}");
        }
        assert_eq!(cursor::<3>("1_2"), None);
    }
}
