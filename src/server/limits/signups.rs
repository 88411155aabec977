//! Sign-ups: per client address, and in total. Each sign-up costs an
//! argon2 hash (about 19 MiB and tens of milliseconds of a core), so a flood
//! is refused before any hashing: the per-address budget stops one source,
//! the total one keeps a flood from many addresses from taking the cores
//! that logins need.

use std::net::IpAddr;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, RateLimiter};

use super::per_user::{quota, spend};

pub struct SignupRate {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    total: DefaultDirectRateLimiter,
    clock: DefaultClock,
}

impl SignupRate {
    /// `per_address` and `total` are (count, period): a steady rate with a
    /// burst of `count`.
    pub fn new(per_address: (u32, Duration), total: (u32, Duration)) -> SignupRate {
        SignupRate {
            per_address: RateLimiter::keyed(quota(per_address.0, per_address.1)),
            total: RateLimiter::direct(quota(total.0, total.1)),
            clock: DefaultClock::default(),
        }
    }

    /// Spends one sign-up from `ip` (when known) and from the total, or says
    /// how long to wait.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), Duration> {
        if let Some(ip) = ip {
            spend(&self.per_address, &ip, &self.clock)?;
        }
        self.total
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_limited_and_so_is_the_total() {
        let hour = Duration::from_secs(3600);
        let limit = SignupRate::new((2, hour), (3, hour));
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        assert!(limit.check(a).is_ok());
        assert!(limit.check(a).is_ok());
        let wait = limit.check(a).unwrap_err();
        assert!(wait > Duration::ZERO, "{wait:?}");
        assert!(limit.check(b).is_ok(), "another address has its own");
        assert!(limit.check(b).is_err(), "but the total is spent");
    }
}
