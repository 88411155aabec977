//! Password resets: requests per email and per client address, and reset
//! attempts per client address. A request sends an email, so the per-email
//! budget keeps anyone from flooding a mailbox; the per-address one keeps
//! one source from trying many addresses or many tokens.

use std::net::IpAddr;
use std::time::Duration;

use governor::clock::DefaultClock;
use governor::{DefaultKeyedRateLimiter, RateLimiter};

use super::per_user::{quota, spend};

pub struct ResetRate {
    per_email: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl ResetRate {
    /// `per_email` and `per_address` are (count, period): a steady rate
    /// with a burst of `count`.
    pub fn new(per_email: (u32, Duration), per_address: (u32, Duration)) -> ResetRate {
        ResetRate {
            per_email: RateLimiter::keyed(quota(per_email.0, per_email.1)),
            per_address: RateLimiter::keyed(quota(per_address.0, per_address.1)),
            clock: DefaultClock::default(),
        }
    }

    /// Spends one try from `ip` (when known) or says how long to wait.
    pub fn check_address(&self, ip: Option<IpAddr>) -> Result<(), Duration> {
        match ip {
            Some(ip) => spend(&self.per_address, &ip, &self.clock),
            None => Ok(()),
        }
    }

    /// Spends one request for `email` (normalised by the caller).
    pub fn check_email(&self, email: &str) -> Result<(), Duration> {
        spend(&self.per_email, &email.to_string(), &self.clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_and_an_address_each_have_a_budget() {
        let hour = Duration::from_secs(3600);
        let limit = ResetRate::new((2, hour), (3, hour));
        assert!(limit.check_email("a@x.org").is_ok());
        assert!(limit.check_email("a@x.org").is_ok());
        assert!(limit.check_email("a@x.org").is_err());
        assert!(
            limit.check_email("b@x.org").is_ok(),
            "another email has its own"
        );
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..3 {
            assert!(limit.check_address(ip).is_ok());
        }
        assert!(limit.check_address(ip).is_err());
        assert!(limit
            .check_address(Some(IpAddr::from([10, 0, 0, 2])))
            .is_ok());
    }
}
