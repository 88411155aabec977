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
