//! Fan-out across nodes. With Postgres, several nodes serve the same users;
//! every event a socket can receive is announced to the other nodes with
//! NOTIFY after its transaction has committed, and each node hands it to
//! its own sockets through its hub. With SQLite there is one node and this
//! does nothing.
//!
//! What travels is a reference, never content: "room 7 has seqs 41 to 45",
//! "user 3's view of room 7 changed". The receiving node reads the rows
//! from the database (decrypting them as usual), so no message text sits
//! in Postgres's notification queue and no payload outgrows NOTIFY's 8000
//! bytes. Order and exactly-once per socket come from the seq contract:
//! a socket fills any gap from the database and drops what it already sent.
//!
//! One task per node sends: it takes every event waiting, merges
//! consecutive seqs of a room into one range and packs them into as few
//! NOTIFYs as fit (NOTIFY takes a global lock at commit, so one per batch,
//! never one per message, and never inside the message transaction).
//! Another task listens. If its connection drops, the node reconnects and
//! then drops every local socket with `close::LAGGED`: each client
//! reconnects and catches up from the database, so nothing missed while
//! deaf is lost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::mpsc;

use crate::model::Role;
use crate::realtime::hub::{Hub, SessionKey};
use crate::realtime::protocol::{MessageView, ServerFrame};
use crate::server::messages::message_frame;
use crate::server::store::Store;

const CHANNEL: &str = "glasschat";
/// NOTIFY refuses payloads of 8000 bytes or more; stay well below.
const MAX_PAYLOAD: usize = 7_600;
/// Events waiting to be sent; past this the peers are told to resync.
const QUEUE: usize = 65_536;
/// At most this many events per send round.
const ROUND: usize = 4_096;

/// Something a socket on another node may need to hear about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum Event {
    /// Messages `from..=to` of `room` are stored.
    Message {
        room: i64,
        from: i64,
        to: i64,
    },
    ReadMark {
        user: i64,
        room: i64,
        read_seq: i64,
        last_seq: i64,
    },
    /// The user's summary of the room changed (renamed, hidden, support state).
    Summary {
        user: i64,
        room: i64,
    },
    /// The user joined the room.
    Joined {
        user: i64,
        room: i64,
    },
    /// The user left or lost the room.
    Left {
        user: i64,
        room: i64,
    },
    EndSession {
        session: SessionKey,
        code: u16,
    },
    EndUser {
        user: i64,
        code: u16,
    },
    RoleChanged {
        user: i64,
        role: Role,
    },
    /// The sender dropped events (its queue overflowed): every node makes
    /// its sockets catch up.
    Resync,
}

#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    node: u64,
    events: Vec<Event>,
}

/// The listener's state, for `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerState {
    /// SQLite: one node, nothing to listen to.
    SingleNode,
    Connecting,
    Listening,
    Reconnecting,
}

impl ListenerState {
    pub fn as_str(self) -> &'static str {
        match self {
            ListenerState::SingleNode => "single-node",
            ListenerState::Connecting => "connecting",
            ListenerState::Listening => "listening",
            ListenerState::Reconnecting => "reconnecting",
        }
    }

    fn from_u8(value: u8) -> ListenerState {
        match value {
            1 => ListenerState::Connecting,
            2 => ListenerState::Listening,
            3 => ListenerState::Reconnecting,
            _ => ListenerState::SingleNode,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            ListenerState::SingleNode => 0,
            ListenerState::Connecting => 1,
            ListenerState::Listening => 2,
            ListenerState::Reconnecting => 3,
        }
    }
}

/// This node's side of the fan-out; cheap to clone.
#[derive(Clone)]
pub struct Fanout {
    node: u64,
    outbox: Option<mpsc::Sender<Event>>,
    overflowed: Arc<AtomicBool>,
    state: Arc<AtomicU8>,
}

impl Fanout {
    /// One node (SQLite): announcing is a no-op.
    pub fn single_node() -> Fanout {
        Fanout {
            node: 0,
            outbox: None,
            overflowed: Arc::new(AtomicBool::new(false)),
            state: Arc::new(AtomicU8::new(ListenerState::SingleNode.as_u8())),
        }
    }

