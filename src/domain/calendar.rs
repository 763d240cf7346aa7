//! The shop's business calendar for SLA clocks: weekly hours, holidays, its IANA time zone; how
//! much business time lies between two instants or when a target falls due. Times in and out
//! are UTC unix milliseconds; the calendar is read in the shop's civil time, so a due time moves
//! correctly across DST changes (time-zone rules come from jiff's tz database — the system copy,
//! or the copy built into the binary when the machine has none).

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

/// Why a calendar could not be built from settings (the settings validation shows these).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The time zone is not in the IANA database.
    #[error("unknown time zone {0:?}; use an IANA name such as Europe/Lisbon")]
    UnknownZone(String),
    /// A weekday key other than `mon`…`sun`.
    #[error("weekdays are mon, tue, wed, thu, fri, sat, sun (got {0:?})")]
    Weekday(String),
    /// An interval that is not `["HH:MM","HH:MM"]` with start before end (`24:00` may end a day).
    #[error("intervals are [\"HH:MM\",\"HH:MM\"] with start before end, 00:00–24:00 (got {0:?})")]
    Interval(String),
    /// A holiday that is not a `YYYY-MM-DD` date.
    #[error("holidays are dates YYYY-MM-DD (got {0:?})")]
    Holiday(String),
}

/// Looks up an IANA time zone name (`Europe/Lisbon`, `UTC`).
///
/// # Errors
/// [`CalendarError::UnknownZone`] when the name is not in the database.
pub fn zone(name: &str) -> Result<TimeZone, CalendarError> {
    TimeZone::get(name).map_err(|_| CalendarError::UnknownZone(name.to_string()))
}

