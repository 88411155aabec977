//! A rate per user, shared by all their sockets: a steady rate with a
//! burst. Sends have one; the socket's other frames (ping, hello, and
//! frames that do not decode) another.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct UserRate {
    limiter: DefaultKeyedRateLimiter<i64>,
    clock: DefaultClock,
}

impl UserRate {
    /// `count` per `period`, as a steady rate with a burst of `count`.
    pub fn new(count: u32, period: Duration) -> UserRate {
        UserRate {
            limiter: RateLimiter::keyed(quota(count, period)),
            clock: DefaultClock::default(),
        }
    }

    pub fn check(&self, user_id: i64) -> Result<(), Duration> {
        spend(&self.limiter, &user_id, &self.clock)
    }
}

/// Spends one from `key`'s budget, or says how long to wait.
pub(super) fn spend<K: Clone + Eq + std::hash::Hash>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    clock: &DefaultClock,
) -> Result<(), Duration> {
    limiter
        .check_key(key)
        .map_err(|not_until| not_until.wait_time_from(clock.now()))
}

/// `count` per `period`, as a steady rate with a burst of `count`.
pub(super) fn quota(count: u32, period: Duration) -> Quota {
    let count = NonZeroU32::new(count.max(1)).unwrap_or(NonZeroU32::MIN);
    let per_one = period / count.get();
    Quota::with_period(per_one.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(count))
        .allow_burst(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_send_limit_allows_a_burst_then_asks_to_wait() {
        let limiter = UserRate::new(30, Duration::from_secs(10));
        for i in 0..30 {
            assert!(limiter.check(1).is_ok(), "send {i}");
        }
        let wait = limiter.check(1).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(334),
            "{wait:?}"
        );
        assert!(limiter.check(2).is_ok(), "limits are per user");
    }
}
