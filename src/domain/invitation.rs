//! One-time links that let a person set their own password (#14): an invitation for a new
//! member of staff, or a reset for someone who forgot theirs. Pure rules: what a link's state
//! is at a moment, and how long a new one lives.

use serde::Serialize;

/// How long a new link lives: 72 hours, in milliseconds (issue #14: "Links expire (72 hours by
/// default)").
pub const DEFAULT_TTL_MS: i64 = 72 * 60 * 60 * 1000;

/// What a link is for. Both set the password and sign the person in; they differ only in the
/// words the pages use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A new member of staff sets their first password.
    Invite,
    /// Someone sets a new password; every old session and token ends.
    Reset,
}

impl Kind {
    /// The stored form: `invite` or `reset`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invite => "invite",
            Kind::Reset => "reset",
        }
    }

    /// The kind of a stored value (`None` for anything else).
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "invite" => Some(Kind::Invite),
            "reset" => Some(Kind::Reset),
            _ => None,
        }
    }
}

/// Where a link stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// It can be used now.
    Live,
    /// It was used already (links work once).
    Used,
    /// The owner revoked it, or issued a newer one for the same person.
    Revoked,
    /// Its time ran out.
    Expired,
}

/// The state at `now` (UTC ms) of a link with these times. Used wins over revoked, and both
/// over expired, so the page names what actually happened to it first.
pub fn state(
    used_at: Option<i64>,
    revoked_at: Option<i64>,
    expires_at: i64,
    now: i64,
) -> LinkState {
    match (used_at, revoked_at) {
        (Some(_), _) => LinkState::Used,
        (None, Some(_)) => LinkState::Revoked,
        (None, None) if now >= expires_at => LinkState::Expired,
        (None, None) => LinkState::Live,
    }
}

/// What a person who opened a dead link is told, in words, with what to do next.
pub fn refusal(state: LinkState) -> &'static str {
    match state {
        LinkState::Used => {
            "This link was used already: each link works once. Log in with the password you set, \
             or ask the owner for a new link."
        }
        LinkState::Revoked => {
            "This link was revoked (or replaced by a newer one). Ask the owner for a new link."
        }
        LinkState::Expired => "This link has expired. Ask the owner for a new link.",
        LinkState::Live => "This link is valid.",
    }
}

/// What an unknown link (mistyped, cut short, or made up) is told.
pub const UNKNOWN: &str =
    "This link is not valid: check that it was copied whole, or ask the owner for a new link.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_live_until_used_revoked_or_expired() {
        let cases = [
            (None, None, 100, 99, LinkState::Live),
            (None, None, 100, 100, LinkState::Expired),
            (None, None, 100, 101, LinkState::Expired),
            (Some(50), None, 100, 60, LinkState::Used),
            (Some(50), None, 100, 200, LinkState::Used),
            (None, Some(50), 100, 60, LinkState::Revoked),
            (None, Some(50), 100, 200, LinkState::Revoked),
            (Some(40), Some(50), 100, 60, LinkState::Used),
        ];
        for (used, revoked, expires, now, want) in cases {
            assert_eq!(
                state(used, revoked, expires, now),
                want,
                "{used:?} {revoked:?} {expires} {now}"
            );
        }
    }

    #[test]
    fn every_dead_link_says_what_to_do() {
        for s in [LinkState::Used, LinkState::Revoked, LinkState::Expired] {
            assert!(refusal(s).contains("ask the owner") || refusal(s).contains("Ask the owner"));
        }
        assert_eq!(Kind::parse("invite"), Some(Kind::Invite));
        assert_eq!(Kind::parse(Kind::Reset.as_str()), Some(Kind::Reset));
        assert_eq!(Kind::parse("other"), None);
        assert_eq!(DEFAULT_TTL_MS, 259_200_000);
    }
}
