//! Failed logins: brute force kept out without letting a stranger lock
//! someone out (OWASP: guard against lockout as denial of service). Three
//! counts, each in memory on this node:
//!
//! - per (account, address): 5 failures in a minute lock that pair, right
//!   password included. This stops guessing one account from one place,
//!   and locks nobody else: the owner at home and a colleague behind the
//!   same office NAT are other pairs.
//! - per address: 20 failures in a minute, over any accounts, lock the
//!   address (credential stuffing), except for accounts that have logged
//!   in from it before: the office's own people still get in.
//! - per account: past 5 failures in 15 minutes from anywhere, an address
//!   the account has never logged in from waits 1 s, then 2, 4, … up to
//!   60 s after the latest failure (guessing spread over many addresses is
//!   slowed, never stopped outright); the owner's usual addresses do not
//!   wait.
//!
//! "Has logged in from" is remembered per node and forgotten at restart or
//! when the memory bound is reached; until then an owner is treated like
//! anyone else (slowed, never locked).

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::failures::FailureLimiter;

const PAIR_FAILURES: usize = 5;
const PAIR_WINDOW: Duration = Duration::from_secs(60);
const ADDRESS_FAILURES: usize = 20;
const ADDRESS_WINDOW: Duration = Duration::from_secs(60);
/// Failures of one account, from anywhere, before other addresses wait.
const ACCOUNT_FREE: usize = 5;
/// Enough entries that the wait reaches its cap (2^6 s > 60 s).
const ACCOUNT_KEPT: usize = ACCOUNT_FREE + 7;
const ACCOUNT_WINDOW: Duration = Duration::from_secs(15 * 60);
const ACCOUNT_MAX_WAIT: Duration = Duration::from_secs(60);
/// Remembered (account, address) pairs with a successful login; past this
/// the set starts over rather than grow.
const KNOWN_PAIRS: usize = 100_000;

pub struct LoginGuard {
    pairs: FailureLimiter,
    addresses: FailureLimiter,
    accounts: FailureLimiter,
    known: Mutex<HashSet<(String, IpAddr)>>,
}

impl Default for LoginGuard {
    fn default() -> LoginGuard {
        LoginGuard {
            pairs: FailureLimiter::new(PAIR_FAILURES, PAIR_WINDOW),
            addresses: FailureLimiter::new(ADDRESS_FAILURES, ADDRESS_WINDOW),
            accounts: FailureLimiter::new(ACCOUNT_KEPT, ACCOUNT_WINDOW),
            known: Mutex::new(HashSet::new()),
        }
    }
}

impl LoginGuard {
    /// How long a login attempt for `email` (normalised) from `ip` must
    /// wait, if it may not be tried now.
    pub fn wait_for(&self, email: &str, ip: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let known = ip.is_some_and(|ip| self.is_known(email, ip));
        let pair = ip.and_then(|ip| self.pairs.locked_for(&pair_key(email, ip), now));
        let address = match ip {
            Some(ip) if !known => self.addresses.locked_for(&address_key(ip), now),
            _ => None,
        };
        let account = if known {
            None
        } else {
            self.accounts
                .backoff(&account_key(email), now, ACCOUNT_FREE, ACCOUNT_MAX_WAIT)
        };
        [pair, address, account].into_iter().flatten().max()
    }

    /// A wrong password for `email` from `ip`.
    pub fn failed(&self, email: &str, ip: Option<IpAddr>, now: Instant) {
        if let Some(ip) = ip {
            self.pairs.record_failure(&pair_key(email, ip), now);
            self.addresses.record_failure(&address_key(ip), now);
        }
        self.accounts.record_failure(&account_key(email), now);
    }

    /// The right password for `email` from `ip`: that pair starts over and
    /// the address becomes one of the account's usual ones.
    pub fn succeeded(&self, email: &str, ip: Option<IpAddr>) {
        let Some(ip) = ip else {
            return;
        };
        self.pairs.clear(&pair_key(email, ip));
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= KNOWN_PAIRS {
            known.clear();
        }
        known.insert((email.to_string(), ip));
    }

    fn is_known(&self, email: &str, ip: IpAddr) -> bool {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.contains(&(email.to_string(), ip))
    }
}

fn pair_key(email: &str, ip: IpAddr) -> String {
    format!("{email}|{ip}")
}

fn address_key(ip: IpAddr) -> String {
    ip.to_string()
}

fn account_key(email: &str) -> String {
    email.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn a_stranger_locks_only_their_own_pair() {
        let guard = LoginGuard::default();
        let t = Instant::now();
        guard.succeeded("ada@x.io", ip(1)); // Ada's usual address
        for _ in 0..PAIR_FAILURES {
            assert_eq!(guard.wait_for("ada@x.io", ip(9), t), None);
            guard.failed("ada@x.io", ip(9), t);
        }
        assert!(
            guard.wait_for("ada@x.io", ip(9), t).is_some(),
            "the stranger"
        );
        assert_eq!(guard.wait_for("ada@x.io", ip(1), t), None, "Ada at home");
        assert_eq!(
            guard.wait_for("bo@x.io", ip(9), t),
            None,
            "Bo behind the same NAT"
        );
    }

    #[test]
    fn many_accounts_from_one_address_lock_it_except_for_its_own_people() {
        let guard = LoginGuard::default();
        let t = Instant::now();
        guard.succeeded("bo@x.io", ip(9));
        for i in 0..ADDRESS_FAILURES {
            guard.failed(&format!("guess{i}@x.io"), ip(9), t);
        }
        assert!(guard.wait_for("new@x.io", ip(9), t).is_some());
        assert_eq!(guard.wait_for("bo@x.io", ip(9), t), None);
        assert_eq!(guard.wait_for("new@x.io", ip(8), t), None);
    }

    #[test]
    fn guessing_from_many_addresses_is_slowed_progressively() {
        let guard = LoginGuard::default();
        let t = Instant::now();
        guard.succeeded("ada@x.io", ip(1));
        for i in 0..ACCOUNT_FREE as u8 {
            assert_eq!(guard.wait_for("ada@x.io", ip(100 + i), t), None);
            guard.failed("ada@x.io", ip(100 + i), t);
        }
        let first = guard.wait_for("ada@x.io", ip(200), t).expect("slowed");
        assert_eq!(first, Duration::from_secs(1));
        guard.failed("ada@x.io", ip(201), t);
        let second = guard.wait_for("ada@x.io", ip(200), t).expect("slowed");
        assert_eq!(second, Duration::from_secs(2));
        for i in 0..10 {
            guard.failed("ada@x.io", ip(210 + i), t);
        }
        assert_eq!(
            guard.wait_for("ada@x.io", ip(200), t),
            Some(ACCOUNT_MAX_WAIT)
        );
        assert_eq!(
            guard.wait_for("ada@x.io", ip(200), t + ACCOUNT_MAX_WAIT),
            None,
            "a wait, not a lockout"
        );
        assert_eq!(guard.wait_for("ada@x.io", ip(1), t), None, "the owner");
    }
}
