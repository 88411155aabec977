//! Single sign-on with the organisation's OpenID Provider: on when
//! GLASSCHAT_OIDC_ISSUER, GLASSCHAT_OIDC_CLIENT_ID and
//! GLASSCHAT_OIDC_CLIENT_SECRET are all set (the client registered at the
//! provider with the redirect URI `<public URL>/auth/sso/callback`).
//! GLASSCHAT_OIDC_NAME is what the login page's button says ("Sign in with
//! NAME"; the issuer's host name by default).

use super::ConfigError;

#[derive(Clone)]
pub struct SsoSettings {
    /// The issuer's URL, exactly as the provider's discovery document says it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
}

// The client secret stays out of logs and debug output.
impl std::fmt::Debug for SsoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

pub(super) fn sso(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<SsoSettings>, ConfigError> {
    let issuer = lookup("GLASSCHAT_OIDC_ISSUER").map(|v| v.trim().to_string());
    let client_id = lookup("GLASSCHAT_OIDC_CLIENT_ID").map(|v| v.trim().to_string());
    let client_secret = lookup("GLASSCHAT_OIDC_CLIENT_SECRET");
    let (issuer, client_id, client_secret) = match (issuer, client_id, client_secret) {
        (None, None, None) => return Ok(None),
        (Some(issuer), Some(client_id), Some(client_secret)) => (issuer, client_id, client_secret),
        _ => {
            return Err(ConfigError::BadNumber {
                name: "GLASSCHAT_OIDC_ISSUER",
                expected: "set together with GLASSCHAT_OIDC_CLIENT_ID and GLASSCHAT_OIDC_CLIENT_SECRET (all three, or none)",
                value: "(incomplete)".into(),
            })
        }
    };
    let host = url::Url::parse(&issuer)
        .ok()
        .filter(|u| {
            matches!(u.scheme(), "https" | "http") && u.query().is_none() && u.fragment().is_none()
        })
        .and_then(|u| u.host_str().map(str::to_string))
        .ok_or_else(|| ConfigError::BadNumber {
            name: "GLASSCHAT_OIDC_ISSUER",
            expected: "the provider's issuer URL, such as https://login.example.com/realms/staff",
            value: issuer.clone(),
        })?;
    if client_id.is_empty() || client_secret.trim().is_empty() {
        return Err(ConfigError::BadNumber {
            name: "GLASSCHAT_OIDC_CLIENT_ID",
            expected: "a client id and secret that are not empty",
            value: "(empty)".into(),
        });
    }
    let name = lookup("GLASSCHAT_OIDC_NAME")
        .map(|v| v.trim().chars().take(40).collect::<String>())
        .filter(|v| !v.is_empty())
        .unwrap_or(host);
    Ok(Some(SsoSettings {
        issuer,
        client_id,
        client_secret,
        name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn all_three_or_none_and_a_real_url() {
        assert!(matches!(sso(&with(&[])), Ok(None)));
        let full = sso(&with(&[
            (
                "GLASSCHAT_OIDC_ISSUER",
                "https://login.example.com/realms/staff",
            ),
            ("GLASSCHAT_OIDC_CLIENT_ID", "chat"),
            ("GLASSCHAT_OIDC_CLIENT_SECRET", "s3cret"),
        ]));
        assert!(matches!(&full, Ok(Some(s)) if s.name == "login.example.com"));
        let shown = format!("{full:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        let missing = sso(&with(&[(
            "GLASSCHAT_OIDC_ISSUER",
            "https://login.example.com",
        )]));
        assert!(missing.is_err_and(|e| e.to_string().contains("all three")));
        let bad = sso(&with(&[
            ("GLASSCHAT_OIDC_ISSUER", "login.example.com"),
            ("GLASSCHAT_OIDC_CLIENT_ID", "chat"),
            ("GLASSCHAT_OIDC_CLIENT_SECRET", "s3cret"),
        ]));
        assert!(bad.is_err_and(|e| e.to_string().contains("GLASSCHAT_OIDC_ISSUER")));
    }
}
