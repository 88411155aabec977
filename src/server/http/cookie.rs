//! The session cookie: HttpOnly, SameSite=Lax, Path=/, 30-day Max-Age, and
//! `Secure` with the `__Host-` prefix when Glasschat is served over https.

use http::header::COOKIE;
use http::HeaderMap;

use crate::server::config::Config;
use crate::server::services::accounts::SESSION_TTL;

const PLAIN_NAME: &str = "glasschat_session";
const SECURE_NAME: &str = "__Host-glasschat_session";
/// A website visitor's session (the widget's panel, framed by another
/// site). `SameSite=None` so the framed panel gets it at all, `Secure` as
/// that requires (browsers take it from http://localhost too), and
/// `Partitioned` (CHIPS): kept apart per embedding site, so it works where
/// third-party cookies are blocked and no other site ever sees it.
pub const VISITOR: &str = "__Host-glasschat_visitor";

pub fn name(config: &Config) -> &'static str {
    if config.secure_cookies {
        SECURE_NAME
    } else {
        PLAIN_NAME
    }
}

/// `Set-Cookie` value that stores `value` for the session lifetime.
pub fn set(config: &Config, value: &str) -> String {
    build(config, value, SESSION_TTL.as_secs())
}

/// `Set-Cookie` value that makes the browser forget the cookie.
pub fn clear(config: &Config) -> String {
    build(config, "", 0)
}

fn build(config: &Config, value: &str, max_age: u64) -> String {
    let secure = if config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        name(config)
    )
}

/// `Set-Cookie` value of a visitor's session, kept `max_age` seconds.
pub fn set_visitor(value: &str, max_age: u64) -> String {
    format!(
        "{VISITOR}={value}; Path=/; HttpOnly; Secure; SameSite=None; Partitioned; Max-Age={max_age}"
    )
}

pub fn clear_visitor() -> String {
    set_visitor("", 0)
}

/// The browser binding of a single sign-on under way: only the browser
/// that went to the provider may come back with its answer. `Lax`, so the
/// provider's redirect back (a top-level GET) carries it.
fn sso_name(config: &Config) -> &'static str {
    if config.secure_cookies {
        "__Host-glasschat_sso"
    } else {
        "glasschat_sso"
    }
}

/// `Set-Cookie` value of the binding (`max_age` 0 clears it).
pub fn set_sso(config: &Config, value: &str, max_age: u64) -> String {
    let secure = if config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        sso_name(config)
    )
}

pub fn read_sso(config: &Config, headers: &HeaderMap) -> Option<String> {
    read_named(sso_name(config), headers)
}

/// The session cookie's value in a request, if any.
pub fn read(config: &Config, headers: &HeaderMap) -> Option<String> {
    read_named(name(config), headers)
}

/// A member's session cookie, or else a website visitor's: for what both
/// may use (the socket, files), each then authorised by membership.
pub fn read_participant(config: &Config, headers: &HeaderMap) -> Option<String> {
    read(config, headers).or_else(|| read_visitor(headers))
}

/// The visitor cookie's value in a request, if any.
pub fn read_visitor(headers: &HeaderMap) -> Option<String> {
    read_named(VISITOR, headers)
}

fn read_named(wanted: &str, headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == wanted && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn config(public: Option<&str>) -> Config {
        Config::from_lookup(|name| match name {
            "GLASSCHAT_PUBLIC_URL" => public.map(str::to_string),
            _ => None,
        })
        .unwrap()
    }

    #[test]
    fn plain_http_cookie_is_httponly_lax_and_not_secure() {
        let c = set(&config(None), "abc");
        assert_eq!(
            c,
            "glasschat_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000"
        );
    }

    #[test]
    fn https_cookie_is_secure_with_host_prefix() {
        let c = set(&config(Some("https://chat.example.com")), "abc");
        assert!(c.starts_with("__Host-glasschat_session=abc;"));
        assert!(c.ends_with("; Secure"));
        assert!(clear(&config(Some("https://chat.example.com"))).contains("Max-Age=0"));
    }

    #[test]
    fn reads_our_cookie_among_others() {
        let cfg = config(None);
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("theme=dark; glasschat_session=tok123"),
        );
        headers.append(COOKIE, HeaderValue::from_static("other=1"));
        assert_eq!(read(&cfg, &headers).as_deref(), Some("tok123"));
        let mut empty = HeaderMap::new();
        empty.append(COOKIE, HeaderValue::from_static("glasschat_session="));
        assert_eq!(read(&cfg, &empty), None);
    }
}
