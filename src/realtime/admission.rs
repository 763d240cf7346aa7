//! Who has event streams open, and the caps on them: a per-user cap (429 beyond it) and a total
//! cap, so neither one runaway client nor many users together can use up the process's file
//! descriptors (each open stream holds one socket). Check and count happen under one lock, so the
//! count is exact under concurrency; the slot is released by a guard that the stream's response
//! holds, so a stream that ends for any reason (client gone, error, server stopping) frees it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::domain::time::now_ms;

/// Default per-user cap: two browsers' worth of HTTP/1.1 connections (browsers open at most 6
/// per host), enough for a phone and a desk computer with several tabs.
pub const DEFAULT_PER_USER: usize = 12;
/// Default cap over all users (a shop has 2–20 staff).
pub const DEFAULT_TOTAL: usize = 512;
/// Descriptors left for everything but event streams (database files, listeners, outbound
/// connections) when the total cap is fitted to the open-files limit ([`StreamLimits::fitted`]).
pub const RESERVED_FDS: u64 = 128;
/// What a refused client is told to wait (`Retry-After`, seconds): a closed stream's slot is
/// free again within about a second.
pub const RETRY_AFTER_SECS: u64 = 5;

/// How many event streams may be open at once, and how often an idle one shows it is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Per user, over all their tokens and browser sessions (at least 1).
    pub per_user: usize,
    /// Over the whole server (at least 1).
    pub total: usize,
    /// How often every stream gets a keep-alive comment and a `ping` event
    /// ([`super::KEEPALIVE`] unless a test shortens it; not configurable by flag or file).
    pub keepalive: std::time::Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            per_user: DEFAULT_PER_USER,
            total: DEFAULT_TOTAL,
            keepalive: super::KEEPALIVE,
        }
    }
}

impl StreamLimits {
    /// These limits with `total` lowered, when needed, so that streams use at most half of the
    /// descriptors left after [`RESERVED_FDS`] under an open-files limit of `open_files`: the
    /// other half stays for ordinary requests (a browser with a stream open also has one or two
    /// plain connections).
    pub fn fitted(self, open_files: u64) -> StreamLimits {
        let room =
            usize::try_from(open_files.saturating_sub(RESERVED_FDS) / 2).unwrap_or(usize::MAX);
        StreamLimits {
            per_user: self.per_user.max(1),
            total: self.total.min(room).max(1),
            ..self
        }
    }
}

/// Why a stream was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The user has `limit` streams open already.
    User {
        /// The per-user cap.
        limit: usize,
    },
    /// The server has `limit` streams open already.
    Total {
        /// The total cap.
        limit: usize,
    },
}

/// A user's open streams, and when their last one closed (unix ms).
#[derive(Debug, Clone, Copy, Default)]
struct Presence {
    open: usize,
    last_closed_at: i64,
}

#[derive(Debug, Default)]
struct Table {
    users: HashMap<i64, Presence>,
    open: usize,
}

/// The count of open streams, shared by every clone of the hub.
#[derive(Clone, Default)]
pub(super) struct Streams(Arc<Mutex<Table>>);

impl Streams {
    // A panic elsewhere while holding the lock leaves the counts as they were: still exact.
    fn table(&self) -> MutexGuard<'_, Table> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a new stream of `user` unless a cap is reached.
    pub(super) fn admit(&self, user: i64, limits: StreamLimits) -> Result<Admission, Refused> {
        let mut t = self.table();
        if t.open >= limits.total {
            return Err(Refused::Total {
                limit: limits.total,
            });
        }
        let p = t.users.entry(user).or_default();
        if p.open >= limits.per_user {
            return Err(Refused::User {
                limit: limits.per_user,
            });
        }
        p.open += 1;
        t.open += 1;
        Ok(Admission {
            streams: self.clone(),
            user,
        })
    }

    /// Since when `user` has had no open stream (`None`: one is open now; `Some(started_at)`
    /// when they never had one in this process).
    pub(super) fn away_since(&self, user: i64, started_at: i64) -> Option<i64> {
        match self.table().users.get(&user) {
            Some(p) if p.open > 0 => None,
            Some(p) => Some(p.last_closed_at.max(started_at)),
            None => Some(started_at),
        }
    }

    /// Open streams: of `user`, and in all.
    pub(super) fn open(&self, user: i64) -> (usize, usize) {
        let t = self.table();
        (t.users.get(&user).map_or(0, |p| p.open), t.open)
    }
}

/// One admitted stream: holds its slot until dropped.
pub struct Admission {
    streams: Streams,
    user: i64,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut t = self.streams.table();
        t.open = t.open.saturating_sub(1);
        let p = t.users.entry(self.user).or_default();
        p.open = p.open.saturating_sub(1);
        p.last_closed_at = now_ms();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_user_and_in_total_and_guards_release() {
        let s = Streams::default();
        let limits = StreamLimits {
            per_user: 2,
            total: 3,
            ..StreamLimits::default()
        };
        let a1 = s.admit(1, limits).expect("first");
        let a2 = s.admit(1, limits).expect("second");
        assert_eq!(s.admit(1, limits).err(), Some(Refused::User { limit: 2 }));
        let b1 = s.admit(2, limits).expect("another user");
        assert_eq!(s.admit(3, limits).err(), Some(Refused::Total { limit: 3 }));
        assert_eq!(s.open(1), (2, 3));
        drop(a1);
        assert_eq!(s.open(1), (1, 2));
        let a3 = s.admit(1, limits).expect("a slot came back");
        drop((a2, a3, b1));
        assert_eq!(s.open(1), (0, 0));
        assert!(s.away_since(1, 0).is_some());
    }

    #[test]
    fn exact_under_concurrency() {
        let s = Streams::default();
        let limits = StreamLimits {
            per_user: 5,
            total: 100,
            ..StreamLimits::default()
        };
        let admitted = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|_| scope.spawn(|| s.admit(7, limits).ok()))
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().expect("thread"))
                .collect::<Vec<_>>()
        });
        assert_eq!(admitted.len(), 5);
        assert_eq!(s.open(7), (5, 5));
        drop(admitted);
        assert_eq!(s.open(7), (0, 0));
    }

    #[test]
    fn total_fits_the_open_files_limit() {
        let d = StreamLimits::default();
        // (open-files limit, total after fitting)
        let table = [
            (1_024, 448),
            (20_000, DEFAULT_TOTAL),
            (256, 64),
            (100, 1),
            (u64::MAX, DEFAULT_TOTAL),
        ];
        for (limit, total) in table {
            assert_eq!(d.fitted(limit).total, total, "limit {limit}");
            assert_eq!(d.fitted(limit).per_user, DEFAULT_PER_USER);
        }
        let zero = StreamLimits {
            per_user: 0,
            total: 0,
            ..StreamLimits::default()
        };
        assert_eq!(
            zero.fitted(1_024),
            StreamLimits {
                per_user: 1,
                total: 1,
                ..StreamLimits::default()
            }
        );
    }
}
