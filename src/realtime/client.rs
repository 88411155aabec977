//! The browser side of the socket (WASM only): connects, reconnects with
//! exponential backoff and jitter, keeps an outbox of unacknowledged sends
//! (resent with the same client id after a reconnect, so nothing is stored
//! twice), and feeds every frame into the shared `ClientState` reducer.

use futures::channel::mpsc::{unbounded, UnboundedSender};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, WebSocketError};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::link::{ConnState, LiveEvent, OutboxStatus, SocketLink};
use super::protocol::{close, ClientFrame, ErrorCode, ServerFrame};
use super::state::ClientState;

const BACKOFF_START_MS: f64 = 500.0;
const BACKOFF_MAX_MS: f64 = 30_000.0;

/// Starts the connection loop on `client`'s signals; runs for the page's
/// lifetime. `on_event` hears of live messages and new rooms.
pub fn start(client: SocketLink, on_event: impl Fn(LiveEvent) + Copy + 'static) {
    spawn_local(async move {
        let mut attempt: i32 = 0;
        loop {
            client.conn.set(ConnState::Connecting);
            let outcome = run_once(client, on_event).await;
            client.sender.set_value(None);
            if outcome == Outcome::SignedOut {
                // A logout in this tab has navigated to the login page
                // already; loading it again would race whatever the user
                // does next (a click on "Sign up" was cut short by it).
                if let Some(location) = web_sys::window().map(|w| w.location()) {
                    if location.pathname().ok().as_deref() != Some("/login") {
                        let _ = location.set_href("/login");
                    }
                }
                return;
            }
            if outcome == Outcome::WasOnline {
                attempt = 0;
            }
            // Exponential backoff with full jitter, so a restarted server is
            // not hit by every tab at the same instant.
            let ceiling = (BACKOFF_START_MS * 2f64.powi(attempt)).min(BACKOFF_MAX_MS);
            let delay = (ceiling * (0.5 + js_sys::Math::random() / 2.0)) as u32;
            client.conn.set(ConnState::Offline { retry_in_ms: delay });
            gloo_timers::future::TimeoutFuture::new(delay).await;
            attempt = (attempt + 1).min(16);
        }
    });
}

#[derive(PartialEq, Eq)]
enum Outcome {
    NeverOnline,
    WasOnline,
    SignedOut,
}

fn socket_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}/ws", location.host().ok()?))
}

async fn run_once(client: SocketLink, on_event: impl Fn(LiveEvent)) -> Outcome {
    let Some(url) = socket_url() else {
        return Outcome::NeverOnline;
    };
    let Ok(ws) = WebSocket::open(&url) else {
        return Outcome::NeverOnline;
    };
    let (mut write, mut read) = ws.split();
    let (tx, mut rx) = unbounded::<String>();
    spawn_local(async move {
        while let Some(text) = rx.next().await {
            if write.send(Message::Text(text)).await.is_err() {
                break;
            }
        }
    });
    let mut online = false;
    // Rooms whose catch-up is done: their messages from now on are live.
    let mut live_rooms = std::collections::HashSet::new();
    while let Some(item) = read.next().await {
        let text = match item {
            Ok(Message::Text(text)) => text,
            Ok(Message::Bytes(_)) => continue,
            Err(WebSocketError::ConnectionClose(event))
                if event.code == close::UNAUTHORIZED || event.code == close::REVOKED =>
            {
                return Outcome::SignedOut;
            }
            Err(_) => break,
        };
        let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) else {
            continue;
        };
        match &frame {
            ServerFrame::Welcome { .. } => {
                client.state.update(|s| {
                    s.apply(&frame);
                });
                online = true;
                client.sender.set_value(Some(tx.clone()));
                client.conn.set(ConnState::Online);
                let hello = ClientFrame::Hello {
                    rooms: client.state.with_untracked(ClientState::cursors),
                };
                let _ = tx.unbounded_send(hello.to_json());
                resend_outbox(client, &tx);
            }
            ServerFrame::Ack(ack) => client.outbox.update(|items| {
                if let Some(item) = items.iter_mut().find(|i| i.client_id == ack.client_id) {
                    item.status = OutboxStatus::Sent(ack.seq);
                }
            }),
            ServerFrame::Error(err) => {
                if let Some(id) = &err.client_id {
                    let message = match err.code {
                        ErrorCode::SlowDown => {
                            "Slow down: too many messages. Retry in a moment.".to_string()
                        }
                        _ => err.message.clone(),
                    };
                    client.outbox.update(|items| {
                        if let Some(item) = items.iter_mut().find(|i| &i.client_id == id) {
                            item.status = OutboxStatus::Failed(message);
                        }
                    });
                }
            }
            ServerFrame::Message(message) => {
                let new = client
                    .state
                    .try_update(|s| s.apply(&frame))
                    .unwrap_or(false);
                if new && live_rooms.contains(&message.room) {
                    on_event(LiveEvent::Message(message));
                }
                if let Some(id) = &message.client_id {
                    client
                        .outbox
                        .update(|items| items.retain(|i| &i.client_id != id));
                }
            }
            ServerFrame::CaughtUp { room, .. } => {
                live_rooms.insert(*room);
                client.state.update(|s| {
                    s.apply(&frame);
                });
            }
            ServerFrame::RoomAdded(summary) => {
                live_rooms.insert(summary.room);
                client.state.update(|s| {
                    s.apply(&frame);
                });
                on_event(LiveEvent::RoomAdded(summary));
            }
            ServerFrame::RoleChanged { role } => client.role.set(*role),
            _ => client.state.update(|s| {
                s.apply(&frame);
            }),
        }
    }
    if online {
        Outcome::WasOnline
    } else {
        Outcome::NeverOnline
    }
}

/// After (re)connecting, sends again what was never acknowledged. Same
/// client ids: the server answers a repeat with the first ack.
fn resend_outbox(client: SocketLink, tx: &UnboundedSender<String>) {
    client.outbox.with_untracked(|items| {
        for item in items.iter().filter(|i| i.status == OutboxStatus::Sending) {
            let frame = ClientFrame::Send {
                room: item.room,
                client_id: item.client_id.clone(),
                body: item.body.clone(),
            };
            let _ = tx.unbounded_send(frame.to_json());
        }
    });
}
