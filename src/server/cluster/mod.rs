//! Fan-out across nodes. With Postgres, several nodes serve the same users;
//! every event a socket can receive is announced to the other nodes with
//! NOTIFY after its transaction has committed, and each node hands it to
//! its own sockets through its hub. With SQLite there is one node and this
//! does nothing.
//!
//! What travels is mostly a reference: "room 7 has seqs 41 to 45", "user
//! 3's view of room 7 changed". New messages also carry their frames,
//! sealed with the data key (as their rows are), when they fit well inside
//! NOTIFY's 8000 bytes: the receiving node hands those out as they come,
//! where reading the rows back cost a round trip to a busy database
//! (0.7 ms at the median, 2 ms at p99, of the 1.2 ms a delivery across
//! nodes added). Longer runs, and anything that does not open, are read
//! back from the database, decrypted as usual. Order and exactly-once per
//! socket come from the seq contract: a socket fills any gap from the
//! database and drops what it already sent.
//!
//! One task per node sends: it takes every event waiting, merges
//! consecutive seqs of a room into one range, packs them into as few
//! NOTIFYs as fit and sends those in one statement (NOTIFY takes a global
//! lock at commit, so one commit per round, never one per message, and
//! never inside the message transaction).
//! Another task listens. If its connection drops, the node reconnects and
//! then drops every local socket with `close::LAGGED`: each client
//! reconnects and catches up from the database, so nothing missed while
//! deaf is lost.
//!
//! A node with nobody to hear it sends nothing: on one node NOTIFY was a
//! twentieth of Postgres's time under load, for no listener. The rule that
//! keeps this safe: a node is *alone* only while it has never heard
//! another node and saw no other node's listener when it began listening
//! (`join`). A node that saw another listener says `Hello` and serves
//! nobody until every node it saw has answered (or a few seconds passed);
//! a node that hears anyone stops being alone for good, before it
//! answers. So whichever of two nodes began listening second makes the
//! first one speak before it serves a socket. Should a NOTIFY still be
//! missed (a node that never answers), the sweep hands out the tail from
//! the database within a second.

mod events;
mod receive;

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPool;
use tokio::sync::mpsc;

use crate::realtime::hub::Hub;
use crate::server::crypto::Keyring;
use crate::server::store::{notify, Store};
use events::{carry, merge, pack, CHANNEL};
use receive::{connect, listen_loop, sweep_loop, Peers, LISTENER_PREFIX};

pub use events::{presence_events, Event};
pub use receive::{listener_name, ListenerState};

/// Events waiting to be sent; past this the peers are told to resync.
const QUEUE: usize = 65_536;
/// At most this many events per send round.
const ROUND: usize = 4_096;
/// How often a node says it is alive.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long a starting node waits for the nodes it saw to answer its
/// `Hello` (one of an older build answers with its heartbeat).
const ANSWERS_WITHIN: Duration = Duration::from_secs(10);

/// This node's side of the fan-out; cheap to clone.
#[derive(Clone)]
pub struct Fanout {
    node: u64,
    outbox: Option<mpsc::Sender<Event>>,
    overflowed: Arc<AtomicBool>,
    state: Arc<AtomicU8>,
    /// No other node can hear this one (see the module's notes): nothing
    /// is sent.
    alone: Arc<AtomicBool>,
    /// Seals the frames that travel, opens those that arrive.
    keys: Keyring,
}

impl Fanout {
    /// One node (SQLite): announcing is a no-op.
    pub fn single_node() -> Fanout {
        Fanout {
            node: 0,
            outbox: None,
            overflowed: Arc::new(AtomicBool::new(false)),
            state: Arc::new(AtomicU8::new(ListenerState::SingleNode.as_u8())),
            alone: Arc::new(AtomicBool::new(true)),
            keys: Keyring::default(),
        }
    }

