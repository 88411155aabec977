//! Presence and typing: live, in memory, cheap. The hub knows each socket's
//! tab state and whom it shows; a round every `ROUND_EVERY` turns what
//! changed into one frame per watching socket and one event for the other
//! nodes (so a tab that reconnects within a round shows nobody anything).
//! Nothing here writes to the database except "last seen", at most once a
//! minute per user, in one transaction per node. Typing is never stored.

use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::messages::{Author, MessageError};
use crate::model::Privacy;
use crate::realtime::hub::{ConnId, IdMap};
use crate::realtime::protocol::{Presence, ServerFrame};
use crate::server::cluster::{presence_events, Event};
use crate::server::state::AppState;
use crate::server::store::{now_ms, StoreError};

/// How often presence changes go out.
const ROUND_EVERY: Duration = Duration::from_millis(250);
/// How often "last seen" is stored.
const LAST_SEEN_EVERY: Duration = Duration::from_secs(60);
/// The most people one socket shows: its direct chats' and support
/// conversations' people, and the open conversation's members as the
/// member panel lists them first.
pub const SHOWN_MAX: i64 = 500;

/// Runs the presence rounds and the "last seen" writes for this node.
pub fn spawn_rounds(state: AppState) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(ROUND_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Users who went offline here, and when, until stored.
        let mut went: IdMap<i64, i64> = IdMap::default();
        let mut stored_at = Instant::now();
        loop {
            ticks.tick().await;
            let now = now_ms();
            let announce = state.hub.presence_round(now);
            for (user, presence) in &announce {
                if *presence == Presence::Offline {
                    went.insert(*user, now);
                } else {
                    went.remove(user);
                }
            }
            for event in presence_events(&announce) {
                state.fanout.announce(event);
            }
            if stored_at.elapsed() >= LAST_SEEN_EVERY {
                stored_at = Instant::now();
                let mut seen: Vec<(i64, i64)> = went.drain().collect();
                seen.extend(
                    state
                        .hub
                        .local_presence()
                        .into_iter()
                        .map(|(u, _)| (u, now)),
                );
                if let Err(err) = state.store.write_last_seen(&seen).await {
                    tracing::warn!(error = %err, "presence: storing last seen failed");
                }
                // Stored now: a new watcher reads it from the database.
                state
                    .hub
                    .prune_gone(now - 2 * LAST_SEEN_EVERY.as_millis() as i64);
            }
        }
    });
}

/// Makes socket `conn` of `user` show the people of its sidebar and queue,
/// and the members of `room` (the conversation it has open, of which
/// `user` must be a member); returns where each of them stands now.
pub async fn show(
    state: &AppState,
    conn: ConnId,
    user: i64,
    room: Option<i64>,
) -> Result<ServerFrame, MessageError> {
    let people = state
        .store
        .people_shown(user, room, SHOWN_MAX)
        .await?
        .ok_or(MessageError::Forbidden)?;
    let mut users = state.hub.watch(conn, people);
    let unknown: Vec<i64> = users
        .iter()
        .filter(|v| v.state == Presence::Offline && v.last_seen.is_none())
        .map(|v| v.user)
        .collect();
    if !unknown.is_empty() {
        let stored: IdMap<i64, Option<i64>> =
            state.store.last_seen(&unknown).await?.into_iter().collect();
        for view in &mut users {
            if view.last_seen.is_none() {
                view.last_seen = stored.get(&view.user).copied().flatten();
            }
        }
    }
    Ok(ServerFrame::Presence { users })
}

/// Tells `room`'s members (here and on the other nodes) that `author` is
/// typing or stopped. The caller has checked that `author` is a member.
/// An invisible user's typing is not shown (it would give them away).
pub fn typing(state: &AppState, author: &Author, room: i64, on: bool) {
    if state.hub.is_invisible(author.id) {
        return;
    }
    let frame = ServerFrame::Typing {
        room,
        user: author.id,
        name: author.name.clone(),
        on,
    };
    let frame = Utf8Bytes::from(frame.to_json());
    state.hub.publish_to_room(room, author.id, frame, false);
    state.fanout.announce(Event::Typing {
        room,
        user: author.id,
        name: author.name.clone(),
        on,
    });
}

pub async fn privacy(state: &AppState, user: i64) -> Result<Privacy, StoreError> {
    state.store.privacy_of(user).await
}

/// Stores `user`'s privacy settings and applies them on every node at
/// once: an invisible user goes offline for others in the next round.
pub async fn set_privacy(
    state: &AppState,
    user: i64,
    privacy: Privacy,
) -> Result<(), MessageError> {
    state
        .lookup_limiter
        .check(user)
        .map_err(MessageError::SlowDown)?;
    state.store.set_privacy(user, privacy).await?;
    state.hub.set_privacy(user, privacy);
    state.fanout.announce(Event::Privacy { user, privacy });
    Ok(())
}
