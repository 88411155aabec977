//! Failure counting per key (see `logins` for the keys): at most
//! `max_failures` failures in a sliding `window`; past that every attempt,
//! right password included, is refused until the oldest failure ages out.
//!
//! Why not `governor`: it counts every attempt it is asked about and has no
//! way to ask "is this key locked?" without spending a cell, so it cannot
//! limit only the failures. This is a sliding log, bounded in memory.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Beyond this many tracked keys, idle ones are swept before a new one is added.
const SWEEP_AT: usize = 10_000;

pub struct FailureLimiter {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl FailureLimiter {
    pub fn new(max_failures: usize, window: Duration) -> FailureLimiter {
        FailureLimiter {
            max_failures: max_failures.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// How long `key` must wait, if it is locked out now.
    pub fn locked_for(&self, key: &str, now: Instant) -> Option<Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let log = map.get_mut(key)?;
        prune(log, now, self.window);
        if log.len() < self.max_failures {
            return None;
        }
        let oldest = *log.front()?;
        Some((oldest + self.window).saturating_duration_since(now))
    }

    pub fn record_failure(&self, key: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= SWEEP_AT && !map.contains_key(key) {
            map.retain(|_, log| {
                prune(log, now, self.window);
                !log.is_empty()
            });
        }
        let log = map.entry(key.to_string()).or_default();
        prune(log, now, self.window);
        log.push_back(now);
        // Only the newest `max_failures` matter for the lockout.
        while log.len() > self.max_failures {
            log.pop_front();
        }
    }

    /// Past `free` failures of `key` in the window: how long until the next
    /// attempt, 1 s after the newest failure and doubling with each failure
    /// beyond `free`, at most `cap`. A slowdown, never a lockout.
    pub fn backoff(&self, key: &str, now: Instant, free: usize, cap: Duration) -> Option<Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let log = map.get_mut(key)?;
        prune(log, now, self.window);
        if log.len() < free {
            return None;
        }
        let doublings = (log.len() - free).min(16) as u32;
        let delay = Duration::from_secs(1u64 << doublings).min(cap);
        let wait = (*log.back()? + delay).saturating_duration_since(now);
        (!wait.is_zero()).then_some(wait)
    }

    pub fn clear(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(key);
    }
}

fn prune(log: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while log
        .front()
        .is_some_and(|t| now.saturating_duration_since(*t) >= window)
    {
        log.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_allowed_failures_and_unlocks_when_they_age_out() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(limiter.locked_for("k", t0), None, "attempt {i}");
            limiter.record_failure("k", t0 + Duration::from_secs(i));
        }
        let wait = limiter
            .locked_for("k", t0 + Duration::from_secs(10))
            .unwrap();
        assert_eq!(wait, Duration::from_secs(50));
        assert_eq!(limiter.locked_for("other", t0), None);
        // The first failure ages out at t0 + 60 s: one attempt is free again.
        assert_eq!(limiter.locked_for("k", t0 + Duration::from_secs(60)), None);
    }

    #[test]
    fn clear_forgets_a_key() {
        let limiter = FailureLimiter::new(1, Duration::from_secs(60));
        let now = Instant::now();
        limiter.record_failure("k", now);
        assert!(limiter.locked_for("k", now).is_some());
        limiter.clear("k");
        assert!(limiter.locked_for("k", now).is_none());
    }

    #[test]
    fn memory_stays_bounded_under_many_keys() {
        let limiter = FailureLimiter::new(5, Duration::from_millis(1));
        let start = Instant::now();
        for i in 0..(SWEEP_AT * 3) {
            limiter.record_failure(&format!("ip:{i}"), start + Duration::from_millis(i as u64));
        }
        let len = limiter.failures.lock().unwrap().len();
        assert!(len <= SWEEP_AT + 1, "{len} keys kept");
    }
}
