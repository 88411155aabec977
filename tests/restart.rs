//! Stopping a node (SIGTERM, as systemd and a rolling restart do): its
//! sockets are told to reconnect at once (close 1012), the writes in flight
//! commit, it exits within 10 s, and the clients, reconnecting elsewhere
//! and sending again what was not acknowledged, lose and double nothing.
//! The real binary, real sockets; one node on both databases, and a
//! rolling restart of two nodes on Postgres.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use common::{Backend, Tab, TestDb, TestServer};
use futures::StreamExt;
use glasschat::realtime::protocol::{close, ServerFrame};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The send budget is the browser outbox's business (it waits and sends
/// again after `slow_down`); these senders go faster than it allows.
const ENV: &[(&str, &str)] = &[("GLASSCHAT_SEND_RATE", "100000/1")];

enum Read {
    Frame(Box<ServerFrame>),
    /// The socket closed, with this code.
    Closed(Option<u16>),
    /// Nothing within the wait.
    Quiet,
}

/// The next frame of `tab` within `wait`, or how it closed.
async fn read(tab: &mut Tab, wait: Duration) -> Read {
    loop {
        match tokio::time::timeout(wait, tab.ws.next()).await {
            Err(_) => return Read::Quiet,
            Ok(Some(Ok(WsMessage::Text(text)))) => {
                let frame: ServerFrame = serde_json::from_str(text.as_str()).expect("server frame");
                tab.state.apply(&frame);
                tab.log.push(frame.clone());
                return Read::Frame(Box::new(frame));
            }
            Ok(Some(Ok(WsMessage::Close(frame)))) => {
                return Read::Closed(frame.map(|f| u16::from(f.code)))
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_))) | Ok(None) => return Read::Closed(None),
        }
    }
}

/// A person sending numbered messages into one room the way the browser's
/// outbox does: every send keeps its client id until acknowledged, and
/// after a reconnect whatever is unacknowledged goes again under its id.
struct Sender {
    cookie: String,
    room: i64,
    tab: Tab,
    sent: Vec<String>,
    acked: HashSet<String>,
    /// How the socket closed, once it has.
    closed: Option<Option<u16>>,
}

impl Sender {
    async fn send(&mut self) {
        let id = format!("m{}", self.sent.len());
        if self.closed.is_none() {
            self.tab.say(self.room, &id, &format!("message {id}")).await;
        }
        // Sent on a socket that has closed: it waits, like the outbox,
        // for the next one.
        self.sent.push(id);
    }

    /// Reads what has arrived within `wait` of quiet, or until it closed.
    async fn drain(&mut self, wait: Duration) {
        while self.closed.is_none() {
            match read(&mut self.tab, wait).await {
                Read::Quiet => return,
                Read::Frame(frame) => {
                    if let ServerFrame::Ack(ack) = *frame {
                        self.acked.insert(ack.client_id);
                    }
                }
                Read::Closed(code) => self.closed = Some(code),
            }
        }
    }

    async fn move_to(&mut self, server: &TestServer) {
        let state = std::mem::take(&mut self.tab.state);
        self.tab = server.reconnect(&self.cookie, state).await;
        self.tab.hello().await;
        self.closed = None;
        let unacked: Vec<String> = self
            .sent
            .iter()
            .filter(|id| !self.acked.contains(*id))
            .cloned()
            .collect();
        for id in unacked {
            self.tab.say(self.room, &id, &format!("message {id}")).await;
        }
    }
}

/// Someone reading the room: counts every message frame by seq.
struct Reader {
    cookie: String,
    tab: Tab,
    seen: BTreeMap<i64, u32>,
    closed: Option<Option<u16>>,
}

impl Reader {
    async fn drain(&mut self, wait: Duration) {
        while self.closed.is_none() {
            match read(&mut self.tab, wait).await {
                Read::Quiet => return,
                Read::Frame(frame) => {
                    if let ServerFrame::Message(m) = *frame {
                        *self.seen.entry(m.seq).or_default() += 1;
                    }
                }
                Read::Closed(code) => self.closed = Some(code),
            }
        }
    }

    async fn move_to(&mut self, server: &TestServer) {
        let state = std::mem::take(&mut self.tab.state);
        self.tab = server.reconnect(&self.cookie, state).await;
        self.tab.hello().await;
        self.closed = None;
        for frame in &self.tab.log {
            if let ServerFrame::Message(m) = frame {
                *self.seen.entry(m.seq).or_default() += 1;
            }
        }
    }
}

