//! `glasschat loadtest-seed`: **for the load test only.** Makes many
//! accounts, a session for each and one room with all of them in seconds,
//! where the public sign-up would spend about 60 ms of argon2 per account
//! (ten minutes of a core for the `bigroom` scenario's 10,000). Every
//! account shares one password hash, computed once: that is what makes it
//! fast, and why this path is a command run against a load-test database,
//! never a server function.
//!
//! Writes the room's id and one session cookie per account to a file the
//! load generator reads (`loadtest --seeded FILE bigroom`).

use std::io::Write as _;
use std::path::Path;

use crate::server::auth::{password, token};
use crate::server::store::{now_ms, NewUser, Store, StoreError};

use super::accounts::SESSION_TTL;

/// The password every seeded account shares (the load test's own).
pub const PASSWORD: &str = "loadtest-password";

pub const USAGE: &str = "usage: glasschat loadtest-seed --users N --out FILE
  for load tests only: N accounts sharing one password, a session each, and
  one room with all of them; FILE gets the room and the session cookies";

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("{0}")]
    Usage(&'static str),
    #[error("cannot hash the shared password: {0}")]
    Hash(#[from] password::PasswordError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Parses `--users N --out FILE`.
pub fn parse(args: &[String]) -> Result<(usize, String), SeedError> {
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["--users", n, "--out", out] | ["--out", out, "--users", n] => {
            let users = n
                .parse::<usize>()
                .ok()
                .filter(|n| (2..=1_000_000).contains(n))
                .ok_or(SeedError::Usage(
                    "--users must be a number from 2 to 1,000,000",
                ))?;
            Ok((users, out.to_string()))
        }
        _ => Err(SeedError::Usage(USAGE)),
    }
}

/// Makes (or finds, on a second run) `users` accounts `seed-{i}@load.test`,
/// a new session for each and a new room holding them all; writes
/// `room ID` and then one cookie per line to `out`. Returns what to print.
pub async fn seed(store: &Store, users: usize, out: &Path) -> Result<String, SeedError> {
    let hash = password::hash(PASSWORD.to_string()).await?;
    let now = now_ms();
    let mut ids = Vec::with_capacity(users);
    let mut cookies = Vec::with_capacity(users);
    for i in 0..users {
        let email = format!("seed-{i}@load.test");
        let id = match store.user_by_email(&email).await? {
            Some(user) => user.id,
            None => {
                store
                    .create_user(NewUser {
                        email: &email,
                        display_name: &format!("Seed {i}"),
                        password_hash: &hash,
                        now,
                    })
                    .await?
                    .id
            }
        };
        let session = token::generate();
        store
            .create_session(&session.hash, id, now, now + SESSION_TTL.as_millis() as i64)
            .await?;
        ids.push(id);
        cookies.push(session.cookie_value);
    }
    let room = store
        .create_group(ids[0], &format!("Load test room of {users}"), &ids, now)
        .await?;
    let mut text = format!("room {room}\n");
    for cookie in &cookies {
        text.push_str(cookie);
        text.push('\n');
    }
    let write = |text: &str| -> std::io::Result<()> {
        let mut file = std::fs::File::create(out)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    };
    write(&text).map_err(|source| SeedError::Write {
        path: out.display().to_string(),
        source,
    })?;
    Ok(format!(
        "seeded {users} accounts (password {PASSWORD:?}) and room {room} with all of them; sessions in {}\n",
        out.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_arguments_are_checked() {
        assert_eq!(
            parse(&args(&["--users", "10", "--out", "f"])).ok(),
            Some((10, "f".to_string()))
        );
        assert!(parse(&args(&["--users", "1", "--out", "f"])).is_err());
        assert!(parse(&args(&["--users", "ten", "--out", "f"])).is_err());
        assert!(parse(&args(&["--users", "10"])).is_err());
    }
}
