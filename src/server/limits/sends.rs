//! Sends per user, shared by all their sockets: a steady rate with a burst.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Sends per user, shared by all their sockets.
pub struct SendLimiter {
    limiter: DefaultKeyedRateLimiter<i64>,
    clock: DefaultClock,
}

impl SendLimiter {
    /// `count` sends per `period`, as a steady rate with a burst of `count`.
    pub fn new(count: u32, period: Duration) -> SendLimiter {
        let count = NonZeroU32::new(count.max(1)).unwrap_or(NonZeroU32::MIN);
        let per_send = period / count.get();
        let quota = Quota::with_period(per_send.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(count))
            .allow_burst(count);
        SendLimiter {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    pub fn check(&self, user_id: i64) -> Result<(), Duration> {
        self.limiter
            .check_key(&user_id)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_send_limit_allows_a_burst_then_asks_to_wait() {
        let limiter = SendLimiter::new(30, Duration::from_secs(10));
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
