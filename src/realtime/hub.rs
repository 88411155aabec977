//! The fan-out: which open socket listens to which room and user, and a
//! bounded queue per socket. The hub knows protocol frames and queues only; it
//! never calls a service or the store. A frame is serialised once by the
//! publisher and shared (reference-counted) by every queue it lands in.
//!
//! A socket whose queue is full is dropped from the hub at once: its queue
//! then ends after what it holds (`queue.rs`), and the socket task closes
//! it with `close::LAGGED`, so the
//! client reconnects and catches up from the database. A stalled reader
//! therefore costs at most one full queue of shared frames.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::presence::{NodeId, PresenceBook};
use super::protocol::{MessageView, Presence, PresenceView, ServerFrame};
use super::queue::{wire_frame, Offer, Offered, Outbound, SocketQueue};
use crate::model::Privacy;
use axum::body::Bytes;

pub use super::ids::{IdHasher, IdMap, IdSet};

pub type ConnId = u64;

/// Which login session a socket belongs to (the session token's hash), so
/// that ending the session can close exactly its sockets.
pub type SessionKey = [u8; 32];

/// A message as the hub takes it: (room, seq, frame), serialised once;
/// every member socket shares the frame.
pub fn message_frame(view: MessageView) -> (i64, i64, Utf8Bytes) {
    let (room, seq) = (view.room, view.seq);
    (
        room,
        seq,
        Utf8Bytes::from(ServerFrame::Message(view).to_json()),
    )
}

/// Any frame of a room's sequence (a message or a change) as the hub
/// takes it.
pub fn sequenced_frame(room: i64, seq: i64, frame: &ServerFrame) -> (i64, i64, Utf8Bytes) {
    (room, seq, Utf8Bytes::from(frame.to_json()))
}

struct Conn {
    user_id: i64,
    session: SessionKey,
    queue: Arc<SocketQueue>,
    rooms: IdSet<i64>,
    /// The tab is in use (its client says so).
    active: bool,
    /// Its user sees read receipts.
    receipts: bool,
    /// The people whose presence this socket shows.
    watching: Vec<i64>,
}

#[derive(Default)]
struct Maps {
    conns: IdMap<ConnId, Conn>,
    /// Per room, its sockets' queues (held here too, so a fan-out to
    /// thousands goes straight to each queue, not through `conns`).
    rooms: IdMap<i64, IdMap<ConnId, Arc<SocketQueue>>>,
    users: IdMap<i64, IdSet<ConnId>>,
    /// Per person, the sockets that show their presence.
    watchers: IdMap<i64, IdSet<ConnId>>,
    presence: PresenceBook,
}

