//! The search index, kept by the writer in each batch's transaction: a
//! new message adds its terms, an edit swaps them, a delete or a clear
//! removes them, and the background pass (`Write::Index`) indexes a slice
//! of older messages. Being in the same transaction as the message, an
//! entry is never lost on a crash, nor left behind by a delete.

use super::tx::{Arg, BatchTx};
use crate::server::crypto::{Keyring, SearchKey};
use crate::server::search_terms::index_terms;
use crate::server::store::search::{
    DELETE_POSTING, DELETE_ROOM_POSTINGS, INSERT_POSTING, INSERT_PREFIX, INSERT_WORD,
    SET_UNINDEXED_TO, UNINDEXED_TO,
};
use crate::server::store::StoreError;

/// How many seqs of a room one background step indexes: small enough that
/// the messages behind it in the writer wait a few milliseconds at most.
pub(super) const BACKFILL_STEP: i64 = 256;

/// Adds the terms of `text` (message `id` of `room`).
pub(super) async fn index(
    tx: &mut impl BatchTx,
    key: &SearchKey,
    room: i64,
    id: i64,
    text: &str,
) -> Result<(), StoreError> {
    use Arg::Int;
    let terms = index_terms(key, text);
    for term in terms.terms {
        tx.execute(INSERT_POSTING, &[Int(room), Int(term.into()), Int(id)])
            .await?;
    }
    for (word, prefixes) in terms.words {
        if tx.execute(INSERT_WORD, &[Int(word.into())]).await? == 0 {
            continue; // known: its prefixes are there
        }
        for prefix in prefixes {
            tx.execute(INSERT_PREFIX, &[Int(prefix.into()), Int(word.into())])
                .await?;
        }
    }
    Ok(())
}

/// Removes the terms of `text`, what message `id` of `room` said. Words
/// stay in the vocabulary (they point at no message).
pub(super) async fn unindex(
    tx: &mut impl BatchTx,
    key: &SearchKey,
    room: i64,
    id: i64,
    text: &str,
) -> Result<(), StoreError> {
    for term in index_terms(key, text).terms {
        tx.execute(
            DELETE_POSTING,
            &[Arg::Int(room), Arg::Int(term.into()), Arg::Int(id)],
        )
        .await?;
    }
    Ok(())
}

/// A clear: the room's entries go with its messages, and nothing of it is
/// left for the background pass.
pub(super) async fn clear(tx: &mut impl BatchTx, room: i64) -> Result<(), StoreError> {
    tx.execute(DELETE_ROOM_POSTINGS, &[Arg::Int(room)]).await?;
    tx.execute(SET_UNINDEXED_TO, &[Arg::Int(room), Arg::Int(0)])
        .await?;
    Ok(())
}

/// One step of the background pass in `room`: indexes its newest
/// `BACKFILL_STEP` seqs not indexed yet and moves the mark down. Returns
/// the seqs still to index there.
pub(super) async fn backfill(
    tx: &mut impl BatchTx,
    keys: &Keyring,
    room: i64,
) -> Result<i64, StoreError> {
    use Arg::Int;
    let Some(key) = keys.search() else {
        return Ok(0);
    };
    let up_to = tx.number(UNINDEXED_TO, &[Int(room)]).await?.unwrap_or(0);
    if up_to <= 0 {
        return Ok(0);
    }
    let after = (up_to - BACKFILL_STEP).max(0);
    for (id, seq, body, key_id, nonce) in tx.bodies(room, after, up_to).await? {
        // A body that does not open (a key gone) is skipped, not fatal.
        if let Ok(text) = keys.open(room, seq, key_id, nonce.as_deref(), &body) {
            index(tx, &key, room, id, &String::from_utf8_lossy(&text)).await?;
        }
    }
    tx.execute(SET_UNINDEXED_TO, &[Int(room), Int(after)])
        .await?;
    Ok(after)
}
