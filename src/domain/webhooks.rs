//! Rules for kept webhook bodies: whose changes a body may carry (authenticity per channel), when
//! a body that failed processing is tried again or set aside, and how long a processed body is
//! kept.

use super::ChannelId;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// How long a processed body is kept after processing, in ms (8 days). Meta retries an
/// unacknowledged delivery for up to 7 days (Meta's "Webhooks" overview, shared/DESIGN.md), so a
/// retry of anything we processed still finds its sha256 and is not kept twice. After that the
/// processed data (messages, statuses) is the durable copy.
pub const RETENTION_MS: i64 = 8 * DAY_MS;

/// Processing attempts before a body is set aside (8: with [`retry_delay_ms`], about two hours
/// of retries — long enough for a transient fault such as a full disk to be fixed).
pub const ATTEMPTS: i64 = 8;

/// What the webhook endpoint does with a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 401, nothing kept: no channel's secret signed it, or it names channels and none of them
    /// signed it.
    Refuse,
    /// Keep and 200; processing acts only on the changes of `verified` channels (empty: a body
    /// signed by some channel that names none we know, or that cannot be read — kept, never
    /// acted on).
    Keep {
        /// Channels named by the body whose app secret signed it, ascending, without repeats.
        verified: Vec<ChannelId>,
    },
}

/// Judges a request: `named` holds, per change of the body, the channels it names (by
/// `metadata.phone_number_id`, or by `entry.id` = WABA id for account-level changes; empty when
/// it names none we know); `signed_by` the channels whose app secret verifies the
/// `X-Hub-Signature-256`. A change counts only under the secret of a channel it names, so a body
/// signed with channel A's secret never speaks for channel B (two channels of one app share the
/// secret and both verify).
pub fn judge(named: &[Vec<ChannelId>], signed_by: &[ChannelId]) -> Verdict {
    if signed_by.is_empty() {
        return Verdict::Refuse;
    }
    let mut known: Vec<ChannelId> = named.iter().flatten().copied().collect();
    known.sort_by_key(|c| c.0);
    known.dedup();
    let verified: Vec<ChannelId> = known
        .iter()
        .copied()
        .filter(|c| signed_by.contains(c))
        .collect();
    if !known.is_empty() && verified.is_empty() {
        return Verdict::Refuse;
    }
    Verdict::Keep { verified }
}

/// What follows a failed processing attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again at this time (ms).
    RetryAt(i64),
    /// Failed for good: set aside (kept, never retried by the sweep, never pruned).
    SetAside,
}

/// Delay before the next attempt after `attempts` failures, in ms: 1 min, doubling, at most 1 h.
pub fn retry_delay_ms(attempts: i64) -> i64 {
    let doublings = attempts.clamp(1, 7) - 1;
    (MINUTE_MS << doublings).min(60 * MINUTE_MS)
}

/// What follows the `attempts`-th failure at time `now` (ms).
pub fn after_failure(attempts: i64, now: i64) -> AfterFailure {
    if attempts >= ATTEMPTS {
        AfterFailure::SetAside
    } else {
        AfterFailure::RetryAt(now + retry_delay_ms(attempts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ChannelId = ChannelId(1);
    const B: ChannelId = ChannelId(2);
    const C: ChannelId = ChannelId(3);

    #[test]
    fn judge_table() {
        let keep = |v: &[ChannelId]| Verdict::Keep {
            verified: v.to_vec(),
        };
        // (changes name, signed by, verdict)
        type Case<'a> = (&'a [&'a [ChannelId]], &'a [ChannelId], Verdict);
        let cases: &[Case] = &[
            (&[&[A]], &[], Verdict::Refuse),
            (&[], &[], Verdict::Refuse),
            (&[&[A]], &[A], keep(&[A])),
            (&[&[B]], &[A], Verdict::Refuse),
            (&[&[A], &[B]], &[A], keep(&[A])),
            (&[&[B], &[A], &[A]], &[A], keep(&[A])),
            // One app, two numbers: the shared secret verifies both.
            (&[&[A], &[B]], &[A, B], keep(&[A, B])),
            // Names nothing we know (or unreadable): kept under any channel's secret, inert.
            (&[], &[A], keep(&[])),
            (&[&[]], &[B], keep(&[])),
            (&[&[], &[B]], &[A], Verdict::Refuse),
            // An account-level change names every channel of its WABA: one of them suffices.
            (&[&[A, B]], &[B], keep(&[B])),
            (&[&[A, B]], &[C], Verdict::Refuse),
        ];
        for (named, signed, want) in cases {
            let named: Vec<Vec<ChannelId>> = named.iter().map(|n| n.to_vec()).collect();
            assert_eq!(
                judge(&named, signed),
                *want,
                "{named:?} signed by {signed:?}"
            );
        }
    }

    #[test]
    fn retries_back_off_then_set_aside() {
        let delays: Vec<i64> = (1..ATTEMPTS).map(retry_delay_ms).collect();
        assert_eq!(
            delays,
            [1, 2, 4, 8, 16, 32, 60].map(|m| m * MINUTE_MS).to_vec()
        );
        assert_eq!(after_failure(1, 1_000), AfterFailure::RetryAt(61_000));
        assert_eq!(
            after_failure(ATTEMPTS - 1, 0),
            AfterFailure::RetryAt(60 * MINUTE_MS)
        );
        assert_eq!(after_failure(ATTEMPTS, 0), AfterFailure::SetAside);
        assert_eq!(after_failure(ATTEMPTS + 5, 0), AfterFailure::SetAside);
        const { assert!(RETENTION_MS > 7 * DAY_MS, "Meta retries for up to 7 days") };
    }
}