    /// Several nodes on one Postgres: starts the sending task; `listen`
    /// starts the receiving one once the hub exists.
    pub fn postgres(pool: PgPool) -> Fanout {
        let (tx, rx) = mpsc::channel(QUEUE);
        let fanout = Fanout {
            node: rand_core::RngCore::next_u64(&mut rand_core::OsRng) | 1,
            outbox: Some(tx),
            overflowed: Arc::new(AtomicBool::new(false)),
            state: Arc::new(AtomicU8::new(ListenerState::Connecting.as_u8())),
        };
        tokio::spawn(send_loop(pool, rx, fanout.node, fanout.overflowed.clone()));
        fanout
    }

    /// Whether there are other nodes to tell (Postgres).
    pub fn has_peers(&self) -> bool {
        self.outbox.is_some()
    }

    /// Tells the other nodes; call after the change has committed and the
    /// local hub has been told.
    pub fn announce(&self, event: Event) {
        let Some(outbox) = &self.outbox else {
            return;
        };
        if outbox.try_send(event).is_err() {
            // Too far behind (or stopping): the peers will resync instead.
            self.overflowed.store(true, Ordering::Relaxed);
        }
    }

    pub fn listener_state(&self) -> ListenerState {
        ListenerState::from_u8(self.state.load(Ordering::Relaxed))
    }

    /// Starts receiving the other nodes' events into `hub` (Postgres
    /// only). Returns once listening, so a node serves nobody before it can
    /// hear the others.
    pub async fn listen(&self, pool: PgPool, store: Store, hub: Hub) -> Result<(), sqlx::Error> {
        if self.outbox.is_none() {
            return Ok(());
        }
        let first = connect(&pool).await?;
        tracing::info!("fan-out: listening for other nodes");
        self.state
            .store(ListenerState::Listening.as_u8(), Ordering::Relaxed);
        let state = self.state.clone();
        tokio::spawn(sweep_loop(store.clone(), hub.clone()));
        tokio::spawn(listen_loop(pool, first, store, hub, self.node, state));
        Ok(())
    }
}

