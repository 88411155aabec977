//! Input rules, shared by the server (which enforces them) and the client
//! (which can hint early). Each returns the cleaned value, or the field that
//! was refused (`ApiError::Invalid` says so to the user).

use serde::{Deserialize, Serialize};

/// Which input was rejected, so the form can say exactly what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Field {
    Email,
    Password,
    DisplayName,
    RoomName,
    DepartmentName,
    EmailDomains,
    SiteName,
    CannedTitle,
    CannedBody,
    SiteOrigins,
    SiteDepartments,
    RatingScore,
    RatingComment,
    RetentionDays,
}

pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;
pub const DISPLAY_NAME_MAX: usize = 64;
const EMAIL_MAX: usize = 254;

/// Trimmed and lower-cased; one `@`, something on each side, a dot in the domain.
pub fn email(raw: &str) -> Result<String, Field> {
    let email = raw.trim().to_lowercase();
    let invalid = || Field::Email;
    if email.is_empty()
        || email.chars().count() > EMAIL_MAX
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid());
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    if local.is_empty() || !domain_ok(domain) {
        return Err(invalid());
    }
    Ok(email)
}

/// At most this many domains in the "email domains" registration mode.
pub const EMAIL_DOMAINS_MAX: usize = 50;

/// A list of email domains (`example.com, example.org`, separated by commas,
/// semicolons, spaces or new lines; a leading `@` is dropped), lower-cased,
/// sorted and without repeats. Each is a domain an email could have here:
/// a dot inside, no empty label, at most 253 characters.
pub fn email_domains(raw: &str) -> Result<Vec<String>, Field> {
    let mut domains = Vec::new();
    for part in raw.split(|c: char| c == ',' || c == ';' || c.is_whitespace()) {
        let domain = part.trim().trim_start_matches('@').to_lowercase();
        if domain.is_empty() {
            continue;
        }
        let plausible = domain.chars().count() <= 253
            && !domain.chars().any(|c| c.is_control() || c == '@')
            && domain_ok(&domain);
        if !plausible {
            return Err(Field::EmailDomains);
        }
        domains.push(domain);
    }
    domains.sort();
    domains.dedup();
    if domains.len() > EMAIL_DOMAINS_MAX {
        return Err(Field::EmailDomains);
    }
    Ok(domains)
}

fn domain_ok(domain: &str) -> bool {
    domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !domain.contains('@')
}

/// 8 to 128 characters, counted as characters (not bytes); kept exactly as typed.
pub fn password(raw: &str) -> Result<&str, Field> {
    let n = raw.chars().count();
    if (PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
        Ok(raw)
    } else {
        Err(Field::Password)
    }
}

/// A token as a link carries it (an invitation, a password reset, an
/// unsubscribe): 1 to 128 characters of URL-safe base64, so it can go back
/// into an address or a form as it is.
pub fn url_token(text: &str) -> Option<&str> {
    let plausible = (1..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plausible.then_some(text)
}

/// Trimmed; 1 to 64 characters; no control characters.
pub fn display_name(raw: &str) -> Result<String, Field> {
    short_text(raw, DISPLAY_NAME_MAX, Field::DisplayName)
}

pub const ROOM_NAME_MAX: usize = 80;

/// Trimmed; 1 to 80 characters; no control characters.
pub fn room_name(raw: &str) -> Result<String, Field> {
    short_text(raw, ROOM_NAME_MAX, Field::RoomName)
}

pub const DEPARTMENT_NAME_MAX: usize = 60;

/// Trimmed; 1 to 60 characters; no control characters.
pub fn department_name(raw: &str) -> Result<String, Field> {
    short_text(raw, DEPARTMENT_NAME_MAX, Field::DepartmentName)
}

/// Ids as a form sends them: comma-separated (`3, 5`), possibly none;
/// `None` if one is not a number.
pub fn id_list(text: &str) -> Option<Vec<i64>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<i64>().ok())
        .collect()
}

