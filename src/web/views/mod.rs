//! maud templates: HTML escaped by construction. `*_page` renders a whole page.

pub mod auth;
pub mod conversation;
pub mod inbox;
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

#[cfg(test)]
mod tests {
    #[test]
    fn ages() {
        assert_eq!(super::age(5_000), "5 s");
        assert_eq!(super::age(600_000), "10 min");
        assert_eq!(super::age(7_200_000), "2 h");
        assert_eq!(super::age(-5), "0 s");
    }
}
