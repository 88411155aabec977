//! The browser side of the socket (WASM only): connects, reconnects with
//! exponential backoff and jitter, keeps an outbox of unacknowledged sends
//! (resent with the same client id after a reconnect, so nothing is stored
//! twice), and feeds every frame into the shared `ClientState` reducer.
//!
//! A socket can die without closing (a laptop asleep, a network gone, a
//! proxy that dropped it). The browser's `offline` event ends it at once;
//! otherwise a quiet socket is asked for a pong, and one that does not
//! answer in time is given up on, so "Connected" is never shown over a dead
//! line. The `online` event, or the tab coming back into view, reconnects
//! at once instead of waiting out the backoff.

use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures::{FutureExt, SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, WebSocketError};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::link::{ConnState, LiveEvent, OutboxStatus, SocketLink};
use super::protocol::{close, ClientFrame, ErrorCode, ServerFrame};
use super::state::ClientState;

const BACKOFF_START_MS: f64 = 500.0;
const BACKOFF_MAX_MS: f64 = 30_000.0;
/// A socket that has heard nothing for this long sends a ping...
const QUIET_MS: f64 = 10_000.0;
/// ...and is given up on when the pong has not come this long after.
const PONG_WAIT_MS: f64 = 4_000.0;
/// A socket that has not been welcomed this long after it was opened is
/// given up on (a connection attempt can hang on a dead network).
const CONNECT_WAIT_MS: f64 = 5_000.0;
/// How often the heartbeat looks at the clock.
const TICK_MS: u32 = 1_000;

/// What the browser says about the network and the tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Net {
    Offline,
    Online,
    /// The tab came into view: check the line now.
    Visible,
}

/// The browser's network and visibility events, for the page's lifetime.
fn network_events() -> UnboundedReceiver<Net> {
    let (tx, rx) = unbounded();
    for (name, event) in [("offline", Net::Offline), ("online", Net::Online)] {
        let tx = tx.clone();
        // Never removed: the connection loop lives as long as the page.
        let _ = window_event_listener_untyped(name, move |_| {
            let _ = tx.unbounded_send(event);
        });
    }
    let _ = window_event_listener_untyped("visibilitychange", move |_| {
        let visible = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| !d.hidden());
        if visible {
            let _ = tx.unbounded_send(Net::Visible);
        }
    });
    rx
}

/// Starts the connection loop on `client`'s signals; runs for the page's
/// lifetime. `on_event` hears of live messages and new rooms.
pub fn start(client: SocketLink, on_event: impl Fn(LiveEvent) + Copy + 'static) {
    spawn_local(async move {
        let mut net = network_events();
        let mut attempt: i32 = 0;
        loop {
            client.conn.set(ConnState::Connecting);
            let outcome = run_once(client, on_event, &mut net).await;
            client.sender.set_value(None);
            if outcome == Outcome::SignedOut {
                // A logout in this tab has navigated to the login page
                // already; loading it again would race whatever the user
                // does next (a click on "Sign up" was cut short by it).
                // A website widget's panel starts over instead (its
                // visitor's session ended: a new token, or the form).
                if let Some(location) = web_sys::window().map(|w| w.location()) {
                    let path = location.pathname().unwrap_or_default();
                    if path.starts_with("/widget/") {
                        let _ = location.reload();
                    } else if path != "/login" {
                        let _ = location.set_href("/login");
                    }
                }
                return;
            }
            if outcome == Outcome::NetworkBack || outcome == Outcome::Restarting {
                // The attempt that was hanging is dropped, or the node is
                // stopping and another takes the socket: a fresh one now.
                attempt = 0;
                continue;
            }
            if outcome == Outcome::WasOnline {
                attempt = 0;
            }
            // Exponential backoff with full jitter, so a restarted server is
            // not hit by every tab at the same instant.
            let ceiling = (BACKOFF_START_MS * 2f64.powi(attempt)).min(BACKOFF_MAX_MS);
            let delay = (ceiling * (0.5 + js_sys::Math::random() / 2.0)) as u32;
            client.conn.set(ConnState::Offline { retry_in_ms: delay });
            // The network coming back, or the user looking at the tab, cuts
            // the wait short.
            let mut wait = gloo_timers::future::TimeoutFuture::new(delay).fuse();
            loop {
                futures::select! {
                    _ = wait => break,
                    event = net.next() => match event {
                        Some(Net::Online | Net::Visible) => {
                            attempt = 0;
                            break;
                        }
                        Some(Net::Offline) => {}
                        None => break,
                    },
                }
            }
            attempt = (attempt + 1).min(16);
        }
    });
}