/// Every IANA time zone name the database knows (`Africa/Abidjan` … `UTC`), sorted, for a
/// settings select; the `posix/`, `right/` copies and files that are not zones are left out.
pub fn zone_names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_string())
        .filter(|n| {
            (n.contains('/') || n == "UTC")
                && !n.starts_with("posix/")
                && !n.starts_with("right/")
                && !n.starts_with("SystemV/")
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Minutes after midnight of `HH:MM` (`00:00`…`24:00`), or `None`.
pub fn parse_hhmm(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return None;
    }
    let h: u16 = s[..2].parse().ok()?;
    let m: u16 = s[3..].parse().ok()?;
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// When the shop works: per weekday a list of `[start, end)` minute intervals in civil time,
/// holidays (whole days closed) and the zone they are read in. A calendar without any interval
/// is open around the clock (business hours not set), so business time equals wall time.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    tz: TimeZone,
    /// Monday first; minutes after midnight, sorted, not overlapping.
    week: [Vec<(u16, u16)>; 7],
    holidays: BTreeSet<Date>,
}

/// The longest stretch [`BusinessCalendar::due`] looks ahead before it gives up (a calendar
/// whose only open day is a holiday every year, say): ten years of days.
const HORIZON_DAYS: i32 = 3660;

impl BusinessCalendar {
    /// A calendar open around the clock in `tz`.
    pub fn always_open(tz: TimeZone) -> Self {
        BusinessCalendar {
            tz,
            week: Default::default(),
            holidays: BTreeSet::new(),
        }
    }

    /// Builds the calendar from the settings' shapes: `timezone`, `business_hours` (weekday →
    /// `[["09:00","18:00"], …]`) and `holidays` (`YYYY-MM-DD`). Overlapping intervals of a day
    /// are merged.
    ///
    /// # Errors
    /// A [`CalendarError`] naming the first value that is not valid.
    pub fn new(
        timezone: &str,
        business_hours: &BTreeMap<String, Vec<[String; 2]>>,
        holidays: &[String],
    ) -> Result<Self, CalendarError> {
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let mut cal = BusinessCalendar::always_open(zone(timezone)?);
        for (day, intervals) in business_hours {
            let i = DAYS
                .iter()
                .position(|d| d == day)
                .ok_or_else(|| CalendarError::Weekday(day.clone()))?;
            let mut list = Vec::with_capacity(intervals.len());
            for [a, b] in intervals {
                match (parse_hhmm(a), parse_hhmm(b)) {
                    (Some(s), Some(e)) if s < e => list.push((s, e)),
                    _ => return Err(CalendarError::Interval(format!("[{a:?}, {b:?}]"))),
                }
            }
            list.sort_unstable();
            let mut merged: Vec<(u16, u16)> = Vec::with_capacity(list.len());
            for (s, e) in list {
                match merged.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
            cal.week[i] = merged;
        }
        for h in holidays {
            let d: Date = h.parse().map_err(|_| CalendarError::Holiday(h.clone()))?;
            cal.holidays.insert(d);
        }
        Ok(cal)
    }

    pub(crate) fn is_always_open(&self) -> bool {
        self.week.iter().all(Vec::is_empty)
    }

    /// The open stretches of one civil date as UTC millisecond ranges `[start, end)`. A time
    /// skipped by a DST change starts at the first moment that exists after it; a repeated one
    /// means its first occurrence (jiff's "compatible" rule, as RFC 5545 and Temporal do).
    pub(crate) fn open_on(&self, date: Date) -> Vec<(i64, i64)> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        let day = &self.week[date.weekday().to_monday_zero_offset() as usize];
        day.iter()
            .filter_map(|&(s, e)| {
                let start = self.instant(date, s)?;
                let end = self.instant(date, e)?;
                (start < end).then_some((start, end))
            })
            .collect()
    }

    /// The instant of `minutes` after midnight on `date` here (1440 = the next midnight).
    fn instant(&self, date: Date, minutes: u16) -> Option<i64> {
        let (date, minutes) = if minutes >= 1440 {
            (date.tomorrow().ok()?, 0)
        } else {
            (date, minutes)
        };
        let t = Time::new((minutes / 60) as i8, (minutes % 60) as i8, 0, 0).ok()?;
        let z = self
            .tz
            .to_ambiguous_zoned_datetime(date.to_datetime(t))
            .compatible()
            .ok()?;
        Some(z.timestamp().as_millisecond())
    }

    pub(crate) fn civil_date(&self, ms: i64) -> Option<Date> {
        let ts = Timestamp::from_millisecond(ms).ok()?;
        Some(ZonedDateTime::new(ts, self.tz.clone()).date())
    }

    /// Whether the shop is open at `at_ms`.
    pub fn is_open(&self, at_ms: i64) -> bool {
        if self.is_always_open() {
            return true;
        }
        let Some(d) = self.civil_date(at_ms) else {
            return false;
        };
        // An interval ending at 24:00 belongs to the day before; check both.
        [d.yesterday().ok(), Some(d)]
            .into_iter()
            .flatten()
            .flat_map(|d| self.open_on(d))
            .any(|(s, e)| s <= at_ms && at_ms < e)
    }

    /// When `secs` seconds of business time have passed since `from_ms` (UTC ms). With zero
    /// seconds, the first open moment at or after `from_ms`. `None` when the calendar never
    /// opens within ten years.
    pub fn due(&self, from_ms: i64, secs: i64) -> Option<i64> {
        let mut left = secs.max(0).saturating_mul(1000);
        if self.is_always_open() {
            return from_ms.checked_add(left);
        }
        let mut date = self.civil_date(from_ms)?.yesterday().ok()?;
        for _ in 0..HORIZON_DAYS {
            for (s, e) in self.open_on(date) {
                let s = s.max(from_ms);
                if s >= e {
                    continue;
                }
                if e - s >= left {
                    return Some(s + left);
                }
                left -= e - s;
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// Business seconds (whole, rounded down) between `from_ms` and `to_ms`; 0 when `to_ms` is
    /// not after `from_ms`.
    pub fn elapsed_secs(&self, from_ms: i64, to_ms: i64) -> i64 {
        if to_ms <= from_ms {
            return 0;
        }
        if self.is_always_open() {
            return (to_ms - from_ms) / 1000;
        }
        let (Some(first), Some(last)) = (self.civil_date(from_ms), self.civil_date(to_ms)) else {
            return 0;
        };
        let mut total = 0i64;
        let mut date = first.yesterday().unwrap_or(first);
        while date <= last {
            for (s, e) in self.open_on(date) {
                let (s, e) = (s.max(from_ms), e.min(to_ms));
                if s < e {
                    total += e - s;
                }
            }
            match date.tomorrow() {
                Ok(d) => date = d,
                Err(_) => break,
            }
        }
        total / 1000
    }
}

/// The weekday name used in settings (`mon`…`sun`).
pub fn weekday_key(w: Weekday) -> &'static str {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][w.to_monday_zero_offset() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// UTC ms of a civil time in `tz`.
    fn at(tz: &str, civil: &str) -> i64 {
        let dt: jiff::civil::DateTime = civil.parse().expect("civil time");
        zone(tz)
            .expect("zone")
            .to_ambiguous_zoned_datetime(dt)
            .compatible()
            .expect("zoned")
            .timestamp()
            .as_millisecond()
    }

    /// Weekday → intervals, the settings' shape.
    type Hours = BTreeMap<String, Vec<[String; 2]>>;

    fn hours(days: &[(&str, &str, &str)]) -> Hours {
        let mut m: BTreeMap<String, Vec<[String; 2]>> = BTreeMap::new();
        for (d, a, b) in days {
            m.entry(d.to_string())
                .or_default()
                .push([a.to_string(), b.to_string()]);
        }
        m
    }

    /// Mon–Fri 09:00–18:00 in Berlin, Christmas off.
    fn office() -> BusinessCalendar {
        let week: Vec<_> = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| (*d, "09:00", "18:00"))
            .collect();
        BusinessCalendar::new("Europe/Berlin", &hours(&week), &["2026-12-25".into()])
            .expect("calendar")
    }

    /// Every day 00:00–24:00 in Berlin: business time is wall time, so DST days are 23 h / 25 h.
    fn every_day() -> BusinessCalendar {
        let week: Vec<_> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .map(|d| (*d, "00:00", "24:00"))
            .collect();
        BusinessCalendar::new("Europe/Berlin", &hours(&week), &[]).expect("calendar")
    }

    #[test]
    fn due_times_follow_hours_weekends_holidays_and_dst() {
        const B: &str = "Europe/Berlin";
        // (what, calendar, from civil, business seconds, due civil)
        let cases: Vec<(&str, BusinessCalendar, &str, i64, &str)> = vec![
            (
                "inside hours",
                office(),
                "2026-11-30T10:00",
                3600,
                "2026-11-30T11:00",
            ),
            (
                "across closing",
                office(),
                "2026-11-30T17:30",
                3600,
                "2026-12-01T09:30",
            ),
            (
                "friday into monday",
                office(),
                "2026-12-04T17:30",
                3600,
                "2026-12-07T09:30",
            ),
            (
                "from saturday",
                office(),
                "2026-12-05T12:00",
                1800,
                "2026-12-07T09:30",
            ),
            (
                "before opening",
                office(),
                "2026-12-01T06:00",
                60,
                "2026-12-01T09:01",
            ),
            (
                "holiday skipped",
                office(),
                "2026-12-24T17:30",
                3600,
                "2026-12-28T09:30",
            ),
            (
                "zero is next opening",
                office(),
                "2026-12-05T12:00",
                0,
                "2026-12-07T09:00",
            ),
            (
                "exactly at close",
                office(),
                "2026-11-30T09:00",
                9 * 3600,
                "2026-11-30T18:00",
            ),
            // 2026-03-29: clocks go 02:00 → 03:00, the day has 23 hours.
            (
                "spring forward",
                every_day(),
                "2026-03-29T00:00",
                24 * 3600,
                "2026-03-30T01:00",
            ),
            // 2026-10-25: clocks go 03:00 → 02:00, the day has 25 hours.
            (
                "fall back",
                every_day(),
                "2026-10-25T00:00",
                24 * 3600,
                "2026-10-25T23:00",
            ),
            (
                "office week over spring forward",
                office(),
                "2026-03-27T17:00",
                2 * 3600,
                "2026-03-30T10:00",
            ),
        ];
        for (what, cal, from, secs, due) in cases {
            assert_eq!(cal.due(at(B, from), secs), Some(at(B, due)), "{what}");
            assert_eq!(
                cal.elapsed_secs(at(B, from), at(B, due)),
                secs.max(0),
                "{what}: elapsed is the inverse"
            );
        }
    }

    #[test]
    fn an_interval_over_a_skipped_hour_counts_only_the_hour_that_exists() {
        let cal = BusinessCalendar::new("Europe/Berlin", &hours(&[("sun", "02:00", "04:00")]), &[])
            .expect("calendar");
        let day = at("Europe/Berlin", "2026-03-29T00:00");
        let next = at("Europe/Berlin", "2026-03-30T00:00");
        assert_eq!(cal.elapsed_secs(day, next), 3600);
        // On the fall-back day 02:00–04:00 holds three hours of wall time.
        let day = at("Europe/Berlin", "2026-10-25T00:00");
        let next = at("Europe/Berlin", "2026-10-26T00:00");
        assert_eq!(cal.elapsed_secs(day, next), 3 * 3600);
    }

    #[test]
    fn open_or_closed() {
        let cal = office();
        let b = |c| at("Europe/Berlin", c);
        for (civil, open) in [
            ("2026-11-30T08:59", false),
            ("2026-11-30T09:00", true),
            ("2026-11-30T17:59", true),
            ("2026-11-30T18:00", false),
            ("2026-12-05T12:00", false),
            ("2026-12-25T12:00", false),
        ] {
            assert_eq!(cal.is_open(b(civil)), open, "{civil}");
        }
        let night = BusinessCalendar::new("UTC", &hours(&[("mon", "22:00", "24:00")]), &[])
            .expect("calendar");
        assert!(night.is_open(at("UTC", "2026-11-30T23:59")));
        assert!(!night.is_open(at("UTC", "2026-12-01T00:00")));
    }

    #[test]
    fn no_hours_means_open_around_the_clock() {
        let cal = BusinessCalendar::new("Asia/Kolkata", &BTreeMap::new(), &[]).expect("calendar");
        let t = at("Asia/Kolkata", "2026-12-05T03:00");
        assert!(cal.is_open(t));
        assert_eq!(cal.due(t, 90), Some(t + 90_000));
        assert_eq!(cal.elapsed_secs(t, t + 90_000), 90);
    }

    #[test]
    fn a_calendar_that_never_opens_has_no_due_time() {
        // Open only on Christmas day of 2026, and that day is a holiday: never open again.
        let cal = BusinessCalendar::new(
            "UTC",
            &hours(&[("fri", "09:00", "10:00")]),
            &["2026-12-25".into()],
        )
        .expect("calendar");
        assert!(
            cal.due(at("UTC", "2026-12-24T00:00"), 60).is_some(),
            "next friday opens"
        );
        let closed = BusinessCalendar {
            holidays: (0..HORIZON_DAYS + 7)
                .filter_map(|i| {
                    "2026-12-01"
                        .parse::<Date>()
                        .ok()?
                        .checked_add(jiff::Span::new().days(i))
                        .ok()
                })
                .collect(),
            ..cal
        };
        assert_eq!(closed.due(at("UTC", "2026-12-01T00:00"), 60), None);
    }

    #[test]
    fn bad_settings_are_named() {
        let ok = hours(&[("mon", "09:00", "18:00")]);
        let cases: Vec<(&str, Hours, Vec<String>, CalendarError)> = vec![
            (
                "Mars/Olympus",
                ok.clone(),
                vec![],
                CalendarError::UnknownZone("Mars/Olympus".into()),
            ),
            (
                "UTC",
                hours(&[("monday", "09:00", "18:00")]),
                vec![],
                CalendarError::Weekday("monday".into()),
            ),
            (
                "UTC",
                hours(&[("mon", "18:00", "09:00")]),
                vec![],
                CalendarError::Interval("[\"18:00\", \"09:00\"]".into()),
            ),
            (
                "UTC",
                hours(&[("mon", "09:00", "24:30")]),
                vec![],
                CalendarError::Interval("[\"09:00\", \"24:30\"]".into()),
            ),
            (
                "UTC",
                hours(&[("mon", "+9:00", "18:00")]),
                vec![],
                CalendarError::Interval("[\"+9:00\", \"18:00\"]".into()),
            ),
            (
                "UTC",
                ok.clone(),
                vec!["25/12".into()],
                CalendarError::Holiday("25/12".into()),
            ),
        ];
        for (tz, h, hol, want) in cases {
            assert_eq!(
                BusinessCalendar::new(tz, &h, &hol).err(),
                Some(want),
                "{tz} {h:?} {hol:?}"
            );
        }
    }

    #[test]
    fn hhmm() {
        for (s, want) in [
            ("00:00", Some(0)),
            ("09:30", Some(570)),
            ("24:00", Some(1440)),
            ("24:01", None),
            ("23:60", None),
            ("+9:00", None),
            ("9:00", None),
            ("09-00", None),
            ("٠٩:٠٠", None),
        ] {
            assert_eq!(parse_hhmm(s), want, "{s}");
        }
    }
}
