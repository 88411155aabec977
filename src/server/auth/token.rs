//! Session tokens: 256 random bits for the cookie, and the SHA-256 of it for
//! the database, so a leaked sessions table opens no session.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

pub struct NewToken {
    /// Goes into the cookie, and nowhere else.
    pub cookie_value: String,
    pub hash: [u8; 32],
}

pub fn generate() -> NewToken {
    let mut raw = [0u8; 32];
    OsRng.fill_bytes(&mut raw);
    let cookie_value = URL_SAFE_NO_PAD.encode(raw);
    let hash = hash_cookie_value(&cookie_value);
    NewToken { cookie_value, hash }
}

/// `bytes` random bytes as URL-safe text: a site's public key, its secret.
pub fn random_text(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    OsRng.fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// The database key for a cookie value. A value that is not one of ours
/// still hashes, and simply matches no row.
pub fn hash_cookie_value(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_bits_and_differ() {
        let a = generate();
        let b = generate();
        assert_eq!(URL_SAFE_NO_PAD.decode(&a.cookie_value).unwrap().len(), 32);
        assert_ne!(a.cookie_value, b.cookie_value);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn the_stored_hash_is_not_the_token() {
        let t = generate();
        assert_eq!(t.hash, hash_cookie_value(&t.cookie_value));
        assert_ne!(&t.hash[..], t.cookie_value.as_bytes());
    }
}
