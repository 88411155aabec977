//! Credentials: password hashing (argon2id), password strength (zxcvbn)
//! and session tokens. Pure
//! building blocks; the rules that use them (sign-up, login, sessions) are
//! in `services::accounts`.

pub mod password;
pub mod strength;
pub mod token;
