//! The receiving side: one task listens for the other nodes' NOTIFYs and
//! hands each event to this node's hub, reading the rows it names; another
//! sweeps once a second for announcements that never came.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::events::{carried, presence_events, Envelope, Event, CHANNEL};
use super::Fanout;
use crate::realtime::hub::{sequenced_frame, Hub};
use crate::realtime::protocol::{Reader, ServerFrame};
use crate::server::metrics;
use crate::server::store::{notify, SeqRange, Store, StoreError};

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

    pub(super) fn from_u8(value: u8) -> ListenerState {
        match value {
            1 => ListenerState::Connecting,
            2 => ListenerState::Listening,
            3 => ListenerState::Reconnecting,
            _ => ListenerState::SingleNode,
        }
    }

    pub(super) fn as_u8(self) -> u8 {
        match self {
            ListenerState::SingleNode => 0,
            ListenerState::Connecting => 1,
            ListenerState::Listening => 2,
            ListenerState::Reconnecting => 3,
        }
    }
}

/// A node silent this long (it says `Alive` every 5 s) is taken for dead:
/// its users go offline here.
const NODE_SILENT: Duration = Duration::from_secs(20);

/// When each other node was last heard from.
#[derive(Clone, Default)]
pub(super) struct Peers(Arc<Mutex<HashMap<u64, Instant>>>);

impl Peers {
    fn heard(&self, node: u64) {
        self.lock().insert(node, Instant::now());
    }

    /// Forgets the nodes silent for `NODE_SILENT`; returns them.
    fn silent(&self) -> Vec<u64> {
        let mut peers = self.lock();
        let gone: Vec<u64> = peers
            .iter()
            .filter(|(_, at)| at.elapsed() > NODE_SILENT)
            .map(|(node, _)| *node)
            .collect();
        for node in &gone {
            peers.remove(node);
        }
        gone
    }

    /// How many other nodes have been heard (and not forgotten).
    pub(super) fn count(&self) -> usize {
        self.lock().len()
    }

