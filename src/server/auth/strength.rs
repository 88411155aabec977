//! Password strength: zxcvbn's estimate of how many guesses a password
//! takes, with what it knows of the person (their email and name) counted
//! as guessable. On the server only, so its dictionaries stay out of the
//! WASM client.

use zxcvbn::Score;

/// The least score accepted: zxcvbn's "safely unguessable" (about 10^10
/// guesses, out of reach online and costly offline against argon2id).
const MIN_SCORE: Score = Score::Three;
/// zxcvbn's cost grows faster than the length; a password this long is
/// judged on its start (a strong start is a strong password).
const JUDGED_CHARS: usize = 64;

/// Why a password was refused, in zxcvbn's words (fixed English texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too easy to guess: {0}")]
pub struct Weak(pub String);

/// Accepts a password that is hard to guess, or says why not.
pub fn check(password: &str, about_the_person: &[&str]) -> Result<(), Weak> {
    let judged: String = password.chars().take(JUDGED_CHARS).collect();
    let mut hints: Vec<&str> = Vec::with_capacity(about_the_person.len() * 2);
    for hint in about_the_person {
        hints.push(hint);
        // The email's name part too: "ada.lovelace" from "ada.lovelace@x.io".
        if let Some((local, _)) = hint.split_once('@') {
            hints.push(local);
        }
    }
    let estimate = zxcvbn::zxcvbn(&judged, &hints);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    let feedback = estimate.feedback();
    let mut reason: Vec<String> = Vec::new();
    if let Some(warning) = feedback.and_then(|f| f.warning()) {
        reason.push(warning.to_string());
    }
    if let Some(first) = feedback.and_then(|f| f.suggestions().first()) {
        reason.push(first.to_string());
    }
    if reason.is_empty() {
        reason.push("Add another word or two. Uncommon words are better.".to_string());
    }
    Err(Weak(reason.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_and_personal_passwords_are_refused_with_a_reason() {
        let me = ["ada.lovelace@example.com", "Ada Lovelace"];
        for weak in [
            "password",
            "password1",
            "Password123",
            "12345678",
            "qwertyuiop",
            "iloveyou",
            "aaaaaaaaaa",
            "abcdefgh12",
            "adalovelace",
            "ada.lovelace1",
        ] {
            let refused = check(weak, &me).expect_err(weak);
            assert!(!refused.0.is_empty(), "{weak}: a reason");
        }
        let top = check("password", &me).unwrap_err();
        assert!(top.0.to_lowercase().contains("common"), "{}", top.0);
    }

    #[test]
    fn hard_to_guess_passwords_pass() {
        let me = ["ada@example.com", "Ada"];
        for strong in [
            "correct horse battery",
            "Tr0ub4dor&3-xylophone",
            "mauve kettle 49 lantern",
            "q8#Lr2!vZp0$",
            "a brand new secret",
            "loadtest-password",
            "another password",
        ] {
            assert_eq!(check(strong, &me), Ok(()), "{strong}");
        }
    }
}
