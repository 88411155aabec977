//! argon2id hashing with OWASP's minimum (m = 19 MiB, t = 2, p = 1), always
//! off the async runtime: one hash costs tens of milliseconds of CPU.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
    #[error("password hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("password hashing is shutting down")]
    Closed,
}

fn hasher() -> Argon2<'static> {
    // Params::DEFAULT is exactly OWASP's 19456 KiB / 2 passes / 1 lane.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// Hashes running at once. Each takes 19 MiB and a core for ~25 ms: a burst
/// of sign-ups or logins queues here instead of growing memory without bound.
const CONCURRENT_HASHES: usize = 2;

fn permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(CONCURRENT_HASHES))
}

async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PasswordError> {
    let _permit = permits()
        .acquire()
        .await
        .map_err(|_| PasswordError::Closed)?;
    Ok(tokio::task::spawn_blocking(work).await?)
}

pub async fn hash(password: String) -> Result<String, PasswordError> {
    off_runtime(move || hash_blocking(&password)).await?
}

fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(PasswordError::Hash)
}

/// What a login learnt from checking a password.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Wrong,
    Right,
    /// Right, and the stored hash uses older parameters: store this new one.
    RightRehashed(String),
}

/// Checks `password` against the stored PHC string; `None` (unknown account)
/// still spends one full verification on a dummy hash so that the answer
/// takes as long as for a known account.
pub async fn verify(password: String, stored: Option<String>) -> Result<Verdict, PasswordError> {
    off_runtime(move || verify_blocking(&password, stored.as_deref())).await?
}

fn verify_blocking(password: &str, stored: Option<&str>) -> Result<Verdict, PasswordError> {
    let Some(stored) = stored else {
        let dummy = dummy_hash()?;
        let _ = check(password, dummy);
        return Ok(Verdict::Wrong);
    };
    if !check(password, stored) {
        return Ok(Verdict::Wrong);
    }
    if needs_rehash(stored) {
        return Ok(Verdict::RightRehashed(hash_blocking(password)?));
    }
    Ok(Verdict::Right)
}

fn check(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// True when the stored hash is not argon2id with today's parameters.
fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return true;
    };
    let current = Params::DEFAULT;
    let param = |name: &str| parsed.params.get_decimal(name);
    parsed.algorithm.as_str() != "argon2id"
        || param("m") != Some(current.m_cost())
        || param("t") != Some(current.t_cost())
        || param("p") != Some(current.p_cost())
}

fn dummy_hash() -> Result<&'static str, PasswordError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let hash = hash_blocking("glasschat-dummy-password-for-timing")?;
    Ok(DUMMY.get_or_init(|| hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let hash = hash_blocking("correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!needs_rehash(&hash));
    }

    #[test]
    fn verify_accepts_right_and_refuses_wrong() {
        let hash = hash_blocking("correct horse").unwrap();
        assert_eq!(
            verify_blocking("correct horse", Some(&hash)).unwrap(),
            Verdict::Right
        );
        assert_eq!(
            verify_blocking("wrong horse", Some(&hash)).unwrap(),
            Verdict::Wrong
        );
        assert_eq!(
            verify_blocking("correct horse", None).unwrap(),
            Verdict::Wrong
        );
        assert_eq!(
            verify_blocking("x", Some("not a phc string")).unwrap(),
            Verdict::Wrong
        );
    }

    #[test]
    fn weaker_old_hashes_are_upgraded_on_login() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut OsRng);
        let old = weak
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        match verify_blocking("correct horse", Some(&old)).unwrap() {
            Verdict::RightRehashed(new) => {
                assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
                assert_eq!(
                    verify_blocking("correct horse", Some(&new)).unwrap(),
                    Verdict::Right
                );
            }
            other => panic!("expected a rehash, got {other:?}"),
        }
    }

    #[test]
    fn two_hashes_of_one_password_differ() {
        assert_ne!(
            hash_blocking("same").unwrap(),
            hash_blocking("same").unwrap()
        );
    }
}