async fn send_loop(
    pool: PgPool,
    mut rx: mpsc::Receiver<Event>,
    node: u64,
    overflowed: Arc<AtomicBool>,
) {
    let mut round = Vec::with_capacity(ROUND);
    while let Some(first) = rx.recv().await {
        round.push(first);
        while round.len() < ROUND {
            match rx.try_recv() {
                Ok(event) => round.push(event),
                Err(_) => break,
            }
        }
        if overflowed.swap(false, Ordering::Relaxed) {
            round.push(Event::Resync);
        }
        for payload in pack(node, merge(std::mem::take(&mut round))) {
            let sent = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(&payload)
                .execute(&pool)
                .await;
            if let Err(err) = sent {
                tracing::warn!(error = %err, "fan-out: NOTIFY failed; peers will be asked to resync");
                overflowed.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// Joins consecutive seqs of one room into a range. Only within a run of
/// message events, so their order against other events is kept.
fn merge(events: Vec<Event>) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::with_capacity(events.len());
    let mut open: HashMap<i64, usize> = HashMap::new();
    for event in events {
        if let Event::Message { room, from, to } = event {
            if let Some(&i) = open.get(&room) {
                if let Event::Message { to: last, .. } = &mut out[i] {
                    if *last + 1 == from {
                        *last = to;
                        continue;
                    }
                }
            }
            open.insert(room, out.len());
        } else {
            open.clear();
        }
        out.push(event);
    }
    out
}

/// Envelopes of at most `MAX_PAYLOAD` bytes, events in order.
fn pack(node: u64, events: Vec<Event>) -> Vec<String> {
    let head = format!("{{\"node\":{node},\"events\":[");
    let mut payloads = Vec::new();
    let mut current = head.clone();
    for event in events {
        let Ok(json) = serde_json::to_string(&event) else {
            continue;
        };
        let empty = current.len() == head.len();
        if !empty && current.len() + json.len() + 3 > MAX_PAYLOAD {
            current.push_str("]}");
            payloads.push(std::mem::replace(&mut current, head.clone()));
        }
        if current.len() > head.len() {
            current.push(',');
        }
        current.push_str(&json);
    }
    if current.len() > head.len() {
        current.push_str("]}");
        payloads.push(current);
    }
    payloads
}

async fn listen_loop(
    pool: PgPool,
    first: PgListener,
    store: Store,
    hub: Hub,
    node: u64,
    state: Arc<AtomicU8>,
) {
    let set = |s: ListenerState| state.store(s.as_u8(), Ordering::Relaxed);
    let mut next = Some(first);
    let mut backoff = Duration::from_millis(100);
    loop {
        let mut listener = match next.take() {
            Some(listener) => listener,
            None => {
                let lost_at = Instant::now();
                let listener = loop {
                    match connect(&pool).await {
                        Ok(listener) => break listener,
                        Err(err) => {
                            tracing::warn!(error = %err, "fan-out: cannot listen yet; retrying");
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                        }
                    }
                };
                backoff = Duration::from_millis(100);
                // Whatever the peers announced while this node was deaf is
                // lost to it: every socket here catches up from the database.
                let sockets = hub.lag_all();
                tracing::warn!(
                    deaf_ms = lost_at.elapsed().as_millis() as u64,
                    sockets,
                    "fan-out: listening again; sockets sent to catch up"
                );
                set(ListenerState::Listening);
                listener
            }
        };
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) => receive(&store, &hub, node, note.payload()).await,
                Ok(None) => {
                    tracing::warn!("fan-out: the listening connection was lost; reconnecting");
                    break;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "fan-out: listening failed; reconnecting");
                    break;
                }
            }
        }
        set(ListenerState::Reconnecting);
    }
}

/// How often the sweep compares the database with what was handed out.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// A NOTIFY can be lost without the listener noticing: its sender died
/// between the commit and the NOTIFY, or could not send it. Once a second
/// this compares, for every room with a socket here, the stored last seq
/// with the newest seq handed out, and hands out the difference from the
/// database. (A lost message in the middle is filled by the socket itself
/// from the next one; this catches a lost tail.)
async fn sweep_loop(store: Store, hub: Hub) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(err) = sweep(&store, &hub).await {
            tracing::warn!(error = %err, "fan-out: sweep failed");
        }
    }
}

