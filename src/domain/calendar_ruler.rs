//! Business time of many intervals over one stretch of days (a report's staff replies): the
//! calendar's open windows over the stretch worked out once, with running totals, so that each
//! interval costs two binary searches instead of the time-zone conversions of
//! [`BusinessCalendar::elapsed_secs`] — the same figure, to the second.

use super::calendar::BusinessCalendar;

/// The open windows of a [`BusinessCalendar`] between two instants, with the business time
/// before each (UTC ms).
#[derive(Debug, Clone)]
pub struct BusinessRuler<'a> {
    calendar: &'a BusinessCalendar,
    /// Instants this ruler answers for on its own: `[from, to]`.
    covers: (i64, i64),
    /// Open windows `[start, end)`, in order, not overlapping.
    windows: Vec<(i64, i64)>,
    /// Business ms before each window starts.
    before: Vec<i64>,
}

impl<'a> BusinessRuler<'a> {
    /// A ruler for intervals with both ends in `[from_ms, to_ms]`; other intervals are passed
    /// to [`BusinessCalendar::elapsed_secs`]. At most `max_days` civil days are laid out (a
    /// longer stretch gets a ruler that covers nothing and passes every interval on).
    pub fn new(calendar: &'a BusinessCalendar, from_ms: i64, to_ms: i64, max_days: usize) -> Self {
        let mut ruler = BusinessRuler {
            calendar,
            covers: (1, 0),
            windows: Vec::new(),
            before: Vec::new(),
        };
        if calendar.is_always_open() || to_ms < from_ms {
            return ruler;
        }
        let (Some(first), Some(last)) = (calendar.civil_date(from_ms), calendar.civil_date(to_ms))
        else {
            return ruler;
        };
        // As `elapsed_secs`: a window of the day before may run past midnight into the first.
        let mut date = first.yesterday().unwrap_or(first);
        let mut days = 0;
        while date <= last {
            days += 1;
            if days > max_days + 1 {
                ruler.windows.clear();
                return ruler;
            }
            ruler.windows.extend(calendar.open_on(date));
            match date.tomorrow() {
                Ok(d) => date = d,
                Err(_) => break,
            }
        }
        let mut total = 0;
        let mut end = i64::MIN;
        for &(s, e) in &ruler.windows {
            if s < end {
                // Overlapping windows (a DST edge case): let the calendar count.
                ruler.windows.clear();
                ruler.before.clear();
                return ruler;
            }
            ruler.before.push(total);
            total += e - s;
            end = e;
        }
        ruler.covers = (from_ms, to_ms);
        ruler
    }

    /// Business ms before `t`, counted from this ruler's first window.
    fn before(&self, t: i64) -> i64 {
        // Windows that start before `t`: all of the ones before the last, part of the last.
        let k = self.windows.partition_point(|w| w.0 < t);
        if k == 0 {
            return 0;
        }
        let (s, e) = self.windows[k - 1];
        self.before[k - 1] + (t.min(e) - s)
    }

    /// Business seconds (whole, rounded down) between `from_ms` and `to_ms`, as
    /// [`BusinessCalendar::elapsed_secs`].
    pub fn elapsed_secs(&self, from_ms: i64, to_ms: i64) -> i64 {
        if to_ms <= from_ms {
            return 0;
        }
        let (lo, hi) = self.covers;
        if from_ms < lo || to_ms > hi {
            return self.calendar.elapsed_secs(from_ms, to_ms);
        }
        (self.before(to_ms) - self.before(from_ms)) / 1000
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const MIN: i64 = 60_000;
    const DAY: i64 = 1440 * MIN;

    fn calendar(tz: &str, days: &[(&str, &str, &str)], holidays: &[&str]) -> BusinessCalendar {
        let mut week: BTreeMap<String, Vec<[String; 2]>> = BTreeMap::new();
        for (d, a, b) in days {
            week.entry(d.to_string())
                .or_default()
                .push([a.to_string(), b.to_string()]);
        }
        let holidays: Vec<String> = holidays.iter().map(|h| h.to_string()).collect();
        BusinessCalendar::new(tz, &week, &holidays).expect("calendar")
    }

    /// The ruler agrees with the calendar on every interval of a grid over weeks that hold both
    /// DST changes of their zone, a holiday, a weekend, split days and days open to midnight —
    /// inside the ruler's stretch, across its edges and outside it.
    #[test]
    fn the_ruler_counts_as_the_calendar_does() {
        let weekdays = ["mon", "tue", "wed", "thu", "fri"];
        let office: Vec<_> = weekdays.iter().map(|d| (*d, "09:00", "18:00")).collect();
        let split: Vec<_> = weekdays
            .iter()
            .flat_map(|d| [(*d, "08:00", "12:30"), (*d, "14:00", "24:00")])
            .chain([("sat", "00:00", "02:30"), ("sun", "22:00", "24:00")])
            .collect();
        let cases = [
            // (zone, hours, holidays, a UTC instant inside the stretch to lay out)
            (
                "Europe/Berlin",
                office.clone(),
                vec!["2026-03-30"],
                "2026-03-24T00:00:00Z",
            ),
            (
                "Europe/Berlin",
                split.clone(),
                vec![],
                "2026-10-20T00:00:00Z",
            ),
            (
                "America/New_York",
                split,
                vec!["2026-11-03"],
                "2026-10-28T00:00:00Z",
            ),
            (
                "America/New_York",
                office.clone(),
                vec![],
                "2026-03-03T00:00:00Z",
            ),
            (
                "Asia/Kolkata",
                office.clone(),
                vec!["2026-01-26"],
                "2026-01-20T00:00:00Z",
            ),
            (
                "Australia/Lord_Howe",
                office,
                vec![],
                "2026-03-30T00:00:00Z",
            ),
        ];
        for (tz, hours, holidays, start) in cases {
            let cal = calendar(tz, &hours, &holidays);
            let start: jiff::Timestamp = start.parse().expect("instant");
            let from = start.as_millisecond();
            let to = from + 14 * DAY;
            let ruler = BusinessRuler::new(&cal, from, to, 400);
            assert!(!ruler.windows.is_empty(), "{tz}: laid out");
            let mut checked = 0;
            // Every 97 minutes from two days before the stretch to two days after, against
            // intervals of 0 min to 9 days.
            let mut a = from - 2 * DAY;
            while a < to + 2 * DAY {
                for len in [
                    0,
                    1,
                    7 * MIN + 13_000,
                    95 * MIN,
                    10 * 60 * MIN,
                    DAY + 1,
                    9 * DAY,
                ] {
                    let b = a + len;
                    assert_eq!(
                        ruler.elapsed_secs(a, b),
                        cal.elapsed_secs(a, b),
                        "{tz}: {a} to {b}"
                    );
                    checked += 1;
                }
                a += 97 * MIN;
            }
            assert!(checked > 1000, "{tz}: {checked} intervals");
        }
    }

    #[test]
    fn a_stretch_longer_than_allowed_passes_every_interval_on() {
        let cal = calendar("UTC", &[("mon", "09:00", "17:00")], &[]);
        let ruler = BusinessRuler::new(&cal, 0, 30 * DAY, 10);
        assert!(ruler.windows.is_empty());
        // 1970-01-05 was a Monday.
        let monday = 4 * DAY;
        assert_eq!(ruler.elapsed_secs(monday, monday + DAY), 8 * 3600);
    }
}
