//! Telling open sockets what changed, on this node (the hub) and on the
//! others (the cluster's fan-out), always after the change has committed.
//! Every service that changes what a member sees goes through here, so a
//! local delivery never lacks its announcement to the other nodes.

use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::realtime::hub::Hub;
use crate::realtime::protocol::{RoomSummary, ServerFrame};
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

/// After retention deleted the room's oldest messages: every member with
/// a socket, here and on the other nodes, gets the room's summary, which
/// says how far it went (their tabs drop those messages) and their count
/// (their read mark moved up if it was below the cut).
pub async fn trimmed(state: &AppState, room: i64) -> Result<(), StoreError> {
    for user in state.hub.users_in_room(room) {
        if let Some(summary) = state.store.room_of(user, room).await? {
            let frame = Utf8Bytes::from(ServerFrame::RoomUpdated(summary).to_json());
            state.hub.publish_to_user(user, frame);
        }
    }
    state.fanout.announce(Event::Trimmed { room });
    Ok(())
}

/// Takes `user`'s open sockets out of `room` at once and tells them.
pub fn unsubscribe(state: &AppState, user: i64, room: i64) {
    let frame = Utf8Bytes::from(ServerFrame::RoomRemoved { room }.to_json());
    state.hub.leave(user, room, frame);
    state.fanout.announce(Event::Left { user, room });
}

/// Tells every tab of `user_id` (here and on the other nodes) where their
/// read mark in `room` stands (see `ReadCount`).
pub fn read_mark(hub: &Hub, fanout: &Fanout, user_id: i64, room: i64, count: ReadCount) {
    let ReadCount {
        read_seq,
        last_seq,
        unread,
        mentions,
    } = count;
    let frame = ServerFrame::ReadMark {
        room,
        read_seq,
        last_seq,
        unread,
        mentions,
    };
    hub.publish_to_user(user_id, Utf8Bytes::from(frame.to_json()));
    fanout.announce(Event::ReadMark {
        user: user_id,
        room,
        read_seq,
        last_seq,
        unread,
        mentions,
    });
}

/// A member's read mark in a room and what is above it: `unread` messages,
/// `mentions` of them calling the member, counted up to `last_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadCount {
    pub read_seq: i64,
    pub last_seq: i64,
    pub unread: i64,
    pub mentions: i64,
}

impl ReadCount {
    /// Everything up to `seq` read, nothing above it.
    pub fn all_read(seq: i64) -> ReadCount {
        ReadCount {
            read_seq: seq,
            last_seq: seq,
            unread: 0,
            mentions: 0,
        }
    }

    pub fn of(summary: &RoomSummary) -> ReadCount {
        ReadCount {
            read_seq: summary.read_seq,
            last_seq: summary.last_seq,
            unread: summary.unread,
            mentions: summary.mentions,
        }
    }
}