async fn sweep(store: &Store, hub: &Hub) -> Result<(), crate::server::store::StoreError> {
    let heads = hub.heads();
    if heads.is_empty() {
        return Ok(());
    }
    let rooms: Vec<i64> = heads.iter().map(|(room, _)| *room).collect();
    let stored = store.last_seqs(&rooms).await?;
    for (room, handed_out) in heads {
        let Some(&last) = stored.get(&room) else {
            continue;
        };
        match handed_out {
            // A room new here: its sockets read the database on their own.
            None => hub.note_published(room, last),
            Some(head) if last > head => {
                let missed = store
                    .messages_between(room, head, last, last - head)
                    .await?;
                tracing::info!(
                    room,
                    from = head + 1,
                    to = last,
                    "fan-out: handing out messages never announced"
                );
                publish_all(hub, missed);
            }
            Some(_) => {}
        }
    }
    Ok(())
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Named, so an operator (or a test) can tell the nodes' listeners apart
    // in pg_stat_activity.
    sqlx::query("SELECT set_config('application_name', $1, false)")
        .bind(listener_name(std::process::id()))
        .execute(&mut listener)
        .await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// The `application_name` of a node's listening connection.
pub fn listener_name(pid: u32) -> String {
    format!("glasschat fan-out {pid}")
}

async fn receive(store: &Store, hub: &Hub, node: u64, payload: &str) {
    let envelope: Envelope = match serde_json::from_str(payload) {
        Ok(envelope) => envelope,
        Err(err) => {
            tracing::warn!(error = %err, "fan-out: unreadable notification ignored");
            return;
        }
    };
    if envelope.node == node {
        return; // this node's own, already delivered locally
    }
    for event in envelope.events {
        if let Err(err) = deliver(store, hub, event).await {
            // A read failed: the affected sockets would miss something,
            // so they catch up instead.
            tracing::warn!(error = %err, "fan-out: delivery failed; sockets sent to catch up");
            hub.lag_all();
        }
    }
}

/// Hands messages read back from the database to the hub in one batch,
/// so each member socket writes them together.
fn publish_all(hub: &Hub, messages: Vec<MessageView>) {
    let frames: Vec<_> = messages.into_iter().map(message_frame).collect();
    hub.publish_messages(&frames);
}

/// Hands one peer event to the local sockets it concerns.
async fn deliver(
    store: &Store,
    hub: &Hub,
    event: Event,
) -> Result<(), crate::server::store::StoreError> {
    let frame = |f: ServerFrame| Utf8Bytes::from(f.to_json());
    match event {
        Event::Message { room, from, to } => {
            if !hub.has_room(room) {
                return Ok(());
            }
            let messages = store
                .messages_between(room, from - 1, to, to - from + 1)
                .await?;
            publish_all(hub, messages);
        }
        Event::ReadMark {
            user,
            room,
            read_seq,
            last_seq,
        } => hub.publish_to_user(
            user,
            frame(ServerFrame::ReadMark {
                room,
                read_seq,
                last_seq,
                unread: (last_seq - read_seq).max(0),
            }),
        ),
        Event::Summary { user, room } => {
            if hub.has_user(user) {
                if let Some(summary) = store.room_of(user, room).await? {
                    hub.publish_to_user(user, frame(ServerFrame::RoomUpdated(summary)));
                }
            }
        }
        Event::Joined { user, room } => {
            if hub.has_user(user) {
                if let Some(summary) = store.room_of(user, room).await? {
                    let seq = summary.last_seq;
                    hub.join(user, room, seq, frame(ServerFrame::RoomAdded(summary)));
                }
            }
        }
        Event::Left { user, room } => {
            hub.leave(user, room, frame(ServerFrame::RoomRemoved { room }));
        }
        Event::EndSession { session, code } => hub.end_session(&session, code),
        Event::EndUser { user, code } => hub.end_user(user, code),
        Event::RoleChanged { user, role } => {
            hub.publish_to_user(user, frame(ServerFrame::RoleChanged { role }));
        }
        Event::Resync => {
            hub.lag_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(room: i64, from: i64, to: i64) -> Event {
        Event::Message { room, from, to }
    }

    #[test]
    fn consecutive_seqs_of_a_room_travel_as_one_range() {
        let merged = merge(vec![
            m(1, 5, 5),
            m(2, 9, 9),
            m(1, 6, 6),
            m(1, 7, 7),
            m(2, 11, 11),
        ]);
        assert_eq!(merged, vec![m(1, 5, 7), m(2, 9, 9), m(2, 11, 11)]);
    }

    #[test]
    fn ranges_do_not_jump_over_other_events() {
        let left = Event::Left { user: 3, room: 1 };
        let merged = merge(vec![m(1, 5, 5), left.clone(), m(1, 6, 6)]);
        assert_eq!(merged, vec![m(1, 5, 5), left, m(1, 6, 6)]);
    }

    #[test]
    fn payloads_stay_under_the_notify_limit_and_keep_every_event() {
        let events: Vec<Event> = (0..5_000).map(|i| m(i, i, i)).collect();
        let payloads = pack(42, events.clone());
        assert!(payloads.len() > 1);
        let mut back = Vec::new();
        for payload in &payloads {
            assert!(payload.len() <= MAX_PAYLOAD, "{}", payload.len());
            let envelope: Envelope = serde_json::from_str(payload).unwrap();
            assert_eq!(envelope.node, 42);
            back.extend(envelope.events);
        }
        assert_eq!(back, events);
        assert!(pack(1, Vec::new()).is_empty());
    }
}
