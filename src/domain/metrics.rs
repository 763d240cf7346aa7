//! Metric definitions shared by reports and the benchmark. Percentiles use the nearest rank on
//! the sorted sample (rounding the fractional index), so every figure is a value that occurred.

/// The `p` quantile (0.0–1.0) of an ascending `sorted` sample; `None` for an empty sample.
/// `p` outside 0–1 is clamped.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    let last = sorted.len().checked_sub(1)?;
    let i = (last as f64 * p.clamp(0.0, 1.0)).round() as usize;
    sorted.get(i.min(last)).copied()
}

#[cfg(test)]
mod tests {
    use super::percentile;

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
