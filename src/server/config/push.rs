//! The Web Push settings. Push needs no outside account: the VAPID key
//! pair is derived from the master key (`crypto::VapidKey`), so it is on
//! from the first start and the same on every node.

use super::{flag, number, ConfigError};

#[derive(Debug, Clone)]
pub struct PushSettings {
    /// GLASSCHAT_PUSH_GRACE_SECS (10): how long a message waits, unread and
    /// with no tab of its person in use, before it is pushed.
    pub grace_secs: u64,
    /// GLASSCHAT_PUSH_CHECK_MS (1000): how often each node looks for due
    /// pushes and for read conversations whose notification must go.
    pub check_ms: u64,
    /// GLASSCHAT_PUSH_LEASE_SECS (60): a node that took due pushes and did
    /// not finish them within this long is taken to be dead, and another
    /// takes them again (longer than a pass can take: each push waits at
    /// most 10 s for its push service).
    pub lease_secs: u64,
    /// GLASSCHAT_PUSH_TEST_ENDPOINTS: accept push endpoints on this host's
    /// loopback over plain http (the tests' local receiver). Never in
    /// production: a warning is logged at start.
    pub loopback_endpoints: bool,
}

pub(super) fn push(lookup: &impl Fn(&str) -> Option<String>) -> Result<PushSettings, ConfigError> {
    Ok(PushSettings {
        grace_secs: number(lookup, "GLASSCHAT_PUSH_GRACE_SECS", 10u64)?,
        check_ms: number(lookup, "GLASSCHAT_PUSH_CHECK_MS", 1000u64)?,
        lease_secs: number(lookup, "GLASSCHAT_PUSH_LEASE_SECS", 60u64)?,
        loopback_endpoints: flag(lookup, "GLASSCHAT_PUSH_TEST_ENDPOINTS")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bad_values() {
        let none = |_: &str| None;
        let settings = push(&none).unwrap();
        assert_eq!((settings.grace_secs, settings.check_ms), (10, 1000));
        assert!(!settings.loopback_endpoints);

        let bad = |name: &str| (name == "GLASSCHAT_PUSH_GRACE_SECS").then(|| "soon".to_string());
        let err = push(&bad).unwrap_err().to_string();
        assert!(err.contains("GLASSCHAT_PUSH_GRACE_SECS"), "{err}");

        let test = |name: &str| (name == "GLASSCHAT_PUSH_TEST_ENDPOINTS").then(|| "1".to_string());
        assert!(push(&test).unwrap().loopback_endpoints);
    }
}
