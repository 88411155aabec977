//! Unlocking the message keys at start, the `glasschat keys …` command, and
//! the background task that follows rotations while the server runs.

use std::time::Duration;

use super::audit::{self, Who};
use crate::server::crypto::{self, KeyFileError, KeySource, MasterKey};
use crate::server::store::{now_ms, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("with Postgres, set GLASSCHAT_MASTER_KEY (base64 of 32 bytes) or GLASSCHAT_KEY_FILE: every node needs the same key")]
    NotConfigured,
    #[error("this database's messages are encrypted, but there is no master key at {path}: restore the key file, or set GLASSCHAT_MASTER_KEY")]
    Missing { path: String },
    #[error("the master key does not open this database's keys (wrong GLASSCHAT_MASTER_KEY or key file?); refusing to start")]
    Wrong,
    #[error(transparent)]
    File(#[from] KeyFileError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Finds the master key, creates it on a brand-new database (SQLite only,
/// as a 0600 file next to the database), and loads every data key into
/// `store.keys`. Any mismatch is an error before anything is served.
pub async fn unlock(store: &Store, source: &KeySource) -> Result<MasterKey, KeyError> {
    let stored = store.data_keys().await?;
    let master = match source {
        KeySource::Env(key) => key.clone(),
        KeySource::Missing => return Err(KeyError::NotConfigured),
        KeySource::File { path, explicit } => match crypto::read_key_file(path)? {
            Some(key) => key,
            None if stored.is_empty() && !explicit => {
                let key = MasterKey::generate();
                crypto::create_key_file(path, &key)?;
                tracing::warn!(
                    path = %path.display(),
                    "generated the master key for messages at rest; back this file up: without it no message can be read"
                );
                key
            }
            None => {
                return Err(KeyError::Missing {
                    path: path.display().to_string(),
                })
            }
        },
    };
    if stored.is_empty() {
        store.add_data_key(&master, now_ms()).await?;
    }
    let stored = store.data_keys().await?;
    store
        .keys
        .load(&master, &stored)
        .map_err(|_| KeyError::Wrong)?;
    Ok(master)
}

/// Rows re-encrypted per batch, and the pause between batches, so a
/// rotation never holds the database for long.
const BATCH: i64 = 200;
const PAUSE: Duration = Duration::from_millis(20);
const POLL: Duration = Duration::from_secs(2);

/// Every couple of seconds: load data keys another process added (a
/// `keys rotate`), then move rows under older keys to the current one.
pub fn spawn_key_follower(store: Store, master: MasterKey) {
    tokio::spawn(async move {
        let mut known = store.keys.current();
        let mut pending = true;
        loop {
            match store.newest_key_id().await {
                Ok(newest) if newest > known => match store.data_keys().await {
                    Ok(stored) => match store.keys.load(&master, &stored) {
                        Ok(()) => {
                            known = store.keys.current();
                            pending = true;
                            tracing::info!(current = ?known, "a new message key is current");
                        }
                        Err(err) => tracing::error!(error = %err, "a new data key does not open"),
                    },
                    Err(err) => tracing::warn!(error = %err, "cannot read the data keys"),
                },
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "cannot check for a new data key"),
            }
            if pending {
                match reencrypt_all(&store).await {
                    Ok(moved) => {
                        if moved > 0 {
                            tracing::info!(moved, "messages re-encrypted under the current key");
                        }
                        pending = false;
                    }
                    Err(err) => tracing::warn!(error = %err, "re-encryption paused"),
                }
            }
            tokio::time::sleep(POLL).await;
        }
    });
}

/// One pass over every row not under the current key: messages, then
/// file chunks (up to 256 KiB each, so fewer per batch).
pub async fn reencrypt_all(store: &Store) -> Result<u64, StoreError> {
    let mut after = 0;
    let mut moved = 0;
    loop {
        let batch = store.reencrypt_batch(after, BATCH).await?;
        moved += batch.moved;
        if batch.last_id == after {
            break;
        }
        after = batch.last_id;
        tokio::time::sleep(PAUSE).await;
    }
    let mut after = (0, 0, -1);
    loop {
        let (chunks, next) = store.reencrypt_chunks(after, BATCH / 10).await?;
        moved += chunks;
        let Some(next) = next else {
            return Ok(moved);
        };
        after = next;
        tokio::time::sleep(PAUSE).await;
    }
}

/// `glasschat keys status | rotate | drop ID`; returns what to print.
pub async fn command(store: &Store, master: &MasterKey, args: &[String]) -> Result<String, String> {
    let verb = args.first().map(String::as_str).unwrap_or("status");
    match verb {
        "status" => status(store).await.map_err(|e| e.to_string()),
        "rotate" => {
            let id = store
                .add_data_key(master, now_ms())
                .await
                .map_err(|e| e.to_string())?;
            let stored = store.data_keys().await.map_err(|e| e.to_string())?;
            store
                .keys
                .load(master, &stored)
                .map_err(|e| e.to_string())?;
            let moved = reencrypt_all(store).await.map_err(|e| e.to_string())?;
            let detail = format!("{moved} rows re-encrypted");
            audit::record(
                store,
                &Who::command_line(),
                "key.rotated",
                &format!("key {id}"),
                &detail,
            )
            .await;
            Ok(format!(
                "key {id} is now current; {moved} messages and file chunks re-encrypted\n{}",
                status(store).await.map_err(|e| e.to_string())?
            ))
        }
        "drop" => {
            let id: i64 = args
                .get(1)
                .and_then(|a| a.parse().ok())
                .ok_or("usage: glasschat keys drop KEY_ID")?;
            if store.keys.current() == Some(id) {
                return Err(format!("key {id} is the current key; rotate first"));
            }
            if store.drop_data_key(id).await.map_err(|e| e.to_string())? {
                audit::record(
                    store,
                    &Who::command_line(),
                    "key.dropped",
                    &format!("key {id}"),
                    "",
                )
                .await;
                Ok(format!("key {id} dropped"))
            } else {
                Err(format!(
                    "key {id} still holds messages (or does not exist); see `glasschat keys status`"
                ))
            }
        }
        other => Err(format!(
            "unknown keys command {other:?}; use status, rotate or drop KEY_ID"
        )),
    }
}

async fn status(store: &Store) -> Result<String, StoreError> {
    let counts = store.key_counts().await?;
    let current = store.keys.current();
    let mut out = String::from("key   rows      state\n");
    for id in store.keys.key_ids() {
        let rows = counts
            .iter()
            .find(|c| c.key_id == Some(id))
            .map_or(0, |c| c.rows);
        let state = if Some(id) == current {
            "current"
        } else {
            "old"
        };
        out.push_str(&format!("{id:<5} {rows:<9} {state}\n"));
    }
    if let Some(plain) = counts.iter().find(|c| c.key_id.is_none()) {
        out.push_str(&format!("none  {:<9} not yet encrypted\n", plain.rows));
    }
    Ok(out)
}
