//! Login throttling: after 5 failed attempts for an account, or 20 from one address, within 15
//! minutes, further attempts are refused (even with the right password) until the window passes.

use std::collections::{HashMap, VecDeque};

/// The window failures are counted in.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failures allowed per account within the window.
pub const ACCOUNT_LIMIT: usize = 5;
/// Failures allowed per address within the window.
pub const ADDRESS_LIMIT: usize = 20;
/// Keys kept at most, so that a flood of made-up accounts cannot grow memory without bound.
const MAX_KEYS: usize = 100_000;

/// Failure times per account and per address.
#[derive(Debug, Default)]
pub struct Throttle {
    accounts: HashMap<String, VecDeque<i64>>,
    addresses: HashMap<String, VecDeque<i64>>,
}

fn prune(q: &mut VecDeque<i64>, now: i64) {
    while q.front().is_some_and(|t| *t <= now - WINDOW_MS) {
        q.pop_front();
    }
}

/// Seconds until fewer than `limit` failures remain in the window, if at the limit.
fn wait(
    map: &mut HashMap<String, VecDeque<i64>>,
    key: &str,
    limit: usize,
    now: i64,
) -> Option<u64> {
    let q = map.get_mut(key)?;
    prune(q, now);
    if q.len() < limit {
        return None;
    }
    let frees_at = q[q.len() - limit] + WINDOW_MS;
    Some(((frees_at - now).max(1000) as u64).div_ceil(1000))
}

fn record(map: &mut HashMap<String, VecDeque<i64>>, key: &str, now: i64) {
    if map.len() >= MAX_KEYS {
        map.retain(|_, q| {
            prune(q, now);
            !q.is_empty()
        });
        if map.len() >= MAX_KEYS {
            map.clear();
        }
    }
    let q = map.entry(key.to_string()).or_default();
    q.push_back(now);
    if q.len() > ADDRESS_LIMIT * 2 {
        q.pop_front();
    }
}

impl Throttle {
    /// `Some(seconds)` to wait if this account or address is locked out now.
    pub fn check(&mut self, account: &str, address: &str, now: i64) -> Option<u64> {
        let a = wait(
            &mut self.accounts,
            &account.to_lowercase(),
            ACCOUNT_LIMIT,
            now,
        );
        let b = wait(&mut self.addresses, address, ADDRESS_LIMIT, now);
        a.max(b)
    }

    /// Counts a failed attempt.
    pub fn failed(&mut self, account: &str, address: &str, now: i64) {
        record(&mut self.accounts, &account.to_lowercase(), now);
        record(&mut self.addresses, address, now);
    }

    /// A successful login clears the account's failures.
    pub fn succeeded(&mut self, account: &str) {
        self.accounts.remove(&account.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_locks_after_five_failures_and_frees_after_window() {
        let mut t = Throttle::default();
        for i in 0..5 {
            assert_eq!(t.check("Ana@x.io", "1.1.1.1", i), None);
            t.failed("ana@x.io", "1.1.1.1", i);
        }
        let wait = t.check("ana@x.io", "2.2.2.2", 10).expect("locked");
        assert_eq!(wait, 900);
        assert_eq!(t.check("ana@x.io", "1.1.1.1", WINDOW_MS + 1), None);
        assert_eq!(t.check("bruno@x.io", "2.2.2.2", 10), None);
    }

    #[test]
    fn address_locks_after_twenty_failures() {
        let mut t = Throttle::default();
        for i in 0..20 {
            t.failed(&format!("user{i}@x.io"), "9.9.9.9", 0);
        }
        assert!(t.check("new@x.io", "9.9.9.9", 1).is_some());
        assert!(t.check("new@x.io", "8.8.8.8", 1).is_none());
    }
}