async fn room_of_two(server: &TestServer) -> (Sender, Reader) {
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let room = server.direct_chat(&ada, "bob@example.com").await;
    let sender = Sender {
        tab: server.tab(&ada).await,
        cookie: ada,
        room,
        sent: Vec::new(),
        acked: HashSet::new(),
        closed: None,
    };
    let reader = Reader {
        tab: server.tab(&bob).await,
        cookie: bob,
        seen: BTreeMap::new(),
        closed: None,
    };
    (sender, reader)
}

/// Every message stored once, in the order sent, and every seq seen once.
async fn assert_exactly_once(server: &TestServer, sender: &mut Sender, reader: &mut Reader) {
    let last = sender.sent.len();
    for _ in 0..100 {
        sender.drain(Duration::from_millis(100)).await;
        reader.drain(Duration::from_millis(50)).await;
        if sender.acked.len() == last && reader.seen.len() == last {
            break;
        }
    }
    assert_eq!(sender.acked.len(), last, "every send acknowledged");
    let stored = server.all_messages(&sender.cookie, sender.room).await;
    let bodies: Vec<String> = stored.iter().map(|m| m.body.clone()).collect();
    let expected: Vec<String> = sender
        .sent
        .iter()
        .map(|id| format!("message {id}"))
        .collect();
    assert_eq!(bodies, expected, "each message once, in order");
    let seqs: Vec<i64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(
        reader.seen.keys().copied().collect::<Vec<_>>(),
        seqs,
        "the reader saw every seq"
    );
    let doubled: Vec<(&i64, &u32)> = reader.seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "seqs delivered twice: {doubled:?}");
}

async fn a_stopping_node_sends_everyone_elsewhere_and_loses_nothing(backend: Backend) {
    let server = TestServer::start_on(TestDb::new(backend).await, ENV).await;
    let (mut sender, mut reader) = room_of_two(&server).await;
    for _ in 0..10 {
        sender.send().await;
    }
    sender.drain(Duration::from_millis(300)).await;
    reader.drain(Duration::from_millis(100)).await;
    // Twenty more go out back to back, and the node is stopped among them.
    for _ in 0..20 {
        sender.send().await;
    }
    let (clean, took, db) = server.terminate().await;
    assert!(clean, "a stop is a clean exit");
    assert!(took < Duration::from_secs(10), "stopped in {took:?}");
    sender.drain(Duration::from_secs(10)).await;
    reader.drain(Duration::from_secs(10)).await;
    assert_eq!(sender.closed, Some(Some(close::RESTARTING)));
    assert_eq!(reader.closed, Some(Some(close::RESTARTING)));
    let server = TestServer::start_on(db, ENV).await;
    sender.move_to(&server).await;
    reader.move_to(&server).await;
    sender.send().await;
    assert_exactly_once(&server, &mut sender, &mut reader).await;
}
both_backends!(a_stopping_node_sends_everyone_elsewhere_and_loses_nothing);

/// Two nodes on Postgres, restarted one after the other while a message
/// goes out every 20 ms or so: the sender, on the stopping node each
/// time, moves to the other and carries on; the reader, on the other,
/// misses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_two_nodes_loses_nothing() {
    let first = TestServer::start_on(TestDb::new(Backend::Postgres).await, ENV).await;
    let mut running = first.another_node(ENV).await;
    let mut stopping = first;
    let (mut sender, mut reader) = room_of_two(&stopping).await;
    reader.move_to(&running).await;
    for round in 0..2 {
        for _ in 0..15 {
            sender.send().await;
            sender.drain(Duration::from_millis(20)).await;
        }
        let stop = tokio::spawn(stopping.terminate());
        let mut moved = 0;
        for _ in 0..40 {
            sender.send().await;
            sender.drain(Duration::from_millis(20)).await;
            if sender.closed.is_some() {
                assert_eq!(
                    sender.closed,
                    Some(Some(close::RESTARTING)),
                    "round {round}"
                );
                sender.move_to(&running).await;
                moved += 1;
            }
            reader.drain(Duration::from_millis(1)).await;
        }
        assert_eq!(moved, 1, "round {round}: the sender moved once");
        let (clean, took, db) = stop.await.expect("terminate");
        assert!(
            clean && took < Duration::from_secs(10),
            "round {round}: {took:?}"
        );
        assert!(reader.closed.is_none(), "the reader's node kept running");
        // The stopped node comes back, and the reader moves to it; the
        // node the sender is on is the next to stop.
        let back = TestServer::start_on(db, ENV).await;
        reader.move_to(&back).await;
        stopping = std::mem::replace(&mut running, back);
    }
    assert_exactly_once(&running, &mut sender, &mut reader).await;
}
