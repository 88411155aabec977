//! How often the retention job looks for messages past their retention
//! (how many days is set by admins on the admin page, in the database).

use super::{number, ConfigError};

#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// GLASSCHAT_RETENTION_CHECK_SECS (3600): how often a node runs the
    /// retention pass (of several nodes, one at a time does).
    pub check_secs: u64,
    /// GLASSCHAT_RETENTION_LEASE_SECS (600): a node that took the pass and
    /// did not give it back within this long is taken to be dead, and
    /// another may run it (two passes at once are harmless: a step finds
    /// nothing that another deleted).
    pub lease_secs: u64,
    /// GLASSCHAT_TEST_CLOCK_FILE: a file holding the time (Unix ms) the
    /// retention job takes for now, read at each pass (the real clock when
    /// it is missing or empty), so a test makes messages old without
    /// waiting for days. Tests only: a warning is logged at start.
    pub test_clock_file: Option<String>,
}

pub(super) fn retention(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<RetentionSettings, ConfigError> {
    Ok(RetentionSettings {
        check_secs: number(lookup, "GLASSCHAT_RETENTION_CHECK_SECS", 3600u64)?,
        lease_secs: number(lookup, "GLASSCHAT_RETENTION_LEASE_SECS", 600u64)?,
        test_clock_file: lookup("GLASSCHAT_TEST_CLOCK_FILE"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bad_values() {
        let none = |_: &str| None;
        assert!(matches!(
            retention(&none),
            Ok(RetentionSettings {
                check_secs: 3600,
                lease_secs: 600,
                test_clock_file: None
            })
        ));
        let bad = |name: &str| (name == "GLASSCHAT_RETENTION_CHECK_SECS").then(|| "0".to_string());
        let err = retention(&bad)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("GLASSCHAT_RETENTION_CHECK_SECS"), "{err}");
    }
}
