//! Snooze presets ("1 hour", "tonight", "tomorrow morning", "next week") and how a snooze end
//! reads ("tomorrow 09:00"), computed in the shop's time zone (the `timezone` setting). Pure: the
//! caller looks the zone up (jiff reads the system's tz database) and passes it in.

use jiff::Timestamp;
use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::TimeZone;

/// A snooze preset offered on the conversation page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// One hour from now.
    Hour,
    /// Today at 18:00 (offered only before 17:00).
    Tonight,
    /// Tomorrow at 09:00.
    Tomorrow,
    /// Next Monday at 09:00 (a week on, when today is Monday).
    NextWeek,
}

impl Preset {
    /// Every preset, in the order the page lists them.
    pub const ALL: [Preset; 4] = [
        Preset::Hour,
        Preset::Tonight,
        Preset::Tomorrow,
        Preset::NextWeek,
    ];

    /// The form value (`1h`, `tonight`, `tomorrow`, `next_week`).
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Hour => "1h",
            Preset::Tonight => "tonight",
            Preset::Tomorrow => "tomorrow",
            Preset::NextWeek => "next_week",
        }
    }

    /// The preset a form value names.
    pub fn parse(s: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The button's words.
    pub fn label(self) -> &'static str {
        match self {
            Preset::Hour => "1 hour",
            Preset::Tonight => "Tonight 18:00",
            Preset::Tomorrow => "Tomorrow 09:00",
            Preset::NextWeek => "Next week (Mon 09:00)",
        }
    }
}

/// Hour of "tonight" and the last hour at which it is still offered.
const TONIGHT: i8 = 18;
const MORNING: i8 = 9;

/// The end of a snooze of `preset` started at `now_ms` (UTC ms) in zone `tz`, in UTC ms; `None`
/// for "tonight" from 17:00 on (less than an hour away, or past). A wall time that a DST change
/// skips is moved later, as jiff's default disambiguation does.
pub fn until(preset: Preset, now_ms: i64, tz: &TimeZone) -> Option<i64> {
    let now = Timestamp::from_millisecond(now_ms)
        .ok()?
        .to_zoned_datetime(tz.clone());
    let at = |date: jiff::civil::Date, hour: i8| -> Option<i64> {
        let t = Time::new(hour, 0, 0, 0).ok()?;
        let zoned = DateTime::from_parts(date, t)
            .to_zoned_datetime(tz.clone())
            .ok()?;
        Some(zoned.timestamp().as_millisecond())
    };
    match preset {
        Preset::Hour => Some(now_ms + 3_600_000),
        Preset::Tonight if now.hour() < TONIGHT - 1 => at(now.date(), TONIGHT),
        Preset::Tonight => None,
        Preset::Tomorrow => at(now.date().tomorrow().ok()?, MORNING),
        Preset::NextWeek => at(now.date().nth_weekday(1, Weekday::Monday).ok()?, MORNING),
    }
}

/// A snooze end in words relative to `now_ms`, in zone `tz`: "today 18:00", "tomorrow 09:00",
/// or "Mon 7 Dec 09:00".
pub fn describe(until_ms: i64, now_ms: i64, tz: &TimeZone) -> String {
    let (Ok(u), Ok(n)) = (
        Timestamp::from_millisecond(until_ms),
        Timestamp::from_millisecond(now_ms),
    ) else {
        return "later".into();
    };
    let (u, n) = (
        u.to_zoned_datetime(tz.clone()),
        n.to_zoned_datetime(tz.clone()),
    );
    let hm = format!("{:02}:{:02}", u.hour(), u.minute());
    if u.date() == n.date() {
        format!("today {hm}")
    } else if n.date().tomorrow().ok() == Some(u.date()) {
        format!("tomorrow {hm}")
    } else {
        format!("{} {hm}", u.strftime("%a %-d %b"))
    }
}

/// A clock time "08:43" of `ms` in zone `tz`.
pub fn clock(ms: i64, tz: &TimeZone) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => {
            let z = t.to_zoned_datetime(tz.clone());
            format!("{:02}:{:02}", z.hour(), z.minute())
        }
        Err(_) => "--:--".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str, tz: &TimeZone) -> i64 {
        let dt: DateTime = s.parse().expect("datetime");
        dt.to_zoned_datetime(tz.clone())
            .expect("zoned")
            .timestamp()
            .as_millisecond()
    }

    /// (zone, now local, preset, want local or None). 2026-11-25 is a Wednesday; 2026-03-29 is
    /// the EU's spring-forward Sunday (02:00 → 03:00).
    #[test]
    fn presets_in_the_shops_zone() {
        let table: &[(&str, &str, Preset, Option<&str>)] = &[
            (
                "Europe/Lisbon",
                "2026-11-25T10:15",
                Preset::Hour,
                Some("2026-11-25T11:15"),
            ),
            (
                "Europe/Lisbon",
                "2026-11-25T10:15",
                Preset::Tonight,
                Some("2026-11-25T18:00"),
            ),
            (
                "Europe/Lisbon",
                "2026-11-25T16:59",
                Preset::Tonight,
                Some("2026-11-25T18:00"),
            ),
            ("Europe/Lisbon", "2026-11-25T17:00", Preset::Tonight, None),
            (
                "Europe/Lisbon",
                "2026-11-25T23:30",
                Preset::Tomorrow,
                Some("2026-11-26T09:00"),
            ),
            (
                "Europe/Lisbon",
                "2026-11-25T10:15",
                Preset::NextWeek,
                Some("2026-11-30T09:00"),
            ),
            (
                "America/Sao_Paulo",
                "2026-11-30T08:00",
                Preset::NextWeek,
                Some("2026-12-07T09:00"),
            ),
            (
                "Asia/Kolkata",
                "2026-11-25T00:10",
                Preset::Tomorrow,
                Some("2026-11-26T09:00"),
            ),
            (
                "Europe/Berlin",
                "2026-03-28T20:00",
                Preset::Tomorrow,
                Some("2026-03-29T09:00"),
            ),
        ];
        for (zone, now, preset, want) in table {
            let tz = TimeZone::get(zone).expect("zone in the system tz database");
            let got = until(*preset, ms(now, &tz), &tz);
            assert_eq!(got, want.map(|w| ms(w, &tz)), "{zone} {now} {preset:?}");
        }
        // The hour preset across a DST change is an hour of real time.
        let tz = TimeZone::get("Europe/Berlin").expect("zone");
        let before = ms("2026-03-29T01:30", &tz);
        assert_eq!(until(Preset::Hour, before, &tz), Some(before + 3_600_000));
    }

    #[test]
    fn a_snooze_end_in_words() {
        let tz = TimeZone::get("Europe/Lisbon").expect("zone");
        let now = ms("2026-11-25T10:15", &tz);
        for (end, want) in [
            ("2026-11-25T18:00", "today 18:00"),
            ("2026-11-26T09:00", "tomorrow 09:00"),
            ("2026-11-30T09:00", "Mon 30 Nov 09:00"),
        ] {
            assert_eq!(describe(ms(end, &tz), now, &tz), want);
        }
        assert_eq!(clock(ms("2026-11-25T08:43", &tz), &tz), "08:43");
        for p in Preset::ALL {
            assert_eq!(Preset::parse(p.as_str()), Some(p));
        }
        assert_eq!(Preset::parse("someday"), None);
    }
}
