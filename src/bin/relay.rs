//! `relay`: the load test's yardstick, never a product. The least a chat
//! server must do, in the plainest way: accept WebSockets, store each sent
//! message in SQLite (WAL, group commit: every message waiting when a
//! transaction starts goes into it), then broadcast it to the room and
//! acknowledge it. One thread, no accounts, no authorisation, no
//! encryption, no read marks, no per-room sequence in the database (a
//! counter in memory numbers each room's messages so the generator can
//! check order and loss the same way).
//!
//! It speaks just enough of Glasschat's protocol for `loadtest --relay`
//! to drive it with the very same receivers and senders: the cookie
//! `glasschat_session=room-R` puts a socket in room R; it gets a `welcome`
//! naming R and how many messages R holds; `send` frames are stored,
//! answered with `ack` and broadcast as `message` frames.
//!
//!   relay --addr 127.0.0.1:4000 --db /tmp/relay.db

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use futures::{SinkExt, StreamExt};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use tokio::sync::{broadcast, mpsc};

/// The most sends stored in one transaction (Glasschat's writer's too).
const BATCH: usize = 512;
/// Frames a socket may fall behind before it is dropped.
const BACKLOG: usize = 4096;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// A send waiting to be stored: its room, body and client id, and the
/// sender's socket to acknowledge it on.
struct Pending {
    room: i64,
    body: String,
    client_id: String,
    ack: mpsc::UnboundedSender<Utf8Bytes>,
}

#[derive(Clone)]
struct Relay {
    rooms: Arc<Mutex<HashMap<i64, Room>>>,
    writes: mpsc::UnboundedSender<Pending>,
}

struct Room {
    messages: i64,
    listeners: broadcast::Sender<Utf8Bytes>,
}

impl Relay {
    /// The room's broadcast and message count, made on first use.
    fn join(&self, room: i64) -> (broadcast::Receiver<Utf8Bytes>, i64) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        let entry = rooms.entry(room).or_insert_with(|| Room {
            messages: 0,
            listeners: broadcast::channel(BACKLOG).0,
        });
        (entry.listeners.subscribe(), entry.messages)
    }
}

#[derive(serde::Deserialize)]
struct ClientFrame<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(default)]
    room: i64,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    body: String,
}

fn main() {
    let mut addr = "127.0.0.1:4000".to_string();
    let mut db = "relay.db".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            ("--db", Some(value)) => db = value,
            _ => {
                eprintln!("usage: relay --addr HOST:PORT --db PATH");
                std::process::exit(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("relay: cannot start the runtime: {err}");
            std::process::exit(1);
        }
    };
    if let Err(err) = runtime.block_on(serve(&addr, &db)) {
        eprintln!("relay: {err}");
        std::process::exit(1);
    }
}

async fn serve(addr: &str, db: &str) -> Result<(), AnyError> {
    glasschat::server::capacity::raise_descriptor_limit();
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{db}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, room INTEGER NOT NULL, client_id TEXT NOT NULL, body TEXT NOT NULL)",
    )
    .execute(&pool)
    .await?;
    let counts: Vec<(i64, i64)> =
        sqlx::query_as("SELECT room, COUNT(*) FROM messages GROUP BY room")
            .fetch_all(&pool)
            .await?;
    let (writes, queue) = mpsc::unbounded_channel();
    let relay = Relay {
        rooms: Arc::default(),
        writes,
    };
    {
        // Each room's numbering goes on from what it holds.
        let mut rooms = relay.rooms.lock().unwrap_or_else(|p| p.into_inner());
        for (room, messages) in counts {
            rooms.insert(
                room,
                Room {
                    messages,
                    listeners: broadcast::channel(BACKLOG).0,
                },
            );
        }
    }
    tokio::spawn(writer(pool, queue, relay.clone()));
    let app = axum::Router::new()
        .route("/ws", get(upgrade))
        .with_state(relay);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("relay listening on http://{}", listener.local_addr()?);
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

/// Group commit: takes every send waiting, stores them in one transaction,
/// then numbers, broadcasts and acknowledges each.
async fn writer(pool: SqlitePool, mut queue: mpsc::UnboundedReceiver<Pending>, relay: Relay) {
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        if let Err(err) = store(&pool, &batch).await {
            eprintln!("relay: store failed: {err}");
            batch.clear();
            continue;
        }
        let mut rooms = relay.rooms.lock().unwrap_or_else(|p| p.into_inner());
        for send in batch.drain(..) {
            let Some(room) = rooms.get_mut(&send.room) else {
                continue;
            };
            room.messages += 1;
            let seq = room.messages;
            let body = serde_json::to_string(&send.body).unwrap_or_default();
            let frame = format!(
                r#"{{"type":"message","room":{},"seq":{seq},"body":{body}}}"#,
                send.room
            );
            let _ = room.listeners.send(Utf8Bytes::from(frame));
            let client_id = serde_json::to_string(&send.client_id).unwrap_or_default();
            let _ = send.ack.send(Utf8Bytes::from(format!(
                r#"{{"type":"ack","room":{},"seq":{seq},"client_id":{client_id}}}"#,
                send.room
            )));
        }
    }
}

async fn store(pool: &SqlitePool, batch: &[Pending]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for send in batch {
        sqlx::query("INSERT INTO messages (room, client_id, body) VALUES ($1, $2, $3)")
            .bind(send.room)
            .bind(&send.client_id)
            .bind(&send.body)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

async fn upgrade(State(relay): State<Relay>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    let room = headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix("glasschat_session=room-"))
        .find_map(|r| r.parse::<i64>().ok())
        .unwrap_or(1);
    ws.on_upgrade(move |socket| connection(relay, room, socket))
}

async fn connection(relay: Relay, room: i64, socket: WebSocket) {
    let (mut listening, messages) = relay.join(room);
    let (acks, mut ack_queue) = mpsc::unbounded_channel();
    let (mut write, mut read) = socket.split();
    let welcome =
        format!(r#"{{"type":"welcome","rooms":[{{"room":{room},"last_seq":{messages}}}]}}"#);
    if write.send(Message::Text(welcome.into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            frame = read.next() => {
                let Some(Ok(frame)) = frame else { return };
                let Message::Text(text) = frame else { continue };
                let Ok(frame) = serde_json::from_str::<ClientFrame>(text.as_str()) else { continue };
                if frame.kind == "send" {
                    let _ = relay.writes.send(Pending {
                        room: frame.room,
                        body: frame.body,
                        client_id: frame.client_id,
                        ack: acks.clone(),
                    });
                }
            }
            Some(ack) = ack_queue.recv() => {
                if write.send(Message::Text(ack)).await.is_err() {
                    return;
                }
            }
            got = listening.recv() => {
                let Ok(first) = got else { return }; // lagged or closed
                // What else is waiting goes out in the same write.
                if write.feed(Message::Text(first)).await.is_err() {
                    return;
                }
                while let Ok(more) = listening.try_recv() {
                    if write.feed(Message::Text(more)).await.is_err() {
                        return;
                    }
                }
                if write.flush().await.is_err() {
                    return;
                }
            }
        }
    }
}
