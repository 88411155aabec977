//! A retention step, in the writer like every other change to a room's
//! messages, so it is ordered with that room's sends, edits and clears: it
//! deletes a run of the room's oldest messages with everything of them
//! (changes, reactions, mentions, files by cascade, search entries) and
//! moves read marks below the cut up to it, in one transaction.
//!
//! Only a run of the oldest goes (up to the first message young enough to
//! stay), so what a room keeps is every message above one seq. The unread
//! and mention counts stay exact: they count from the oldest row left when
//! the rows at a read mark are gone (`SELECT_SUMMARY`).

use super::indexing::Indexer;
use super::tx::{Arg, BatchTx};
use crate::server::crypto::Keyring;
use crate::server::store::retention::{
    TRIM_CHANGES, TRIM_MARKS, TRIM_MENTIONS, TRIM_MESSAGES, TRIM_REACTIONS, TRIM_ROOM,
};
use crate::server::store::writes::{Stored, TrimStep};
use crate::server::store::StoreError;

pub(super) async fn trim(
    tx: &mut impl BatchTx,
    keys: &Keyring,
    indexer: &mut Indexer<'_>,
    step: TrimStep,
) -> Result<Stored, StoreError> {
    let TrimStep {
        room,
        cutoff,
        limit,
    } = step;
    let oldest = tx.oldest(room, limit.max(1)).await?;
    let gone: Vec<_> = oldest
        .into_iter()
        .take_while(|(_, _, created_at, ..)| *created_at < cutoff)
        .collect();
    let Some(&(_, through, ..)) = gone.last() else {
        return Ok(Stored::Trimmed {
            through: 0,
            messages: 0,
        });
    };
    // Search entries first, while the texts can still be read for their terms.
    for (id, seq, _, live, body, key_id, nonce) in &gone {
        if *live == 1 {
            // A body that does not open (its key dropped) has no entry to take out.
            if let Ok(text) = keys.open(room, *seq, *key_id, nonce.as_deref(), body) {
                indexer
                    .unindex(tx, room, *id, &String::from_utf8_lossy(&text))
                    .await?;
            }
        }
    }
    let args = [Arg::Int(room), Arg::Int(through)];
    for statement in [
        TRIM_CHANGES,
        TRIM_REACTIONS,
        TRIM_MENTIONS,
        TRIM_MESSAGES,
        TRIM_MARKS,
        TRIM_ROOM,
    ] {
        tx.execute(statement, &args).await?;
    }
    Ok(Stored::Trimmed {
        through,
        messages: gone.len() as i64,
    })
}