    /// Waits until `nodes` others have been heard, for at most `within`;
    /// returns whether they were.
    pub(super) async fn answered(&self, nodes: usize, within: Duration) -> bool {
        let until = Instant::now() + within;
        while self.count() < nodes {
            if Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Instant>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(super) async fn listen_loop(
    pool: PgPool,
    first: PgListener,
    store: Store,
    hub: Hub,
    fanout: Fanout,
    peers: Peers,
    state: Arc<AtomicU8>,
) {
    let set = |s: ListenerState| state.store(s.as_u8(), Ordering::Relaxed);
    // Reading notifications never waits for the database: another task
    // delivers them, taking all that wait at once (`deliver_loop`).
    let (notes, waiting) = mpsc::channel(BACKLOG);
    tokio::spawn(deliver_loop(
        store,
        hub.clone(),
        fanout.clone(),
        peers,
        waiting,
    ));
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
                // What the others said about presence may be stale too.
                hub.forget_nodes(None);
                // A node may have started meanwhile, alone: say Hello.
                if let Err(err) = fanout.join(&pool, false).await {
                    tracing::warn!(error = %err, "fan-out: cannot count the other nodes; speaking");
                    fanout.not_alone();
                    fanout.announce(Event::Hello);
                }
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
                Ok(Some(note)) => {
                    if notes.send(note.payload().to_owned()).await.is_err() {
                        return; // the node is stopping
                    }
                }
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
pub(super) async fn sweep_loop(store: Store, hub: Hub, peers: Peers) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        for node in peers.silent() {
            tracing::warn!(
                node,
                "fan-out: a node fell silent; its users are offline here"
            );
            hub.forget_nodes(Some(node));
        }
        if let Err(err) = sweep(&store, &hub).await {
            tracing::warn!(error = %err, "fan-out: sweep failed");
        }
    }
}

async fn sweep(store: &Store, hub: &Hub) -> Result<(), StoreError> {
    let heads = hub.heads();
    if heads.is_empty() {
        return Ok(());
    }
    let rooms: Vec<i64> = heads.iter().map(|(room, _)| *room).collect();
    let stored = store.last_seqs(&rooms).await?;
    let mut missed = Vec::new();
    for (room, handed_out) in heads {
        let Some(&last) = stored.get(&room) else {
            continue;
        };
        match handed_out {
            // A room new here: its sockets read the database on their own.
            None => hub.note_published(room, last),
            Some(head) if last > head => {
                tracing::info!(
                    room,
                    from = head + 1,
                    to = last,
                    "fan-out: handing out messages never announced"
                );
                missed.push(SeqRange {
                    room,
                    after: head,
                    up_to: last,
                });
            }
            Some(_) => {}
        }
    }
    publish_ranges(store, hub, &missed).await.map(drop)
}

pub(super) async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    // Named, so an operator (or a test) can tell the nodes' listeners apart
    // in pg_stat_activity.
    notify::listen(pool, CHANNEL, &listener_name(std::process::id())).await
}

/// How every node's listening connection is named, before its pid.
pub(super) const LISTENER_PREFIX: &str = "glasschat fan-out ";

/// The `application_name` of a node's listening connection.
pub fn listener_name(pid: u32) -> String {
    format!("{LISTENER_PREFIX}{pid}")
}

/// Notifications read and not yet delivered; past this the listener waits.
const BACKLOG: usize = 4096;

/// Delivers the peers' notifications, taking every one waiting at once:
/// new messages of a room named by several of them are handed out
/// together, from the frames they carried when every one is at hand,
/// else read back from the database as one range, the ranges of many
/// rooms in one read (`Store::events_in`), so under load a read carries
/// many messages instead of a read per announcement falling further
/// behind. Read marks, typing and receipts are handed out after the
/// messages gathered before them, in order (a read mark may arrive after
/// newer messages: the client recounts from those, see `ClientState`);
/// any other event (joins, leaves, sessions) first delivers everything
/// gathered before it.
async fn deliver_loop(
    store: Store,
    hub: Hub,
    fanout: Fanout,
    peers: Peers,
    mut waiting: mpsc::Receiver<String>,
) {
    let mut payloads = Vec::new();
    let mut gathered = Gathered::default();
    while waiting.recv_many(&mut payloads, BACKLOG).await > 0 {
        for payload in payloads.drain(..) {
            let Some(envelope) = open(&fanout, &peers, &payload) else {
                continue;
            };
            for event in envelope.events {
                match event {
                    Event::Hello => {
                        // An answer even with nobody present: the new node
                        // waits for one from every node it saw.
                        fanout.announce(Event::Alive);
                        for event in presence_events(&hub.local_presence()) {
                            fanout.announce(event);
                        }
                    }
                    Event::Presence { states } => {
                        hub.set_remote_presence(envelope.node, &states);
                    }
                    Event::Message {
                        room,
                        from,
                        to,
                        sealed,
                        ..
                    } => {
                        let range = gathered.ranges.entry(room).or_insert((from - 1, to));
                        *range = (range.0.min(from - 1), range.1.max(to));
                        // Opened only for a room with a socket here.
                        let frames = sealed
                            .filter(|_| hub.has_room(room))
                            .and_then(|sealed| carried(&fanout.keys, (room, from, to), &sealed));
                        if let Some(frames) = frames {
                            let held = gathered.carried.entry(room).or_default();
                            held.extend((from..=to).zip(frames));
                        }
                    }
                    event
                    @ (Event::ReadMark { .. } | Event::Typing { .. } | Event::Seen { .. }) => {
                        gathered.after.push(event);
                    }
                    event => {
                        gathered.deliver(&store, &hub).await;
                        if let Err(err) = deliver(&store, &hub, event).await {
                            caught_up_instead(&err, &hub);
                        }
                    }
                }
            }
        }
        gathered.deliver(&store, &hub).await;
    }
}

/// What `deliver_loop` holds back to hand out together.
#[derive(Default)]
struct Gathered {
    /// Per room, the seqs announced and not yet handed out: (after, up to).
    ranges: std::collections::BTreeMap<i64, (i64, i64)>,
    /// Per room, the frames the announcements carried, by seq.
    carried: HashMap<i64, std::collections::BTreeMap<i64, Utf8Bytes>>,
    /// Events that read nothing, handed out after the ranges, in order.
    after: Vec<Event>,
}

impl Gathered {
    /// Hands out the ranges of the rooms with a socket here, each from
    /// the frames carried when they cover it, else read back; then the
    /// events held after them.
    async fn deliver(&mut self, store: &Store, hub: &Hub) {
        let mut carried = std::mem::take(&mut self.carried);
        let mut read_back = Vec::new();
        for (room, (after, up_to)) in std::mem::take(&mut self.ranges) {
            if !hub.has_room(room) {
                continue;
            }
            let frames: Vec<(i64, i64, Utf8Bytes)> = carried
                .remove(&room)
                .unwrap_or_default()
                .into_iter()
                .filter(|(seq, _)| *seq > after && *seq <= up_to)
                .map(|(seq, frame)| (room, seq, frame))
                .collect();
            if frames.len() as i64 == up_to - after {
                metrics::get().fanout_carried(frames.len());
                hub.publish_messages(&frames);
            } else {
                read_back.push(SeqRange { room, after, up_to });
            }
        }
        match publish_ranges(store, hub, &read_back).await {
            Ok(messages) => metrics::get().fanout_read_back(messages),
            Err(err) => caught_up_instead(&err, hub),
        }
        for event in self.after.drain(..) {
            if let Err(err) = deliver(store, hub, event).await {
                caught_up_instead(&err, hub);
            }
        }
    }
}

/// A notification's envelope if it is another node's (this node's own
/// were delivered locally); notes when that node was heard from.
fn open(fanout: &Fanout, peers: &Peers, payload: &str) -> Option<Envelope> {
    let envelope: Envelope = match serde_json::from_str(payload) {
        Ok(envelope) => envelope,
        Err(err) => {
            tracing::warn!(error = %err, "fan-out: unreadable notification ignored");
            return None;
        }
    };
    if envelope.node == fanout.node {
        return None;
    }
    peers.heard(envelope.node);
    // Another node runs: stop being alone, before answering it.
    fanout.not_alone();
    if envelope.at_us > 0 {
        let lag = (metrics::now_us() - envelope.at_us).max(0);
        metrics::get().fanout_lag_seconds.observe(lag as f64 / 1e6);
    }
    Some(envelope)
}

/// A read failed: the affected sockets would miss something, so every
/// socket here catches up instead.
fn caught_up_instead(err: &StoreError, hub: &Hub) {
    tracing::warn!(error = %err, "fan-out: delivery failed; sockets sent to catch up");
    hub.lag_all();
}

/// Hands rooms' events read back from the database to the hub, each
/// room's in one batch, so each member socket writes them together.
/// Returns how many it handed out.
async fn publish_ranges(
    store: &Store,
    hub: &Hub,
    ranges: &[SeqRange],
) -> Result<usize, StoreError> {
    let mut handed_out = 0;
    for (room, events) in store.events_in(ranges).await? {
        handed_out += events.len();
        let frames: Vec<_> = events
            .iter()
            .map(|(seq, frame)| sequenced_frame(room, *seq, frame))
            .collect();
        hub.publish_messages(&frames);
    }
    Ok(handed_out)
}

/// Hands one peer event to the local sockets it concerns.
async fn deliver(store: &Store, hub: &Hub, event: Event) -> Result<(), StoreError> {
    let frame = |f: ServerFrame| Utf8Bytes::from(f.to_json());
    match event {
        Event::ReadMark {
            user,
            room,
            read_seq,
            last_seq,
            unread,
            mentions,
        } => hub.publish_to_user(
            user,
            frame(ServerFrame::ReadMark {
                room,
                read_seq,
                last_seq,
                unread,
                mentions,
            }),
        ),
        Event::Summary { user, room } => {
            if hub.has_user(user) {
                if let Some(summary) = store.room_of(user, room).await? {
                    hub.publish_to_user(user, frame(ServerFrame::RoomUpdated(summary)));
                }
            }
        }
        Event::Trimmed { room } => {
            for user in hub.users_in_room(room) {
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
        Event::Typing {
            room,
            user,
            name,
            on,
        } => hub.publish_to_room(
            room,
            user,
            frame(ServerFrame::Typing {
                room,
                user,
                name,
                on,
            }),
            false,
        ),
        Event::Seen {
            room,
            user,
            name,
            read_seq,
        } => hub.publish_to_room(
            room,
            user,
            frame(ServerFrame::Seen(Reader {
                room,
                user,
                name,
                read_seq,
            })),
            true,
        ),
        Event::Privacy { user, privacy } => hub.set_privacy(user, privacy),
        // Handled by `deliver_loop`, which knows the sending node and
        // gathers the messages.
        Event::Message { .. } | Event::Presence { .. } | Event::Hello | Event::Alive => {}
    }
    Ok(())
}
