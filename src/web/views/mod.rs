//! maud templates: HTML escaped by construction. `*_page` renders a whole page.

pub mod auth;
pub mod automation;
pub mod conversation;
pub mod inbox;
pub mod invite;
pub mod layout;
pub mod now;
pub mod reports;
pub mod routing;
pub mod settings;
pub mod settings_hours;
pub mod settings_sla;
pub mod shift;
pub mod timeline;

/// A duration in words, short: "45 s", "12 min", "3 h", "2 d".
pub fn age(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

/// A count with its noun in the right number: "1 cycle", "0 cycles", "3 cycles" (English plural:
/// only 1 takes the singular).
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_take_the_singular_only_for_one() {
        let cases = [
            (0, "0 members"),
            (1, "1 member"),
            (2, "2 members"),
            (11, "11 members"),
        ];
        for (n, want) in cases {
            assert_eq!(super::counted(n, "member", "members"), want);
        }
    }

    #[test]
    fn ages() {
        assert_eq!(super::age(5_000), "5 s");
        assert_eq!(super::age(600_000), "10 min");
        assert_eq!(super::age(7_200_000), "2 h");
        assert_eq!(super::age(-5), "0 s");
    }
}
