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

mod events;
mod receive;

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use sqlx::postgres::PgPool;
use tokio::sync::mpsc;

use crate::realtime::hub::Hub;
use crate::server::store::{notify, Store};
use events::{merge, pack, CHANNEL};
use receive::{connect, listen_loop, sweep_loop, Peers};

pub use events::{presence_events, Event};
pub use receive::{listener_name, ListenerState};

/// Events waiting to be sent; past this the peers are told to resync.
const QUEUE: usize = 65_536;
/// At most this many events per send round.
const ROUND: usize = 4_096;
/// How often a node says it is alive.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);

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
        let peers = Peers::default();
        tokio::spawn(sweep_loop(store.clone(), hub.clone(), peers.clone()));
        // Ask the others who is present on them (they answer with it).
        self.announce(Event::Hello);
        tokio::spawn(listen_loop(
            pool,
            first,
            store,
            hub,
            self.clone(),
            peers,
            state,
        ));
        Ok(())
    }
}

async fn send_loop(
    pool: PgPool,
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
        for payload in pack(node, at_us, merge(std::mem::take(&mut round))) {
            if let Err(err) = sender.send(CHANNEL, &payload).await {
                tracing::warn!(error = %err, "fan-out: NOTIFY failed; peers will be asked to resync");
                overflowed.store(true, Ordering::Relaxed);
            }
        }
    }
}
