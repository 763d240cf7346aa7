//! The end-of-shift screen's rules: the note suggested for each conversation handed over, and
//! the warning for a customer service window that closes soon. Pure; times are UTC unix ms.

use super::Status;
use super::conversation::window_closing;

/// Most characters of the last message quoted in a suggested note.
pub const QUOTE_CHARS: usize = 80;

/// A duration in words, to the minute: "45 s", "12 min", "1 h 20 min", "2 d 3 h".
pub fn duration_words(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// The note offered for a conversation at the end of a shift, for the person to keep, edit or
/// clear: its last message (quoted, cut at [`QUOTE_CHARS`] characters) and how long the
/// customer has waited on us (`waiting_since`), or that we wait on them (`None`).
/// For example `Last message: “Can I pay cash?” — waiting 1 h 20 min`.
pub fn suggested_note(preview: &str, waiting_since: Option<i64>, now: i64) -> String {
    let preview = preview.split_whitespace().collect::<Vec<_>>().join(" ");
    let quote: String = if preview.chars().count() > QUOTE_CHARS {
        let cut: String = preview.chars().take(QUOTE_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        preview
    };
    let wait = match waiting_since {
        Some(t) => format!("waiting {}", duration_words(now - t)),
        None => "waiting on the customer".to_string(),
    };
    if quote.is_empty() {
        format!("No messages yet — {wait}")
    } else {
        format!("Last message: “{quote}” — {wait}")
    }
}

/// How long until the 24-hour window of an unresolved conversation closes, when that is within
/// two hours ([`super::conversation::WINDOW_WARNING_MS`], the rule the queue flags with):
/// whoever takes it over must reply or send a template first. `None` otherwise.
pub fn window_warning(status: Status, window_closes_at: Option<i64>, now: i64) -> Option<i64> {
    window_closing(status, window_closes_at, now)
        .then(|| window_closes_at.map(|t| t - now))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn durations_in_words() {
        for (ms, words) in [
            (0, "0 s"),
            (45_000, "45 s"),
            (12 * MIN, "12 min"),
            (60 * MIN, "1 h"),
            (80 * MIN, "1 h 20 min"),
            (26 * 60 * MIN + 5 * MIN, "1 d 2 h"),
            (48 * 60 * MIN, "2 d"),
            (-5, "0 s"),
        ] {
            assert_eq!(duration_words(ms), words, "{ms}");
        }
    }

    #[test]
    fn suggestions_quote_the_last_message_and_the_wait() {
        let now = 1_000 * MIN;
        assert_eq!(
            suggested_note("Can I pay  cash?\n", Some(now - 80 * MIN), now),
            "Last message: “Can I pay cash?” — waiting 1 h 20 min"
        );
        assert_eq!(
            suggested_note("Sent you the invoice", None, now),
            "Last message: “Sent you the invoice” — waiting on the customer"
        );
        assert_eq!(
            suggested_note("", Some(now - 5 * MIN), now),
            "No messages yet — waiting 5 min"
        );
        let long = "é".repeat(200);
        let s = suggested_note(&long, None, now);
        assert!(
            s.contains(&format!("“{}…”", "é".repeat(QUOTE_CHARS - 1))),
            "{s}"
        );
    }

    #[test]
    fn the_window_is_flagged_within_two_hours() {
        let now = 1_000 * MIN;
        for (status, closes, want) in [
            (Status::Open, Some(now + 80 * MIN), Some(80 * MIN)),
            (Status::Pending, Some(now + 120 * MIN), Some(120 * MIN)),
            (Status::Open, Some(now + 121 * MIN), None),
            (Status::Open, Some(now - MIN), None),
            (Status::Open, None, None),
            (Status::Resolved, Some(now + MIN), None),
        ] {
            assert_eq!(
                window_warning(status, closes, now),
                want,
                "{status:?} {closes:?}"
            );
        }
    }
}