impl Maps {
    fn sockets_of(&self, user_id: i64) -> Vec<ConnId> {
        self.users
            .get(&user_id)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    fn unwatch(&mut self, id: ConnId, people: &[i64]) {
        for person in people {
            if let Some(set) = self.watchers.get_mut(person) {
                set.remove(&id);
                if set.is_empty() {
                    self.watchers.remove(person);
                }
            }
        }
    }
}

#[derive(Clone)]
pub struct Hub {
    maps: Arc<RwLock<Maps>>,
    /// Per room, the newest seq handed to this hub: what the fan-out's
    /// sweep compares with the database to find announcements that never
    /// arrived (a node killed between its commit and its NOTIFY). Kept
    /// only with several nodes; one node has nothing to sweep.
    published: Option<Arc<std::sync::Mutex<HashMap<i64, i64>>>>,
    next_id: Arc<AtomicU64>,
    queue_capacity: usize,
    /// Socket tasks still running (registered or not): a stopping node
    /// waits for them to send their close frames.
    running: Arc<AtomicUsize>,
    /// Sockets dropped because their queue was full, since start (metrics).
    dropped_slow: Arc<AtomicU64>,
}

/// Unregisters its socket when dropped, however the socket task ends.
pub struct Registration {
    hub: Hub,
    pub id: ConnId,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.remove(&[self.id]);
        self.hub.running.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hub {
    pub fn new(queue_capacity: usize) -> Hub {
        Hub {
            maps: Arc::new(RwLock::new(Maps::default())),
            published: None,
            next_id: Arc::new(AtomicU64::new(1)),
            queue_capacity: queue_capacity.max(1),
            running: Arc::new(AtomicUsize::new(0)),
            dropped_slow: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A hub that also records what it handed out, for the fan-out's sweep.
    pub fn with_heads(queue_capacity: usize) -> Hub {
        Hub {
            published: Some(Arc::default()),
            ..Hub::new(queue_capacity)
        }
    }

    /// Subscribes a new socket of `user_id` to `rooms`; returns its queue.
    /// The socket counts as an active tab until it says otherwise.
    pub fn register(
        &self,
        user_id: i64,
        session: SessionKey,
        rooms: &[i64],
        privacy: Privacy,
    ) -> (Registration, Arc<SocketQueue>) {
        let queue = Arc::new(SocketQueue::new(self.queue_capacity));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.running.fetch_add(1, Ordering::Relaxed);
        let mut maps = self.write();
        for room in rooms {
            maps.rooms
                .entry(*room)
                .or_default()
                .insert(id, queue.clone());
        }
        maps.users.entry(user_id).or_default().insert(id);
        maps.conns.insert(
            id,
            Conn {
                user_id,
                session,
                queue: queue.clone(),
                rooms: rooms.iter().copied().collect(),
                active: true,
                receipts: privacy.receipts,
                watching: Vec::new(),
            },
        );
        maps.presence.set_invisible(user_id, privacy.invisible);
        (
            Registration {
                hub: self.clone(),
                id,
            },
            queue,
        )
    }

    /// Adds rooms to an already registered socket.
    pub fn subscribe(&self, id: ConnId, rooms: &[i64]) {
        let mut maps = self.write();
        let Some(conn) = maps.conns.get_mut(&id) else {
            return;
        };
        conn.rooms.extend(rooms.iter().copied());
        let queue = conn.queue.clone();
        for room in rooms {
            maps.rooms
                .entry(*room)
                .or_default()
                .insert(id, queue.clone());
        }
    }

    /// Queues a stored message for every socket in its room.
    #[cfg(test)]
    pub fn publish_message(&self, room: i64, seq: i64, frame: Utf8Bytes) {
        self.publish_messages(&[(room, seq, frame)]);
    }

    /// Delivers stored messages, each as (room, seq, frame), in commit
    /// order. Each socket of a room gets all of that room's messages at
    /// once: written straight to it when its task is waiting with nothing
    /// queued (the direct lane, `queue.rs`; each frame is encoded for the
    /// wire once, for every socket), else queued under one lock and one
    /// wake, so its task writes them together.
    pub fn publish_messages(&self, messages: &[(i64, i64, Utf8Bytes)]) {
        for (room, seq, _) in messages {
            self.note_published(*room, *seq);
        }
        // Group by room, keeping each room's commit (seq) order.
        let mut order: Vec<(i64, usize)> = messages
            .iter()
            .enumerate()
            .map(|(i, (room, _, _))| (*room, i))
            .collect();
        order.sort_unstable();
        let lagged = {
            let maps = self.read();
            let mut lagged = Vec::new();
            for group in order.chunk_by(|a, b| a.0 == b.0) {
                let room = group[0].0;
                let Some(ids) = maps.rooms.get(&room) else {
                    continue;
                };
                // Encoded for the wire once per message, and only for a
                // room with sockets here.
                let wires: Vec<Bytes> = group
                    .iter()
                    .map(|&(_, i)| wire_frame(messages[i].2.as_str()))
                    .collect();
                let offered: Vec<Offered<'_>> = group
                    .iter()
                    .zip(&wires)
                    .map(|(&(_, i), wire)| Offered {
                        seq: messages[i].1,
                        frame: &messages[i].2,
                        wire,
                    })
                    .collect();
                // The queues are scattered in memory: ask for the ones a
                // few sockets ahead while writing this one.
                let mut ahead = ids.values().skip(PREFETCH_AHEAD);
                for (id, queue) in ids {
                    if let Some(next) = ahead.next() {
                        prefetch(Arc::as_ptr(next));
                    }
                    if queue.offer_messages(room, &offered) == Offer::Refused {
                        lagged.push(*id);
                    }
                }
            }
            lagged
        };
        self.drop_lagged(&lagged);
    }

    /// Queues a frame for every socket of one user (read marks, room changes).
    pub fn publish_to_user(&self, user_id: i64, frame: Utf8Bytes) {
        let lagged = {
            let maps = self.read();
            let Some(ids) = maps.users.get(&user_id) else {
                return;
            };
            offer(&maps, ids.iter(), || Outbound::Frame(frame.clone()))
        };
        self.drop_lagged(&lagged);
    }

    /// Subscribes every open socket of `user_id` to `room`, starting after `seq`.
    pub fn join(&self, user_id: i64, room: i64, seq: i64, frame: Utf8Bytes) {
        let lagged = {
            let mut maps = self.write();
            let ids = maps.sockets_of(user_id);
            for id in &ids {
                let Some(conn) = maps.conns.get_mut(id) else {
                    continue;
                };
                conn.rooms.insert(room);
                let queue = conn.queue.clone();
                maps.rooms.entry(room).or_default().insert(*id, queue);
            }
            offer(&maps, ids.iter(), || Outbound::Joined {
                room,
                seq,
                frame: frame.clone(),
            })
        };
        self.drop_lagged(&lagged);
    }

    /// Unsubscribes every open socket of `user_id` from `room` at once (a
    /// removed member receives nothing more from it) and tells each.
    pub fn leave(&self, user_id: i64, room: i64, frame: Utf8Bytes) {
        let lagged = {
            let mut maps = self.write();
            let ids = maps.sockets_of(user_id);
            for id in &ids {
                if let Some(conn) = maps.conns.get_mut(id) {
                    conn.rooms.remove(&room);
                }
                if let Some(set) = maps.rooms.get_mut(&room) {
                    set.remove(id);
                    if set.is_empty() {
                        maps.rooms.remove(&room);
                    }
                }
            }
            offer(&maps, ids.iter(), || Outbound::Left {
                room,
                frame: frame.clone(),
            })
        };
        self.drop_lagged(&lagged);
    }

    /// Closes every socket opened with `session` (logout): each gets
    /// `close::UNAUTHORIZED` after what it already has queued, and leaves the
    /// hub at once, so nothing more reaches it.
    pub fn end_session(&self, session: &SessionKey, code: u16) {
        let ended: Vec<ConnId> = {
            let maps = self.read();
            maps.conns
                .iter()
                .filter(|(_, conn)| &conn.session == session)
                .map(|(id, conn)| {
                    // A full queue cannot take the close; dropping the
                    // socket from the hub still ends it.
                    conn.queue.push(Outbound::Close(code));
                    *id
                })
                .collect()
        };
        self.remove(&ended);
    }

    /// Closes every socket of `user_id`, whatever its session, like
    /// `end_session` (their sessions were revoked).
    pub fn end_user(&self, user_id: i64, code: u16) {
        let ended: Vec<ConnId> = {
            let maps = self.read();
            let ids = maps.sockets_of(user_id);
            for id in &ids {
                if let Some(conn) = maps.conns.get(id) {
                    conn.queue.push(Outbound::Close(code));
                }
            }
            ids
        };
        self.remove(&ended);
    }

    /// Closes every socket with `code` after what it already has queued
    /// (a stopping node: `close::RESTARTING`), and drops it from the hub at
    /// once. Returns how many there were.
    pub fn close_all(&self, code: u16) -> usize {
        let ids: Vec<ConnId> = {
            let maps = self.read();
            for conn in maps.conns.values() {
                conn.queue.push(Outbound::Close(code));
            }
            maps.conns.keys().copied().collect()
        };
        self.remove(&ids);
        ids.len()
    }

    /// Sockets dropped because their queue filled, since start.
    pub fn dropped_slow(&self) -> u64 {
        self.dropped_slow.load(Ordering::Relaxed)
    }

    /// Frames waiting in every socket's queue (read at a metrics scrape).
    pub fn queued_frames(&self) -> usize {
        self.read()
            .conns
            .values()
            .map(|conn| conn.queue.len())
            .sum()
    }

    /// Drops the sockets a fan-out found with a full queue, counting them.
    fn drop_lagged(&self, ids: &[ConnId]) {
        if !ids.is_empty() {
            self.dropped_slow
                .fetch_add(ids.len() as u64, Ordering::Relaxed);
            self.remove(ids);
        }
    }

    /// Socket tasks that have not ended yet, closed or not.
    pub fn running_sockets(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Drops every socket from the hub: each closes with `close::LAGGED`,
    /// so its client reconnects and catches up from the database. Used when
    /// this node may have missed events (its fan-out listener was down).
    /// Returns how many there were.
    pub fn lag_all(&self) -> usize {
        let ids: Vec<ConnId> = self.read().conns.keys().copied().collect();
        self.remove(&ids);
        ids.len()
    }

    /// Whether any socket here listens to `room` (events for other rooms
    /// need no database read on this node).
    pub fn has_room(&self, room: i64) -> bool {
        self.read().rooms.contains_key(&room)
    }

    /// Records that everything of `room` up to `seq` was handed out here.
    pub fn note_published(&self, room: i64, seq: i64) {
        let Some(published) = &self.published else {
            return;
        };
        let mut published = published.lock().unwrap_or_else(|p| p.into_inner());
        let head = published.entry(room).or_insert(seq);
        *head = (*head).max(seq);
    }

    /// Rooms with a socket here, with the newest seq handed out for each
    /// (`None`: nothing yet). Forgets rooms nobody here listens to.
    pub fn heads(&self) -> Vec<(i64, Option<i64>)> {
        let Some(published) = &self.published else {
            return Vec::new();
        };
        let rooms: IdSet<i64> = self.read().rooms.keys().copied().collect();
        let mut published = published.lock().unwrap_or_else(|p| p.into_inner());
        published.retain(|room, _| rooms.contains(room));
        rooms
            .into_iter()
            .map(|room| (room, published.get(&room).copied()))
            .collect()
    }

    /// How many sockets `user_id` has open here.
    pub fn socket_count(&self, user_id: i64) -> usize {
        self.read().users.get(&user_id).map_or(0, IdSet::len)
    }

    /// Whether `user_id` has a socket here.
    pub fn has_user(&self, user_id: i64) -> bool {
        self.read().users.contains_key(&user_id)
    }

    /// How many sockets are open (for logs and the load test).
    pub fn connection_count(&self) -> usize {
        self.read().conns.len()
    }

    /// The users with a socket here subscribed to `room`, each once.
    pub fn users_in_room(&self, room: i64) -> Vec<i64> {
        let maps = self.read();
        let Some(ids) = maps.rooms.get(&room) else {
            return Vec::new();
        };
        let mut users: Vec<i64> = ids
            .keys()
            .filter_map(|id| maps.conns.get(id).map(|c| c.user_id))
            .collect();
        users.sort_unstable();
        users.dedup();
        users
    }

    /// Queues a frame about `about` for every other member's socket in
    /// `room` (typing; with `receipts_only`, a read receipt for those who
    /// see them). Not part of the room's sequence: nothing is caught up.
    pub fn publish_to_room(&self, room: i64, about: i64, frame: Utf8Bytes, receipts_only: bool) {
        let lagged = {
            let maps = self.read();
            let Some(ids) = maps.rooms.get(&room) else {
                return;
            };
            let ids = ids.keys().filter(|id| {
                maps.conns
                    .get(id)
                    .is_some_and(|c| c.user_id != about && (c.receipts || !receipts_only))
            });
            offer(&maps, ids, || Outbound::Frame(frame.clone()))
        };
        self.drop_lagged(&lagged);
    }

    /// A socket's tab is in use, or not.
    pub fn set_active(&self, id: ConnId, active: bool) {
        let mut maps = self.write();
        let Some(conn) = maps.conns.get_mut(&id) else {
            return;
        };
        if conn.active != active {
            conn.active = active;
            let user = conn.user_id;
            maps.presence.touch(user);
        }
    }

    /// A user changed their privacy settings (on this node or another).
    pub fn set_privacy(&self, user_id: i64, privacy: Privacy) {
        let mut maps = self.write();
        let ids = maps.sockets_of(user_id);
        if ids.is_empty() {
            return;
        }
        for id in ids {
            if let Some(conn) = maps.conns.get_mut(&id) {
                conn.receipts = privacy.receipts;
            }
        }
        maps.presence.set_invisible(user_id, privacy.invisible);
    }

    /// Makes socket `id` show `people` (replacing whom it showed); returns
    /// where each stands now (an offline one's `last_seen` only if it is
    /// known here).
    pub fn watch(&self, id: ConnId, mut people: Vec<i64>) -> Vec<PresenceView> {
        people.sort_unstable();
        people.dedup();
        let mut maps = self.write();
        let Some(conn) = maps.conns.get_mut(&id) else {
            return Vec::new();
        };
        let before = std::mem::replace(&mut conn.watching, people.clone());
        maps.unwatch(id, &before);
        for person in &people {
            maps.watchers.entry(*person).or_default().insert(id);
        }
        people.iter().map(|p| maps.presence.view(*p)).collect()
    }

    /// Another node says these users are (node-locally) in these states.
    pub fn set_remote_presence(&self, node: NodeId, states: &[(i64, Presence)]) {
        let mut maps = self.write();
        for (user, state) in states {
            maps.presence.set_remote(node, *user, *state);
        }
    }

    /// Another node is gone, or may have been missed (`None`: every node).
    pub fn forget_nodes(&self, node: Option<NodeId>) {
        let mut maps = self.write();
        match node {
            Some(node) => maps.presence.forget_node(node),
            None => maps.presence.forget_all_nodes(),
        }
    }

    /// Whether `user_id` (with a socket here) is shown offline to others.
    pub fn is_invisible(&self, user_id: i64) -> bool {
        self.read().presence.is_invisible(user_id)
    }

    /// Whether `user` has a tab in use (visible and touched lately) here or,
    /// as its node last said, on another node. A tab here counts even when
    /// its user appears offline to others; on another node, such a tab is
    /// not known (its node announces the user as offline).
    pub fn in_use(&self, user_id: i64) -> bool {
        let maps = self.read();
        local_presence(&maps.users, &maps.conns, user_id) == Presence::Online
            || maps.presence.online_elsewhere(user_id)
    }

    /// This node's users and their states, for a node that asks.
    pub fn local_presence(&self) -> Vec<(i64, Presence)> {
        self.read().presence.local_states()
    }

    /// Turns presence changes since the last round into one frame per
    /// watching socket (each with the changes it shows); returns what the
    /// other nodes must be told.
    pub fn presence_round(&self, now: i64) -> Vec<(i64, Presence)> {
        let (lagged, announce) = {
            let mut maps = self.write();
            let maps = &mut *maps;
            let (users, conns) = (&maps.users, &maps.conns);
            let round = maps
                .presence
                .round(now, |user| local_presence(users, conns, user));
            let mut per_socket: IdMap<ConnId, Vec<PresenceView>> = IdMap::default();
            for view in &round.shown {
                for id in maps.watchers.get(&view.user).into_iter().flatten() {
                    per_socket.entry(*id).or_default().push(*view);
                }
            }
            let mut lagged = Vec::new();
            for (id, users) in per_socket {
                let frame = Utf8Bytes::from(ServerFrame::Presence { users }.to_json());
                if let Some(conn) = maps.conns.get(&id) {
                    if !conn.queue.push(Outbound::Frame(frame)) {
                        lagged.push(id);
                    }
                }
            }
            (lagged, round.announce)
        };
        self.drop_lagged(&lagged);
        announce
    }

    /// Drops "went offline at" times older than `before`.
    pub fn prune_gone(&self, before: i64) {
        self.write().presence.prune_gone(before);
    }

    fn remove(&self, ids: &[ConnId]) {
        if ids.is_empty() {
            return;
        }
        let mut maps = self.write();
        for id in ids {
            let Some(conn) = maps.conns.remove(id) else {
                continue;
            };
            conn.queue.close();
            maps.unwatch(*id, &conn.watching);
            maps.presence.touch(conn.user_id);
            for room in &conn.rooms {
                if let Some(set) = maps.rooms.get_mut(room) {
                    set.remove(id);
                    if set.is_empty() {
                        maps.rooms.remove(room);
                    }
                }
            }
            if let Some(set) = maps.users.get_mut(&conn.user_id) {
                set.remove(id);
                if set.is_empty() {
                    maps.users.remove(&conn.user_id);
                    maps.presence.forget_local(conn.user_id);
                }
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Maps> {
        self.maps.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Maps> {
        self.maps.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// A user's presence from this node's sockets alone.
fn local_presence(
    users: &IdMap<i64, IdSet<ConnId>>,
    conns: &IdMap<ConnId, Conn>,
    user: i64,
) -> Presence {
    let Some(ids) = users.get(&user) else {
        return Presence::Offline;
    };
    if ids.iter().any(|id| conns.get(id).is_some_and(|c| c.active)) {
        Presence::Online
    } else {
        Presence::Away
    }
}

/// Tries each socket's queue; returns the ids whose queue was full or closed.
/// How many sockets ahead the fan-out asks for a queue's memory.
const PREFETCH_AHEAD: usize = 8;

/// Asks the CPU to bring `ptr`'s cache line in, without waiting for it.
fn prefetch<T>(ptr: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults, even on a bad
    // address, and reads nothing into the program.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(ptr.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}

fn offer<'a>(
    maps: &Maps,
    ids: impl Iterator<Item = &'a ConnId>,
    item: impl Fn() -> Outbound,
) -> Vec<ConnId> {
    let mut lagged = Vec::new();
    for id in ids {
        if let Some(conn) = maps.conns.get(id) {
            if !conn.queue.push(item()) {
                lagged.push(*id);
            }
        }
    }
    lagged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Utf8Bytes {
        Utf8Bytes::from(text.to_string())
    }

    #[tokio::test]
    async fn messages_reach_room_members_only() {
        let hub = Hub::new(8);
        let (_a, rx_a) = hub.register(1, [1; 32], &[10], Privacy::default());
        let (_b, rx_b) = hub.register(2, [2; 32], &[20], Privacy::default());
        hub.publish_message(10, 1, frame("m1"));
        assert!(matches!(
            rx_a.try_recv(),
            Some(Outbound::RoomMessage {
                room: 10,
                seq: 1,
                ..
            })
        ));
        assert!(rx_b.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_batch_reaches_each_room_in_seq_order() {
        let hub = Hub::new(8);
        let (_a, rx_a) = hub.register(1, [1; 32], &[10], Privacy::default());
        let (_b, rx_b) = hub.register(2, [2; 32], &[20], Privacy::default());
        hub.publish_messages(&[
            (10, 1, frame("a1")),
            (20, 1, frame("b1")),
            (10, 2, frame("a2")),
        ]);
        for (rx, room, seqs) in [(&rx_a, 10, vec![1, 2]), (&rx_b, 20, vec![1])] {
            for want in seqs {
                assert!(matches!(
                    rx.try_recv(),
                    Some(Outbound::RoomMessage { room: r, seq, .. }) if r == room && seq == want
                ));
            }
            assert!(rx.try_recv().is_none(), "nothing of the other room");
        }
    }

    #[tokio::test]
    async fn a_full_queue_drops_the_socket_and_ends_its_queue() {
        let hub = Hub::new(2);
        let (_slow, rx) = hub.register(1, [1; 32], &[10], Privacy::default());
        for seq in 1..=3 {
            hub.publish_message(10, seq, frame("m"));
        }
        assert_eq!(hub.connection_count(), 0, "the lagging socket was dropped");
        assert!(rx.recv().await.is_some());
        assert!(rx.recv().await.is_some());
        assert!(
            rx.recv().await.is_none(),
            "its queue ends after what it held"
        );
    }

    #[tokio::test]
    async fn dropping_the_registration_unsubscribes() {
        let hub = Hub::new(4);
        let (reg, _rx) = hub.register(1, [1; 32], &[10, 11], Privacy::default());
        assert_eq!(hub.connection_count(), 1);
        drop(reg);
        assert_eq!(hub.connection_count(), 0);
        assert!(hub.read().rooms.is_empty());
        assert!(hub.read().users.is_empty());
    }

    #[tokio::test]
    async fn ending_a_session_closes_only_its_sockets() {
        let hub = Hub::new(4);
        let (_a, rx_a) = hub.register(1, [1; 32], &[10], Privacy::default());
        let (_b, rx_b) = hub.register(1, [2; 32], &[10], Privacy::default());
        hub.end_session(&[1; 32], 4001);
        assert!(matches!(rx_a.recv().await, Some(Outbound::Close(4001))));
        assert!(rx_a.recv().await.is_none(), "and it leaves the hub");
        hub.publish_message(10, 1, frame("m"));
        assert!(
            matches!(rx_b.try_recv(), Some(Outbound::RoomMessage { .. })),
            "the other session is untouched"
        );
    }

    #[tokio::test]
    async fn leave_unsubscribes_every_socket_of_the_user() {
        let hub = Hub::new(4);
        let (_t1, rx1) = hub.register(7, [7; 32], &[99], Privacy::default());
        let (_t2, rx2) = hub.register(8, [8; 32], &[99], Privacy::default());
        hub.leave(7, 99, frame("gone"));
        hub.publish_message(99, 1, frame("m"));
        assert!(matches!(
            rx1.try_recv(),
            Some(Outbound::Left { room: 99, .. })
        ));
        assert!(rx1.try_recv().is_none(), "nothing after leaving");
        assert!(matches!(rx2.try_recv(), Some(Outbound::RoomMessage { .. })));
    }

    #[tokio::test]
    async fn join_subscribes_every_socket_of_the_user() {
        let hub = Hub::new(4);
        let (_t1, rx1) = hub.register(7, [7; 32], &[], Privacy::default());
        let (_t2, rx2) = hub.register(7, [7; 32], &[], Privacy::default());
        hub.join(7, 99, 0, frame("joined"));
        hub.publish_message(99, 1, frame("m"));
        for rx in [&rx1, &rx2] {
            assert!(matches!(
                rx.try_recv(),
                Some(Outbound::Joined { room: 99, .. })
            ));
            assert!(matches!(
                rx.try_recv(),
                Some(Outbound::RoomMessage {
                    room: 99,
                    seq: 1,
                    ..
                })
            ));
        }
    }

    #[tokio::test]
    async fn presence_reaches_only_the_sockets_that_show_the_person() {
        let hub = Hub::new(8);
        let (watcher, rx_w) = hub.register(1, [1; 32], &[], Privacy::default());
        let (_other, rx_o) = hub.register(2, [2; 32], &[], Privacy::default());
        let now = hub.watch(watcher.id, vec![3, 3]);
        assert_eq!(now.len(), 1, "each person once");
        assert_eq!(now[0].state, Presence::Offline);
        hub.presence_round(0); // users 1 and 2 came online: nobody shows them
        while rx_w.try_recv().is_some() {}
        let (ada, _rx) = hub.register(3, [3; 32], &[], Privacy::default());
        let announced = hub.presence_round(10);
        assert_eq!(announced, vec![(3, Presence::Online)]);
        assert!(
            matches!(rx_w.try_recv(), Some(Outbound::Frame(f)) if f.as_str().contains(r#""state":"online""#))
        );
        assert!(rx_o.try_recv().is_none(), "the other socket shows nobody");
        hub.set_active(ada.id, false);
        hub.presence_round(20);
        assert!(matches!(rx_w.try_recv(), Some(Outbound::Frame(f)) if f.as_str().contains("away")));
        drop(ada);
        assert_eq!(hub.presence_round(30), vec![(3, Presence::Offline)]);
        assert!(
            matches!(rx_w.try_recv(), Some(Outbound::Frame(f)) if f.as_str().contains(r#""last_seen":30"#))
        );
    }

    #[test]
    fn only_a_multi_node_hub_records_what_it_handed_out() {
        let single = Hub::new(4);
        let (_reg, _rx) = single.register(1, [0; 32], &[7], Privacy::default());
        single.publish_message(7, 3, Utf8Bytes::from_static("m"));
        assert!(single.heads().is_empty(), "nothing kept on one node");

        let several = Hub::with_heads(4);
        let (_reg, _rx) = several.register(1, [0; 32], &[7, 8], Privacy::default());
        several.publish_message(7, 3, Utf8Bytes::from_static("m"));
        several.publish_message(7, 2, Utf8Bytes::from_static("m"));
        let mut heads = several.heads();
        heads.sort_unstable();
        assert_eq!(heads, vec![(7, Some(3)), (8, None)]);
    }
}
