//! The SMTP settings (all optional: with no `GLASSCHAT_SMTP_HOST`, email is
//! off and the features that need it are hidden).

use lettre::message::Mailbox;

use super::{number, ConfigError};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required), port 587.
    StartTls,
    /// TLS from the first byte ("SMTPS"), port 465.
    Tls,
    /// No encryption at all: only for a relay on the same host, port 25.
    None,
}

#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// GLASSCHAT_SMTP_HOST: the server's name (also checked against its certificate).
    pub host: String,
    /// GLASSCHAT_SMTP_PORT (587, 465 or 25 after the security).
    pub port: u16,
    /// GLASSCHAT_SMTP_SECURITY: `starttls` (default), `tls` or `none`.
    pub security: SmtpSecurity,
    /// GLASSCHAT_SMTP_USER and GLASSCHAT_SMTP_PASSWORD, both or neither.
    pub credentials: Option<(String, String)>,
    /// GLASSCHAT_SMTP_FROM: `Glasschat <chat@example.com>` or a bare address.
    pub from: Mailbox,
    /// GLASSCHAT_EMAIL_CHECK_SECS (30): how often the digest job looks for
    /// people whose unread messages are due.
    pub check_secs: u64,
}

/// The email settings, or `None` when GLASSCHAT_SMTP_HOST is not set.
pub(super) fn email(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<EmailSettings>, ConfigError> {
    let Some(host) = lookup("GLASSCHAT_SMTP_HOST").map(|h| h.trim().to_string()) else {
        return Ok(None);
    };
    let bad = |name: &'static str, expected: &'static str, value: String| ConfigError::BadNumber {
        name,
        expected,
        value,
    };
    let security = match lookup("GLASSCHAT_SMTP_SECURITY")
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("starttls") => SmtpSecurity::StartTls,
        Some("tls") => SmtpSecurity::Tls,
        Some("none") => SmtpSecurity::None,
        Some(other) => {
            return Err(bad(
                "GLASSCHAT_SMTP_SECURITY",
                "starttls, tls or none",
                other.to_string(),
            ))
        }
    };
    let default_port = match security {
        SmtpSecurity::StartTls => 587,
        SmtpSecurity::Tls => 465,
        SmtpSecurity::None => 25,
    };
    let port = number::<u16>(lookup, "GLASSCHAT_SMTP_PORT", default_port)?;
    let credentials = match (
        lookup("GLASSCHAT_SMTP_USER"),
        lookup("GLASSCHAT_SMTP_PASSWORD"),
    ) {
        (Some(user), Some(password)) => Some((user.trim().to_string(), password)),
        (None, None) => None,
        _ => {
            return Err(bad(
                "GLASSCHAT_SMTP_USER and GLASSCHAT_SMTP_PASSWORD",
                "both set or both unset",
                "only one of them".into(),
            ))
        }
    };
    let from_text = lookup("GLASSCHAT_SMTP_FROM").ok_or_else(|| {
        bad(
            "GLASSCHAT_SMTP_FROM",
            "the sender address, such as Glasschat <chat@example.com>, when GLASSCHAT_SMTP_HOST is set",
            String::new(),
        )
    })?;
    let from = from_text.trim().parse::<Mailbox>().map_err(|_| {
        bad(
            "GLASSCHAT_SMTP_FROM",
            "an address such as Glasschat <chat@example.com>",
            from_text.clone(),
        )
    })?;
    Ok(Some(EmailSettings {
        host,
        port,
        security,
        credentials,
        from,
        check_secs: number(lookup, "GLASSCHAT_EMAIL_CHECK_SECS", 30u64)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<Option<EmailSettings>, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        email(&|name: &str| map.get(name).cloned())
    }

    #[test]
    fn off_without_a_host() {
        assert!(read(&[("GLASSCHAT_SMTP_FROM", "a@b.org")])
            .unwrap()
            .is_none());
    }

    #[test]
    fn defaults_follow_the_security() {
        let s = read(&[
            ("GLASSCHAT_SMTP_HOST", "smtp.example.com"),
            ("GLASSCHAT_SMTP_FROM", "Glasschat <chat@example.com>"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!((s.port, s.security), (587, SmtpSecurity::StartTls));
        assert_eq!(s.from.email.to_string(), "chat@example.com");
        let s = read(&[
            ("GLASSCHAT_SMTP_HOST", "smtp.example.com"),
            ("GLASSCHAT_SMTP_SECURITY", "TLS"),
            ("GLASSCHAT_SMTP_FROM", "chat@example.com"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!((s.port, s.security), (465, SmtpSecurity::Tls));
    }

    #[test]
    fn bad_settings_are_one_clear_line() {
        let host = ("GLASSCHAT_SMTP_HOST", "smtp.example.com");
        let from = ("GLASSCHAT_SMTP_FROM", "chat@example.com");
        for vars in [
            vec![host],
            vec![host, ("GLASSCHAT_SMTP_FROM", "not an address")],
            vec![host, from, ("GLASSCHAT_SMTP_SECURITY", "ssl3")],
            vec![host, from, ("GLASSCHAT_SMTP_PORT", "99999")],
            vec![host, from, ("GLASSCHAT_SMTP_USER", "me")],
        ] {
            let err = read(&vars).unwrap_err().to_string();
            assert!(err.starts_with("GLASSCHAT_SMTP_"), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
