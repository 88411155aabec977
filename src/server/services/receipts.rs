//! Read receipts, made from the read marks the server keeps anyway: when a
//! member's mark moves, the room's sockets whose users see receipts hear
//! it (here and on the other nodes); a client opening a conversation asks
//! for where everyone stands. Only in conversations of at most
//! `RECEIPTS_MAX_MEMBERS`; in a support conversation only the customer's
//! reads are shown, to staff. A user with receipts off neither shows nor
//! sees them.

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::messages::MessageError;
use crate::realtime::protocol::{Reader, RoomKind, ServerFrame};
use crate::server::cluster::Event;
use crate::server::state::AppState;
use crate::server::store::{ReceiptScope, StoreError};

/// Whose reads in a room are shown: `None` when nobody's are; else
/// `Some(only)`, where `only` is the one member whose are (support).
fn shown_readers(scope: ReceiptScope) -> Option<Option<i64>> {
    if !scope.small {
        return None;
    }
    match scope.kind {
        RoomKind::Support => scope.customer.map(Some),
        RoomKind::Direct | RoomKind::Group => Some(None),
        // Notes are staff talking among themselves: no receipts.
        RoomKind::Notes => None,
    }
}

/// `user`'s read mark in `room` moved: tells those who see receipts.
pub async fn read_moved(state: &AppState, user: i64, room: i64) -> Result<(), StoreError> {
    let Some(scope) = state.store.receipt_scope(room).await? else {
        return Ok(());
    };
    match shown_readers(scope) {
        Some(None) => {}
        Some(Some(only)) if only == user => {}
        _ => return Ok(()),
    }
    // Empty when `user` has receipts off.
    let Some(reader) = state.store.readers(room, Some(user)).await?.pop() else {
        return Ok(());
    };
    let frame = ServerFrame::Seen(reader.clone());
    let frame = Utf8Bytes::from(frame.to_json());
    state.hub.publish_to_room(room, user, frame, true);
    state.fanout.announce(Event::Seen {
        room,
        user,
        name: reader.name,
        read_seq: reader.read_seq,
    });
    Ok(())
}

/// Where the other members of `room` stand, as `user` may see it (empty
/// when `user` has receipts off or the room has none).
pub async fn readers(state: &AppState, user: i64, room: i64) -> Result<Vec<Reader>, MessageError> {
    state
        .lookup_limiter
        .check(user)
        .map_err(MessageError::SlowDown)?;
    state
        .store
        .room_of(user, room)
        .await?
        .ok_or(MessageError::Forbidden)?;
    if !state.store.privacy_of(user).await?.receipts {
        return Ok(Vec::new());
    }
    let Some(scope) = state.store.receipt_scope(room).await? else {
        return Ok(Vec::new());
    };
    let only = match shown_readers(scope) {
        None => return Ok(Vec::new()),
        Some(Some(customer)) if customer == user => return Ok(Vec::new()),
        Some(only) => only,
    };
    let mut readers = state.store.readers(room, only).await?;
    readers.retain(|r| r.user != user);
    Ok(readers)
}