    /// Several nodes on one Postgres: starts the sending task; `listen`
    /// starts the receiving one once the hub exists. `keys` is the store's
    /// keyring.
    pub fn postgres(pool: PgPool, keys: Keyring) -> Fanout {
        let (tx, rx) = mpsc::channel(QUEUE);
        let fanout = Fanout {
            node: rand_core::RngCore::next_u64(&mut rand_core::OsRng) | 1,
            outbox: Some(tx),
            overflowed: Arc::new(AtomicBool::new(false)),
            state: Arc::new(AtomicU8::new(ListenerState::Connecting.as_u8())),
            alone: Arc::new(AtomicBool::new(false)),
            keys,
        };
        tokio::spawn(send_loop(
            pool,
            fanout.keys.clone(),
            rx,
            fanout.node,
            fanout.overflowed.clone(),
        ));
        let heart = fanout.clone();
        tokio::spawn(async move {
            let mut beats = tokio::time::interval(HEARTBEAT);
            loop {
                beats.tick().await;
                heart.announce(Event::Alive);
            }
        });
        fanout
    }

    /// Whether there may be other nodes to tell (Postgres, and not alone).
    pub fn has_peers(&self) -> bool {
        self.outbox.is_some() && !self.alone.load(Ordering::Acquire)
    }

    /// Postgres: whether this node sends nothing because no other node
    /// can hear it; None on SQLite (one node, nothing to send).
    pub fn is_alone(&self) -> Option<bool> {
        self.outbox
            .as_ref()
            .map(|_| self.alone.load(Ordering::Acquire))
    }

    /// Another node exists: from now on this one tells it everything.
    fn not_alone(&self) {
        self.alone.store(false, Ordering::Release);
    }

    /// Tells the other nodes; call after the change has committed and the
    /// local hub has been told.
    pub fn announce(&self, event: Event) {
        let Some(outbox) = &self.outbox else {
            return;
        };
        if self.alone.load(Ordering::Acquire) {
            return;
        }
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
        let others = self.join(&pool, true).await?;
        tracing::info!(others, "fan-out: listening for other nodes");
        self.state
            .store(ListenerState::Listening.as_u8(), Ordering::Relaxed);
        let state = self.state.clone();
        let peers = Peers::default();
        tokio::spawn(sweep_loop(store.clone(), hub.clone(), peers.clone()));
        tokio::spawn(listen_loop(
            pool,
            first,
            store,
            hub,
            self.clone(),
            peers.clone(),
            state,
        ));
        if others > 0 && !peers.answered(others, ANSWERS_WITHIN).await {
            tracing::warn!(
                others,
                heard = peers.count(),
                "fan-out: not every node answered; serving anyway (the sweep covers a node that stays silent)"
            );
        }
        Ok(())
    }

    /// Called once listening, at start (`first`) and again after the
    /// listener was lost: counts the other nodes' listeners on this
    /// database. If there are any (or this node spoke before, and whoever
    /// heard it may still run), it speaks, and says `Hello` so that each of
    /// them speaks too and answers with its users' presence. If there are
    /// none at start, it is alone until it hears a node. Returns how many
    /// others there are.
    async fn join(&self, pool: &PgPool, first: bool) -> Result<usize, sqlx::Error> {
        let listening = notify::listeners(pool, LISTENER_PREFIX).await?;
        let others = usize::try_from(listening - 1).unwrap_or(0);
        if others > 0 || (!first && !self.alone.load(Ordering::Acquire)) {
            self.not_alone();
            self.announce(Event::Hello);
        } else if first {
            // Nothing else runs yet that could hear a node in between.
            self.alone.store(true, Ordering::Release);
            tracing::info!("fan-out: no other node; sending nothing until one starts");
        }
        Ok(others)
    }
}

async fn send_loop(
    pool: PgPool,
    keys: Keyring,
    mut rx: mpsc::Receiver<Event>,
    node: u64,
    overflowed: Arc<AtomicBool>,
) {
    let mut sender = notify::Sender::new(pool);
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
        let at_us = crate::server::metrics::now_us();
        let mut events = merge(std::mem::take(&mut round));
        carry(&keys, &mut events);
        let payloads = pack(node, at_us, events);
        if let Err(err) = sender.send(CHANNEL, &payloads).await {
            tracing::warn!(error = %err, "fan-out: NOTIFY failed; peers will be asked to resync");
            overflowed.store(true, Ordering::Relaxed);
        }
    }
}
