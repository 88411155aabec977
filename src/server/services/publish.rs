//! Telling open sockets what changed, on this node (the hub) and on the
//! others (the cluster's fan-out), always after the change has committed.
//! Every service that changes what a member sees goes through here, so a
//! local delivery never lacks its announcement to the other nodes.

use axum::extract::ws::Utf8Bytes;

use crate::realtime::hub::Hub;
use crate::realtime::protocol::ServerFrame;
use crate::server::cluster::{Event, Fanout};
use crate::server::state::AppState;
use crate::server::store::StoreError;

/// Subscribes every open socket of `user` to `room` and sends them its summary.
pub async fn subscribe(state: &AppState, user: i64, room: i64) -> Result<(), StoreError> {
    if let Some(summary) = state.store.room_of(user, room).await? {
        let seq = summary.last_seq;
        let frame = Utf8Bytes::from(ServerFrame::RoomAdded(summary).to_json());
        state.hub.join(user, room, seq, frame);
        state.fanout.announce(Event::Joined { user, room });
    }
    Ok(())
}

/// Sends `user`'s tabs the room's current summary.
pub async fn push_summary(state: &AppState, user: i64, room: i64) -> Result<(), StoreError> {
    if let Some(summary) = state.store.room_of(user, room).await? {
        let frame = Utf8Bytes::from(ServerFrame::RoomUpdated(summary).to_json());
        state.hub.publish_to_user(user, frame);
        state.fanout.announce(Event::Summary { user, room });
    }
    Ok(())
}

/// Sends every member the room's current summary (its name, owner or
/// support state changed).
pub async fn push_summaries(state: &AppState, room: i64) -> Result<(), StoreError> {
    for user in state.store.member_ids(room).await? {
        push_summary(state, user, room).await?;
    }
    Ok(())
}

/// Takes `user`'s open sockets out of `room` at once and tells them.
pub fn unsubscribe(state: &AppState, user: i64, room: i64) {
    let frame = Utf8Bytes::from(ServerFrame::RoomRemoved { room }.to_json());
    state.hub.leave(user, room, frame);
    state.fanout.announce(Event::Left { user, room });
}

/// Tells every tab of `user_id` (here and on the other nodes) where their
/// read mark in `room` stands: `unread` messages are above it, counted up
/// to `last_seq`.
pub fn read_mark(
    hub: &Hub,
    fanout: &Fanout,
    user_id: i64,
    room: i64,
    read_seq: i64,
    last_seq: i64,
    unread: i64,
) {
    let frame = ServerFrame::ReadMark {
        room,
        read_seq,
        last_seq,
        unread,
    };
    hub.publish_to_user(user_id, Utf8Bytes::from(frame.to_json()));
    fanout.announce(Event::ReadMark {
        user: user_id,
        room,
        read_seq,
        last_seq,
        unread,
    });
}