/// Comma-separated ids, as a form field carries them.
pub fn id_text(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

pub const CANNED_TITLE_MAX: usize = 60;
/// A canned reply's text: at most what one message holds by default
/// (`protocol::MAX_MESSAGE_CHARS`, which a server may lower; a longer
/// reply is then refused when sent, like any message).
pub const CANNED_BODY_MAX: usize = 10_000;

/// A canned reply's title (what `/` searches): trimmed, 1 to 60
/// characters, no control characters.
pub fn canned_title(raw: &str) -> Result<String, Field> {
    short_text(raw, CANNED_TITLE_MAX, Field::CannedTitle)
}

/// A canned reply's text: trimmed, not empty, new lines and tabs allowed,
/// no other control characters, at most a message's length.
pub fn canned_body(raw: &str) -> Result<String, Field> {
    let text = raw.trim();
    let n = text.chars().count();
    let controls = text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r');
    if n == 0 || n > CANNED_BODY_MAX || controls {
        return Err(Field::CannedBody);
    }
    Ok(text.to_string())
}

/// A satisfaction score: 1 (very bad) to 5 (very good).
pub fn rating_score(score: i64) -> Result<i64, Field> {
    if (1..=5).contains(&score) {
        Ok(score)
    } else {
        Err(Field::RatingScore)
    }
}

/// The longest comment a rating carries.
pub const RATING_COMMENT_MAX: usize = 1_000;

/// A rating's optional comment: trimmed (empty is none), new lines allowed,
/// no other control characters, at most `RATING_COMMENT_MAX` characters.
pub fn rating_comment(raw: &str) -> Result<Option<String>, Field> {
    let text = raw.trim();
    let controls = text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r');
    if controls || text.chars().count() > RATING_COMMENT_MAX {
        return Err(Field::RatingComment);
    }
    Ok((!text.is_empty()).then(|| text.to_string()))
}

/// Trimmed; 1 to 60 characters; no control characters.
pub fn site_name(raw: &str) -> Result<String, Field> {
    short_text(raw, DEPARTMENT_NAME_MAX, Field::SiteName)
}

/// At most this many origins may embed one site's widget.
pub const SITE_ORIGINS_MAX: usize = 20;

/// The origins allowed to embed a site's widget (separated by commas,
/// spaces or new lines), each exactly `scheme://host[:port]` as a browser
/// writes it in `Origin`: http or https, no path (one trailing `/` is
/// dropped), no user or query, host lower-cased. At least one, sorted,
/// without repeats. A wildcard is refused: an embedder is named exactly.
pub fn site_origins(raw: &str) -> Result<Vec<String>, Field> {
    let mut origins = Vec::new();
    for part in raw.split(|c: char| c == ',' || c.is_whitespace()) {
        let part = part.trim().trim_end_matches('/');
        if part.is_empty() {
            continue;
        }
        origins.push(origin(part).ok_or(Field::SiteOrigins)?);
    }
    origins.sort();
    origins.dedup();
    if origins.is_empty() || origins.len() > SITE_ORIGINS_MAX {
        return Err(Field::SiteOrigins);
    }
    Ok(origins)
}

/// `scheme://host[:port]`, normalised, or `None`.
fn origin(text: &str) -> Option<String> {
    let (scheme, rest) = text.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => {
            let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
            (host, Some(port))
        }
        _ => (rest, None),
    };
    let host = host.to_ascii_lowercase();
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
        && !host.starts_with('.')
        && !host.ends_with('.');
    if !host_ok {
        return None;
    }
    Some(match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

fn short_text(raw: &str, max: usize, field: Field) -> Result<String, Field> {
    let text = raw.trim();
    let n = text.chars().count();
    if n == 0 || n > max || text.chars().any(char::is_control) {
        return Err(field);
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_token_is_url_safe_base64_of_a_plausible_length() {
        assert_eq!(url_token("aZ09-_"), Some("aZ09-_"));
        assert_eq!(url_token(&"A".repeat(128)).map(str::len), Some(128));
        for bad in ["", "a b", "a%20", "a/b", "a?b=1", "é", &"A".repeat(129)] {
            assert_eq!(url_token(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn site_origins_are_exact_origins() {
        assert_eq!(
            site_origins(
                " https://Shop.Example.com/, http://127.0.0.1:8080\nhttps://shop.example.com"
            )
            .unwrap(),
            ["http://127.0.0.1:8080", "https://shop.example.com"]
        );
        for bad in [
            "",
            "shop.example.com",
            "https://shop.example.com/path",
            "https://*.example.com",
            "ftp://example.com",
            "https://user@example.com",
            "https://example.com:0",
            "https://example.com:99999",
            "https://example.com?x=1",
            "javascript://x",
        ] {
            assert_eq!(site_origins(bad), Err(Field::SiteOrigins), "{bad}");
        }
    }

    #[test]
    fn email_domains_are_cleaned_and_checked() {
        assert_eq!(
            email_domains(" Example.COM, @example.org;example.com\nsub.example.net ").unwrap(),
            ["example.com", "example.org", "sub.example.net"]
        );
        assert_eq!(email_domains("").unwrap(), Vec::<String>::new());
        for bad in [
            "localhost",
            ".example.com",
            "example.com.",
            "a..b",
            "a@b.com",
            "x\u{7}.com",
        ] {
            assert_eq!(email_domains(bad), Err(Field::EmailDomains), "{bad:?}");
        }
        let many: Vec<String> = (0..=EMAIL_DOMAINS_MAX)
            .map(|i| format!("d{i}.com"))
            .collect();
        assert_eq!(email_domains(&many.join(",")), Err(Field::EmailDomains));
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(email("  Ada@Example.COM ").unwrap(), "ada@example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "ada@.com",
            "ada@example.",
            "a da@example.com",
            "ada@ex..com",
            "a@b@c.com",
        ] {
            assert_eq!(email(bad), Err(Field::Email), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(email(&long).is_err());
    }

    #[test]
    fn password_length_is_counted_in_characters() {
        assert!(password("1234567").is_err());
        assert!(password("12345678").is_ok());
        assert!(password(&"é".repeat(128)).is_ok());
        assert!(password(&"x".repeat(129)).is_err());
        assert_eq!(password(" spaces kept ").unwrap(), " spaces kept ");
    }

    #[test]
    fn room_names_are_trimmed_and_bounded() {
        assert_eq!(room_name("  General ").unwrap(), "General");
        assert!(room_name("").is_err());
        assert!(room_name(&"r".repeat(81)).is_err());
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(display_name("  Ada Lovelace ").unwrap(), "Ada Lovelace");
        assert!(display_name("   ").is_err());
        assert!(display_name(&"n".repeat(64)).is_ok());
        assert!(display_name(&"n".repeat(65)).is_err());
        assert!(display_name("bell\u{7}").is_err());
    }
}
