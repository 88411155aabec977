//! Where `/metrics` is served, if anywhere: on an address of its own
//! (GLASSCHAT_METRICS_ADDR, e.g. 127.0.0.1:9100, for a Prometheus on the
//! same host or network; no token asked there), and/or on the main address
//! behind a bearer token (GLASSCHAT_METRICS_TOKEN). Neither set: off.

use std::net::SocketAddr;

use super::ConfigError;

/// A token shorter than this is refused at start: it guards the metrics
/// on the public address.
const TOKEN_MIN: usize = 24;

#[derive(Debug, Clone, Default)]
pub struct MetricsSettings {
    pub addr: Option<SocketAddr>,
    pub token: Option<String>,
}

pub(super) fn metrics(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<MetricsSettings, ConfigError> {
    let addr = match lookup("GLASSCHAT_METRICS_ADDR").filter(|v| !v.trim().is_empty()) {
        None => None,
        Some(value) => Some(value.trim().parse().map_err(|_| ConfigError::BadAddr {
            name: "GLASSCHAT_METRICS_ADDR",
            value,
        })?),
    };
    let token = match lookup("GLASSCHAT_METRICS_TOKEN").filter(|v| !v.is_empty()) {
        None => None,
        Some(token) if token.len() >= TOKEN_MIN && token.chars().all(|c| c.is_ascii_graphic()) => {
            Some(token)
        }
        Some(_) => {
            // The value is not printed: it is a secret.
            return Err(ConfigError::BadNumber {
                name: "GLASSCHAT_METRICS_TOKEN",
                expected:
                    "at least 24 printable characters without spaces (e.g. `openssl rand -hex 24`)",
                value: "(hidden)".into(),
            });
        }
    };
    Ok(MetricsSettings { addr, token })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_bad_values_are_one_line() {
        let none = |_: &str| None;
        assert!(matches!(metrics(&none), Ok(off) if off.addr.is_none() && off.token.is_none()));

        let addr = |n: &str| (n == "GLASSCHAT_METRICS_ADDR").then(|| "localhost".to_string());
        let err = metrics(&addr).unwrap_err().to_string();
        assert!(
            err.contains("GLASSCHAT_METRICS_ADDR") && !err.contains('\n'),
            "{err}"
        );

        let short = |n: &str| (n == "GLASSCHAT_METRICS_TOKEN").then(|| "secret".to_string());
        let err = metrics(&short).unwrap_err().to_string();
        assert!(
            err.contains("GLASSCHAT_METRICS_TOKEN") && !err.contains("secret"),
            "{err}"
        );

        let good = |n: &str| match n {
            "GLASSCHAT_METRICS_ADDR" => Some("127.0.0.1:9100".to_string()),
            "GLASSCHAT_METRICS_TOKEN" => Some("0123456789abcdef01234567".to_string()),
            _ => None,
        };
        assert!(matches!(
            metrics(&good),
            Ok(on) if on.addr.map(|a| a.port()) == Some(9100) && on.token.is_some()
        ));
    }
}