#[derive(PartialEq, Eq)]
enum Outcome {
    NeverOnline,
    WasOnline,
    SignedOut,
    /// The browser's network came back while this attempt was connecting.
    NetworkBack,
    /// The node is stopping (`close::RESTARTING`): reconnect at once.
    Restarting,
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

async fn run_once(
    client: SocketLink,
    on_event: impl Fn(LiveEvent),
    net: &mut UnboundedReceiver<Net>,
) -> Outcome {
    let Some(url) = socket_url() else {
        return Outcome::NeverOnline;
    };
    let Ok(ws) = WebSocket::open(&url) else {
        return Outcome::NeverOnline;
    };
    let (mut write, read) = ws.split();
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
    let mut read = read.fuse();
    let mut ticks = gloo_timers::future::IntervalStream::new(TICK_MS).fuse();
    let mut last_heard = js_sys::Date::now();
    let mut ping_sent: Option<f64> = None;
    let ping = |ping_sent: &mut Option<f64>| {
        if ping_sent.is_none() {
            let _ = tx.unbounded_send(ClientFrame::Ping.to_json());
            *ping_sent = Some(js_sys::Date::now());
        }
    };
    loop {
        let item = futures::select! {
            item = read.next() => match item {
                Some(item) => item,
                None => break,
            },
            _ = ticks.next() => {
                let now = js_sys::Date::now();
                if client.awareness.with_untracked(|a| a.has_expired(now)) {
                    client.awareness.update(|a| a.expire(now));
                }
                match ping_sent {
                    _ if !online && now - last_heard > CONNECT_WAIT_MS => break,
                    // No pong: the line is dead, whatever the socket says.
                    Some(at) if now - at > PONG_WAIT_MS => break,
                    None if now - last_heard > QUIET_MS => ping(&mut ping_sent),
                    _ => {}
                }
                continue;
            },
            event = net.next() => {
                match event {
                    Some(Net::Offline) => break,
                    Some(Net::Online) if !online => return Outcome::NetworkBack,
                    Some(Net::Visible) if online => ping(&mut ping_sent),
                    _ => {}
                }
                continue;
            },
        };
        // Any frame proves the line is alive.
        last_heard = js_sys::Date::now();
        ping_sent = None;
        let text = match item {
            Ok(Message::Text(text)) => text,
            Ok(Message::Bytes(_)) => continue,
            Err(WebSocketError::ConnectionClose(event))
                if event.code == close::UNAUTHORIZED || event.code == close::REVOKED =>
            {
                return Outcome::SignedOut;
            }
            Err(WebSocketError::ConnectionClose(event)) if event.code == close::RESTARTING => {
                return Outcome::Restarting;
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
                // Presence and typing start afresh on every socket: say
                // how this tab is and what it shows; the server answers
                // with where those people stand. (Read marks only move
                // forward: the ones held stay.)
                client.awareness.update(|a| {
                    a.people.clear();
                    a.typing.clear();
                });
                let active = ClientFrame::Presence {
                    active: client.active.get_untracked(),
                };
                let _ = tx.unbounded_send(active.to_json());
                show_people(client, &tx);
            }
            ServerFrame::Ack(ack) => client.outbox.update(|items| {
                if let Some(item) = items.iter_mut().find(|i| i.client_id == ack.client_id) {
                    item.status = OutboxStatus::Sent(ack.seq);
                }
            }),
            // An edit, delete or reaction that was refused.
            ServerFrame::Error(err) if err.seq.is_some() => {
                let message = match err.code {
                    ErrorCode::SlowDown => {
                        "Slow down: too many changes. Try again in a moment.".to_string()
                    }
                    _ => err.message.clone(),
                };
                client.notice.set(Some(message));
            }
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
                if client
                    .awareness
                    .with_untracked(|a| a.typing.contains_key(&message.room))
                {
                    client.awareness.update(|a| {
                        a.message_arrived(message);
                    });
                }
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
                // Whom the sidebar shows may have grown.
                show_people(client, &tx);
            }
            ServerFrame::Presence { .. } | ServerFrame::Typing { .. } | ServerFrame::Seen(_) => {
                let me = client.state.with_untracked(|s| s.user_id);
                let now = js_sys::Date::now();
                client.awareness.update(|a| {
                    a.apply(me, &frame, now);
                });
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

/// Tells the server which people this tab shows: those of its sidebar,
/// and the members of the conversation on screen.
fn show_people(client: SocketLink, tx: &UnboundedSender<String>) {
    let view = ClientFrame::View {
        room: client.selected.get_untracked(),
    };
    let _ = tx.unbounded_send(view.to_json());
}

/// After (re)connecting, sends again what was never acknowledged. Same
/// client ids: the server answers a repeat with the first ack.
fn resend_outbox(client: SocketLink, tx: &UnboundedSender<String>) {
    client.outbox.with_untracked(|items| {
        for item in items.iter().filter(|i| i.status == OutboxStatus::Sending) {
            let _ = tx.unbounded_send(item.frame().to_json());
        }
    });
}
