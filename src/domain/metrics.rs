//! Metric definitions shared by reports and the benchmark. Percentiles use the nearest rank on
//! the sorted sample (rounding the fractional index), so every figure is a value that occurred.

use serde::Serialize;

use crate::domain::calendar::BusinessCalendar;
use crate::domain::settings::Settings;

/// Count, median, mean and 90th percentile of a sample of durations in seconds; all `null`
/// but `count` for an empty sample. Shape of `first_response_secs` and its siblings in
/// `shared/API.md` ("reports summary").
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    /// Sample size.
    pub count: usize,
    /// Nearest-rank median (a value that occurred).
    pub median: Option<i64>,
    /// Arithmetic mean, rounded to 0.1 s.
    pub mean: Option<f64>,
    /// Nearest-rank 90th percentile.
    pub p90: Option<i64>,
}

impl Stats {
    /// The figures of `sample` (any order).
    pub fn of(mut sample: Vec<i64>) -> Stats {
        sample.sort_unstable();
        let mean = (!sample.is_empty()).then(|| {
            let sum: i128 = sample.iter().map(|v| i128::from(*v)).sum();
            (sum as f64 / sample.len() as f64 * 10.0).round() / 10.0
        });
        Stats {
            count: sample.len(),
            median: percentile(&sample, 0.5),
            mean,
            p90: percentile(&sample, 0.9),
        }
    }
}

/// `part / whole` as a 0..1 ratio rounded to 4 decimals; `None` when `whole` is 0.
pub fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

/// Mean of small integer scores (CSAT 1-5) rounded to 2 decimals; `None` when empty.
pub fn mean_score(scores: &[i64]) -> Option<f64> {
    (!scores.is_empty()).then(|| {
        let sum: i64 = scores.iter().sum();
        (sum as f64 / scores.len() as f64 * 100.0).round() / 100.0
    })
}

/// The `p` quantile (0.0–1.0) of an ascending `sorted` sample; `None` for an empty sample.
/// `p` outside 0–1 is clamped.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    let last = sorted.len().checked_sub(1)?;
    let i = (last as f64 * p.clamp(0.0, 1.0)).round() as usize;
    sorted.get(i.min(last)).copied()
}

/// The calendar reports count business hours in: the settings' `business_hours`, `holidays` and
/// `timezone`; `None` when no weekday has hours (the reports then have no business-hours
/// figures) or the settings do not make a calendar. The summary and the per-cycle figures
/// stored for it (`store::cycles::update_business_secs`) both take it from here.
pub fn report_calendar(s: &Settings) -> Option<BusinessCalendar> {
    if s.business_hours.values().any(|d| !d.is_empty()) {
        BusinessCalendar::new(&s.timezone, &s.business_hours, &s.holidays).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{Stats, mean_score, percentile, ratio};

    #[test]
    fn stats_of_a_sample() {
        let s = Stats::of(vec![300, 60, 120, 30]);
        assert_eq!(
            (s.count, s.median, s.mean, s.p90),
            (4, Some(120), Some(127.5), Some(300))
        );
        let empty = Stats::of(vec![]);
        assert_eq!(
            (empty.count, empty.median, empty.mean, empty.p90),
            (0, None, None, None)
        );
        assert_eq!(Stats::of(vec![1, 2]).mean, Some(1.5));
    }

    #[test]
    fn ratios_and_means() {
        assert_eq!(ratio(2, 3), Some(0.6667));
        assert_eq!(ratio(0, 0), None);
        assert_eq!(ratio(3, 3), Some(1.0));
        assert_eq!(mean_score(&[5, 4, 4]), Some(4.33));
        assert_eq!(mean_score(&[]), None);
    }

    #[test]
    fn nearest_rank_over_the_sorted_sample() {
        let cases: &[(&[i64], f64, Option<i64>)] = &[
            (&[], 0.5, None),
            (&[7], 0.0, Some(7)),
            (&[7], 1.0, Some(7)),
            (&[1, 2, 3, 4, 5], 0.5, Some(3)),
            (&[1, 2, 3, 4, 5], 0.9, Some(5)),
            (&[1, 2, 3, 4], 0.5, Some(3)),
            (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, Some(9)),
            (&[1, 2, 3], 2.0, Some(3)),
            (&[1, 2, 3], -1.0, Some(1)),
        ];
        for (sample, p, want) in cases {
            assert_eq!(percentile(sample, *p), *want, "p{p} of {sample:?}");
        }
    }
}
