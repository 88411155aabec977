//! `GET /ws`: one WebSocket per tab. The handshake checks the Origin and the
//! session; then this task reads client frames (each authorised against the
//! database) and writes the socket's queue from the hub, keeping every room
//! gap-free and in seq order (docs/protocol.md).

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{Sink, SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::cookie;
use super::socket_io::SocketIo;
use crate::realtime::hub::IdMap;
use crate::realtime::protocol::{
    close, ClientFrame, ErrorCode, FrameError, RoomCursor, ServerFrame, PROTOCOL_VERSION,
    TYPING_EVERY_MS,
};
use crate::realtime::queue::{Cursor, Cursors, Outbound, SocketQueue};
use crate::server::auth::token;
use crate::server::services::accounts;
use crate::server::services::changes::{self, PendingChange};
use crate::server::services::messages::{self, Author, MessageError, PendingSend};
use crate::server::services::{presence, receipts};
use crate::server::state::AppState;
use crate::server::store::{Pending, Refusal, SeqRange, Sequenced, StoreError, Stored};

/// Catch-up reads the backlog in pages of this many messages.
const CATCH_UP_PAGE: i64 = 500;
/// A catch-up reads the first pages of several rooms' backlogs at once,
/// up to about this many events in all (rooms with little missed: up to
/// 64 of them in one read).
const CATCH_UP_BATCH: i64 = 4_000;
/// Sends one socket may have with the writer at once. The socket reads the
/// next frame while earlier sends are being stored, so a fast sender is not
/// held to one message per commit; beyond this many it stops reading (TCP
/// then holds the client back).
const SENDS_IN_FLIGHT: usize = 64;
/// A peer that accepts no bytes for this long is a stalled reader: drop it
/// (its client catches up on reconnect) rather than hold its buffers.
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Read marks are applied at most once per this interval per socket; the
/// ones in between are coalesced (the newest seq per room) and applied
/// when it ends. The first mark after a quiet spell goes at once.
const MARK_ROUND: Duration = Duration::from_millis(250);
/// After this many frames in a row refused for their budget, the socket is
/// closed (`close::FLOODED`): answering a flood, even with `slow_down`, is
/// work.
const REFUSED_IN_A_ROW: u8 = 20;
/// Typing frames one socket may send: a burst of this many, then one per
/// `TYPING_EVERY_MS` (what a client typing in one room sends). Past it
/// they are dropped unanswered (typing is best-effort), and a run of
/// `REFUSED_IN_A_ROW` closes the socket like any flood.
const TYPING_BURST: u32 = 10;

pub async fn upgrade(State(state): State<AppState>, mut request: Request) -> Response {
    let accept = match handshake(&request) {
        Ok(accept) => accept,
        Err(refused) => return refused.into_response(),
    };
    let headers = request.headers();
    // Browsers always send Origin on a WebSocket handshake; a missing or
    // foreign one is refused (cross-site WebSocket hijacking).
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|o| state.config.origin_allowed(o));
    if !origin_ok {
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    // A member's tab, or a website visitor's panel: either way the socket
    // carries only the rooms its user is a member of.
    let Some(value) = cookie::read_participant(&state.config, headers) else {
        return (StatusCode::UNAUTHORIZED, "log in first").into_response();
    };
    let session = token::hash_cookie_value(&value);
    let author = match accounts::authenticate(&state, &value).await {
        Ok(Some(found)) => Author {
            id: found.user.id,
            name: found.user.display_name,
        },
        Ok(None) => return (StatusCode::UNAUTHORIZED, "log in first").into_response(),
        Err(err) => {
            tracing::error!(error = %err, "ws: session lookup failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response();
        }
    };
    // Every socket is a file descriptor: past what this process can hold,
    // a clear refusal (the client retries, perhaps on another node) beats
    // failing to accept connections at all.
    if state.hub.running_sockets() as u64 >= crate::server::capacity::max_sockets() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "this node holds all the connections it can: try again shortly",
        )
            .into_response();
    }
    let limits = &state.config.limits;
    // One account cannot pin the server's memory with sockets (OWASP: limit
    // connections per user). Checked before the upgrade; two upgrades at
    // the same instant may pass together, which is harmless.
    if state.hub.socket_count(author.id) >= limits.max_sockets_per_user {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many open connections for this account: close some tabs",
        )
            .into_response();
    }
    // The library refuses frames over 4x the limit outright (no close code:
    // it cannot finish reading them); up to that, the socket task reads the
    // frame whole and closes with 1009 cleanly, so the client sees why.
    let hard_cap = limits.max_frame_bytes.saturating_mul(4);
    let budget = FrameBudget::new(limits.frame_count, limits.frame_period_secs);
    // Clients send little and a socket mostly waits: its read buffer is a
    // quarter of the write one (it grows for a large frame), which makes
    // an idle socket 3 KiB smaller.
    let config = WebSocketConfig::default()
        .read_buffer_size(limits.socket_buffer_bytes / 4)
        .write_buffer_size(limits.socket_buffer_bytes)
        .max_write_buffer_size(hard_cap.max(limits.socket_buffer_bytes * 16))
        .max_message_size(Some(hard_cap))
        .max_frame_size(Some(hard_cap));
    let upgrading = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let upgraded = match upgrading.await {
            Ok(upgraded) => upgraded,
            Err(err) => {
                tracing::debug!(error = %err, "ws: the upgrade did not complete");
                return;
            }
        };
        let (io, read_past_handshake) = SocketIo::from_upgraded(upgraded);
        let socket = WebSocketStream::from_partially_read(
            io,
            read_past_handshake,
            Role::Server,
            Some(config),
        )
        .await;
        let mut conn = Connection {
            state,
            session,
            user_id: author.id,
            author,
            socket,
            cursors: IdMap::default(),
            in_flight: VecDeque::new(),
            inbox: VecDeque::new(),
            greeted: false,
            budget,
            typing_budget: FrameBudget::new(
                TYPING_BURST,
                (u64::from(TYPING_BURST) * TYPING_EVERY_MS / 1000) as u32,
            ),
            conn_id: 0,
            refused_in_a_row: 0,
            pending_marks: IdMap::default(),
            last_marks: None,
            marks_due: None,
        };
        let ended = conn.run().await;
        // Marks the user made just before leaving still count.
        let _ = Box::pin(conn.apply_marks(false)).await;
        if let Err(err) = ended {
            tracing::debug!(user_id = conn.user_id, error = %err, "socket ended");
        }
    });
    let mut switching = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let head = switching.headers_mut();
    head.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    head.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    head.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    switching
}

/// Checks that `request` asks for a WebSocket (RFC 6455, section 4.2.1);
/// returns the `Sec-WebSocket-Accept` answer, or the refusal.
fn handshake(request: &Request) -> Result<HeaderValue, (StatusCode, &'static str)> {
    let headers = request.headers();
    let has = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|v| v.trim().eq_ignore_ascii_case(token))
    };
    if request.method() != Method::GET {
        return Err((StatusCode::METHOD_NOT_ALLOWED, "a WebSocket opens with GET"));
    }
    if !has(header::CONNECTION, "upgrade") || !has(header::UPGRADE, "websocket") {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "this address only speaks WebSocket",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err((StatusCode::BAD_REQUEST, "WebSocket version 13 only"));
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or((StatusCode::BAD_REQUEST, "no Sec-WebSocket-Key"))?;
    HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
        .map_err(|_| (StatusCode::BAD_REQUEST, "bad Sec-WebSocket-Key"))
}

/// What woke a socket's task.
// Lives only from the select to `on_wake` (the task's size was measured
// without it growing); boxing the answer would cost an allocation per ack.
#[allow(clippy::large_enum_variant)]
enum Wake {
    /// A frame from the client (`None`: the peer is gone).
    Frame(Option<Result<Message, WsError>>),
    /// The writer answered the oldest send in flight.
    Answer(Result<Stored, StoreError>),
    /// Frames from the hub are in `inbox` (false: the hub dropped this
    /// socket and nothing is left).
    Queue(bool),
    /// The coalesced read marks are due.
    MarksDue,
}

#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    /// A frame over its budget was answered `slow_down`, not acted on.
    Refused,
    Stop,
}

/// A frame the writer has not answered yet.
enum InFlight {
    Send(PendingSend),
    Change(PendingChange),
}

impl InFlight {
    fn answer(&mut self) -> &mut Pending {
        match self {
            InFlight::Send(sent) => &mut sent.stored,
            InFlight::Change(change) => &mut change.stored,
        }
    }
}

struct Connection {
    state: AppState,
    session: crate::realtime::hub::SessionKey,
    user_id: i64,
    author: Author,
    socket: WebSocketStream<SocketIo>,
    /// Each room's place on this socket. Lent to the hub's direct lane
    /// while the task waits (`SocketQueue::park`), so it is taken back at
    /// every wake before anything is read or written.
    cursors: Cursors,
    /// Sends and changes with the writer, oldest first; answered in this order.
    in_flight: VecDeque<InFlight>,
    /// What was taken from the hub's queue and is being written.
    inbox: VecDeque<Outbound>,
    /// The client's `hello` was answered; another is refused.
    greeted: bool,
    /// This socket's share of frames other than sends, read marks and typing.
    budget: FrameBudget,
    /// This socket's share of typing frames.
    typing_budget: FrameBudget,
    /// Its id in the hub.
    conn_id: crate::realtime::hub::ConnId,
    /// Frames refused for their budget since the last accepted one.
    refused_in_a_row: u8,
    /// Read marks waiting for the next round: room -> newest seq.
    pending_marks: IdMap<i64, i64>,
    /// When the last round of read marks was applied.
    last_marks: Option<Instant>,
    /// Set while marks are pending: when they are due.
    marks_due: Option<Pin<Box<Sleep>>>,
}

/// A token bucket: `count` frames per `period`, a burst of `count`. Per
/// socket, beside the user's own (`AppState::frame_limiter`), so one
/// socket cannot spend what the user's other tabs need.
struct FrameBudget {
    tokens: f32,
    capacity: f32,
    per_second: f32,
    refilled_at: Instant,
}

impl FrameBudget {
    fn new(count: u32, period_secs: u32) -> FrameBudget {
        let capacity = count as f32;
        FrameBudget {
            tokens: capacity,
            capacity,
            per_second: capacity / period_secs.max(1) as f32,
            refilled_at: Instant::now(),
        }
    }

    /// Spends one frame, or says how long until one is there.
    fn spend(&mut self) -> Result<(), Duration> {
        let now = Instant::now();
        let earned = now.duration_since(self.refilled_at).as_secs_f32() * self.per_second;
        self.tokens = (self.tokens + earned).min(self.capacity);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f32(
                (1.0 - self.tokens) / self.per_second,
            ))
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum SocketError {
    #[error("socket: {0}")]
    Socket(#[from] WsError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("the peer stopped reading")]
    Stalled,
    #[error("closed by the server")]
    Ended,
}

impl Connection {
    async fn run(&mut self) -> Result<(), SocketError> {
        // Subscribe before reading any seq, so nothing committed after the
        // read can be missed: it is either in the read or in the queue.
        let privacy = self.state.store.privacy_of(self.user_id).await?;
        let (registration, queue) =
            self.state
                .hub
                .register(self.user_id, self.session, &[], privacy);
        self.conn_id = registration.id;
        self.socket.get_mut().join_lane(&queue);
        // The task lives as long as the socket: its size is per-socket
        // memory. The start-up awaits the store (large futures), so it runs
        // boxed and its state is freed once it is done.
        Box::pin(self.welcome(registration.id)).await?;
        let ended = self.serve(&queue).await;
        // Whatever ends the socket, the lane writes to it no more.
        if let Some(cursors) = queue.unpark() {
            self.cursors = cursors;
        }
        ended
    }

    async fn serve(&mut self, queue: &SocketQueue) -> Result<(), SocketError> {
        loop {
            // Waiting: the lane may deliver the rooms' next messages itself.
            queue.park(std::mem::take(&mut self.cursors));
            let wake = tokio::select! {
                incoming = self.socket.next(), if self.in_flight.len() < SENDS_IN_FLIGHT => Wake::Frame(incoming),
                stored = oldest_answer(&mut self.in_flight) => Wake::Answer(stored),
                more = queue.recv_all(&mut self.inbox) => Wake::Queue(more),
                () = due(&mut self.marks_due) => Wake::MarksDue,
            };
            // Awake: the cursors come back, with what the lane delivered.
            if let Some(cursors) = queue.unpark() {
                self.cursors = cursors;
            }
            // Boxed for the same reason: what a wake does (several nested
            // awaits) would otherwise be part of every idle socket's task.
            // One allocation per wake is small next to its socket write.
            if Box::pin(self.on_wake(wake, queue)).await? == Flow::Stop {
                return Ok(());
            }
            // The lane writes to the socket only once everything the task
            // gave the library has left it (a pong it answered, say).
            self.flush().await?;
        }
    }

    async fn on_wake(&mut self, wake: Wake, queue: &SocketQueue) -> Result<Flow, SocketError> {
        let max_frame = self.state.config.limits.max_frame_bytes;
        match wake {
            Wake::Frame(incoming) => match incoming {
                Some(Ok(Message::Text(text))) if text.len() > max_frame => {
                    self.close_too_big().await?;
                    return Ok(Flow::Stop);
                }
                Some(Ok(Message::Text(text))) => {
                    if self.on_client_frame(text.as_str()).await? == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                    self.drain_and_flush(queue).await?;
                }
                Some(Ok(Message::Binary(data))) if data.len() > max_frame => {
                    self.close_too_big().await?;
                    return Ok(Flow::Stop);
                }
                Some(Ok(Message::Binary(_))) => {
                    match self.within_budget().await? {
                        Flow::Stop => return Ok(Flow::Stop),
                        Flow::Refused => {}
                        Flow::Continue => {
                            self.send_error(bad_frame("binary frames are not used"))
                                .await?
                        }
                    }
                    self.flush().await?;
                }
                Some(Ok(Message::Close(_))) | None => return Ok(Flow::Stop),
                Some(Ok(_)) => {} // ping/pong are answered by the library
                Some(Err(err)) => return Err(err.into()),
            },
            Wake::Answer(stored) => {
                self.on_answer(stored).await?;
                self.drain_and_flush(queue).await?;
            }
            Wake::Queue(true) => {
                // An ack that is ready goes before the messages.
                self.drain_and_flush(queue).await?;
            }
            Wake::MarksDue => {
                self.apply_marks(true).await?;
                self.drain_and_flush(queue).await?;
            }
            Wake::Queue(false) => {
                // The hub dropped us: the queue overflowed.
                self.close(close::LAGGED, "too far behind: reconnect and catch up")
                    .await;
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    }

    async fn welcome(&mut self, id: crate::realtime::hub::ConnId) -> Result<(), SocketError> {
        // Subscribed first, so nothing committed after the summaries are
        // read can be missed; the ids alone are enough for that.
        let first = self.state.store.room_ids_of(self.user_id).await?;
        self.state.hub.subscribe(id, &first);
        let rooms = self.state.store.rooms_of(self.user_id).await?;
        for room in &rooms {
            self.cursors.insert(
                room.room,
                Cursor {
                    delivered: room.last_seq,
                    synced: false,
                },
            );
        }
        self.send(ServerFrame::Welcome {
            protocol: PROTOCOL_VERSION,
            user_id: self.user_id,
            rooms,
        })
        .await?;
        self.flush().await
    }

    async fn on_client_frame(&mut self, text: &str) -> Result<Flow, SocketError> {
        let frame = match ClientFrame::decode(text) {
            Ok(frame) => frame,
            Err(err) => {
                let flow = self.within_budget().await?;
                if flow != Flow::Continue {
                    return Ok(flow);
                }
                self.send_error(err).await?;
                return Ok(Flow::Continue);
            }
        };
        match frame {
            // Sends have their own budget (the user's send rate) and
            // back-pressure (`SENDS_IN_FLIGHT`); read marks are coalesced.
            ClientFrame::Send {
                room,
                client_id,
                body,
                reply_to,
                mentions,
                files,
            } => {
                let for_error = client_id.clone();
                let request = messages::SendRequest {
                    room,
                    client_id,
                    body,
                    reply_to,
                    mentions,
                    files,
                };
                let sent = messages::submit(&self.state, &self.author, request);
                match sent.await {
                    Ok(pending) => self.in_flight.push_back(InFlight::Send(pending)),
                    Err(err) => {
                        self.send_error(message_error(err, Some(room), Some(for_error)))
                            .await?
                    }
                }
            }
            // Edits, deletes and reactions: the user's change budget, and
            // the same queue to the writer as sends.
            frame @ (ClientFrame::Edit { .. }
            | ClientFrame::Delete { .. }
            | ClientFrame::React { .. }) => {
                if let Some((room, seq, action)) = changes::action_of(frame) {
                    match changes::submit(&self.state, &self.author, room, seq, action).await {
                        Ok(pending) => self.in_flight.push_back(InFlight::Change(pending)),
                        Err(err) => {
                            let mut error = message_error(err, Some(room), None);
                            error.seq = Some(seq);
                            self.send_error(error).await?
                        }
                    }
                }
            }
            ClientFrame::Read { room, seq } => self.on_read(room, seq).await?,
            ClientFrame::Hello { rooms } => {
                let flow = self.within_budget().await?;
                if flow != Flow::Continue {
                    return Ok(flow);
                }
                if self.greeted {
                    // A second hello would replay every backlog again.
                    let mut err = bad_frame("hello is sent once per socket");
                    err.code = ErrorCode::Invalid;
                    self.send_error(err).await?;
                } else {
                    self.greeted = true;
                    self.catch_up(&rooms).await?;
                }
            }
            ClientFrame::Ping => {
                let flow = self.within_budget().await?;
                if flow != Flow::Continue {
                    return Ok(flow);
                }
                self.send(ServerFrame::Pong).await?;
            }
            ClientFrame::Presence { active } => {
                let flow = self.within_budget().await?;
                if flow != Flow::Continue {
                    return Ok(flow);
                }
                self.state.hub.set_active(self.conn_id, active);
            }
            ClientFrame::View { room } => {
                let flow = self.within_budget().await?;
                if flow != Flow::Continue {
                    return Ok(flow);
                }
                match presence::show(&self.state, self.conn_id, self.user_id, room).await {
                    Ok(frame) => self.send(frame).await?,
                    Err(err) => self.send_error(message_error(err, room, None)).await?,
                }
            }
            ClientFrame::Typing { room, on } => {
                if self.typing_budget.spend().is_err() {
                    // Best effort: dropped unanswered.
                    return self.refused(None).await;
                }
                self.refused_in_a_row = 0;
                // The socket's rooms are the user's memberships, kept
                // current by the hub (a removed member's room goes at once).
                if self.cursors.contains_key(&room) {
                    presence::typing(&self.state, &self.author, room, on);
                } else {
                    let err = message_error(MessageError::Forbidden, Some(room), None);
                    self.send_error(err).await?;
                }
            }
        }
        Ok(Flow::Continue)
    }

    /// Charges one frame to this socket's budget and the user's. Over
    /// either, the frame is answered `slow_down` and not acted on; after
    /// `REFUSED_IN_A_ROW` such answers the socket is closed (`FLOODED`).
    /// `Continue` means the frame may go ahead; `Stop` means the socket is
    /// closing; a refused frame that was answered is `Refused`.
    async fn within_budget(&mut self) -> Result<Flow, SocketError> {
        let wait = match (
            self.budget.spend(),
            self.state.frame_limiter.check(self.user_id),
        ) {
            (Ok(()), Ok(())) => {
                self.refused_in_a_row = 0;
                return Ok(Flow::Continue);
            }
            (Err(wait), _) | (_, Err(wait)) => wait,
        };
        self.refused(Some(wait)).await
    }

    /// A frame refused for its budget: counted, and after
    /// `REFUSED_IN_A_ROW` in a row the socket is closed (`Stop`); else
    /// answered `slow_down` when `wait` says how long to wait (`Refused`).
    async fn refused(&mut self, wait: Option<Duration>) -> Result<Flow, SocketError> {
        self.refused_in_a_row = self.refused_in_a_row.saturating_add(1);
        if self.refused_in_a_row >= REFUSED_IN_A_ROW {
            let _ = self.flush().await;
            self.close_and_wait(close::FLOODED, "too many frames: reconnect later")
                .await;
            return Ok(Flow::Stop);
        }
        let Some(wait) = wait else {
            return Ok(Flow::Refused);
        };
        self.send_error(FrameError {
            code: ErrorCode::SlowDown,
            message: "slow down: too many frames".to_string(),
            client_id: None,
            room: None,
            seq: None,
            retry_after_ms: Some(wait.as_millis().max(1) as u64),
        })
        .await?;
        Ok(Flow::Refused)
    }

    /// A read mark: applied at once when no round ran in the last
    /// `MARK_ROUND`, else kept (the newest per room) for the next round.
    /// A flood of marks costs at most one write per room per round.
    async fn on_read(&mut self, room: i64, seq: i64) -> Result<(), SocketError> {
        let now = Instant::now();
        let quiet = self
            .last_marks
            .is_none_or(|at| now.duration_since(at) >= MARK_ROUND);
        if quiet && self.pending_marks.is_empty() {
            self.last_marks = Some(now);
            return self.mark(room, seq, true).await;
        }
        let newest = self.pending_marks.entry(room).or_insert(seq);
        *newest = (*newest).max(seq);
        if self.marks_due.is_none() {
            let at = self.last_marks.map_or(now, |last| last + MARK_ROUND);
            self.marks_due = Some(Box::pin(tokio::time::sleep_until(at.max(now))));
        }
        Ok(())
    }

    /// Applies the pending read marks. `report` sends each refusal to the
    /// client (false once the socket is gone).
    async fn apply_marks(&mut self, report: bool) -> Result<(), SocketError> {
        self.marks_due = None;
        if self.pending_marks.is_empty() {
            return Ok(());
        }
        self.last_marks = Some(Instant::now());
        let marks: Vec<(i64, i64)> = self.pending_marks.drain().collect();
        for (room, seq) in marks {
            self.mark(room, seq, report).await?;
        }
        Ok(())
    }

    async fn mark(&mut self, room: i64, seq: i64, report: bool) -> Result<(), SocketError> {
        match messages::mark_read(&self.state, self.user_id, room, seq).await {
            // The hub tells every tab, this one included; the others
            // with receipts hear of it too.
            Ok(true) => {
                if let Err(err) = receipts::read_moved(&self.state, self.user_id, room).await {
                    tracing::warn!(error = %err, room, "read receipt not sent");
                }
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(err) if report => self.send_error(message_error(err, Some(room), None)).await,
            Err(_) => Ok(()),
        }
    }

    /// Answers the oldest send or change in flight (its answer is `stored`).
    async fn on_answer(&mut self, stored: Result<Stored, StoreError>) -> Result<(), SocketError> {
        let sent = match self.in_flight.pop_front() {
            None => return Ok(()),
            Some(InFlight::Change(change)) => {
                // A change made is told by its `changed` frame, to every tab.
                return match changes::settle(stored) {
                    Ok(()) => Ok(()),
                    Err(err) => {
                        let mut error = message_error(err, Some(change.room), None);
                        error.seq = Some(change.seq);
                        self.send_error(error).await
                    }
                };
            }
            Some(InFlight::Send(sent)) => sent,
        };
        let room = sent.room;
        let client_id = sent.client_id.clone();
        match messages::acknowledge(&self.state, sent.client_id, stored).await {
            Ok(ack) => self.send(ServerFrame::Ack(ack)).await,
            Err(err) => {
                self.send_error(message_error(err, Some(room), Some(client_id)))
                    .await
            }
        }
    }

    /// Sends each room's backlog after the client's cursor, in pages, then
    /// `CaughtUp`; from then on the room's live messages flow.
    ///
    /// One read of every room's last seq first: a room the client holds up
    /// to it needs no read of its events (whatever is committed after that
    /// read waits in the socket's queue, which is not drained before the
    /// catch-up ends). The first pages of the rooms that are behind are
    /// read together, many rooms per query (`Store::events_in`), so a user
    /// in hundreds of rooms (a support agent) waits for a few round trips,
    /// not a few per room; a room further behind reads on page by page.
    async fn catch_up(&mut self, client: &[RoomCursor]) -> Result<(), SocketError> {
        for cursor in client {
            if !self.cursors.contains_key(&cursor.room) {
                let err = message_error(MessageError::Forbidden, Some(cursor.room), None);
                self.send_error(err).await?;
            }
        }
        let rooms: Vec<i64> = self.cursors.keys().copied().collect();
        let stored = self.state.store.last_seqs(&rooms).await?;
        let mut behind: Vec<(SeqRange, i64)> = Vec::new();
        for room in rooms {
            let Some(mut cursor) = self.cursors.get(&room).copied() else {
                continue;
            };
            if let Some(claimed) = client.iter().find(|c| c.room == room) {
                cursor.delivered = claimed.last_seq.max(0);
            }
            self.cursors.insert(room, cursor);
            let after = cursor.delivered;
            match stored.get(&room) {
                Some(&last) if last > after => {
                    let up_to = last.min(after + CATCH_UP_PAGE);
                    behind.push((SeqRange { room, after, up_to }, last));
                }
                _ => self.caught_up(room, after).await?,
            }
        }
        let mut batch: Vec<(SeqRange, i64)> = Vec::new();
        let mut events = 0;
        for (range, last) in behind {
            let size = range.up_to - range.after;
            if !batch.is_empty() && events + size > CATCH_UP_BATCH {
                self.send_first_pages(std::mem::take(&mut batch)).await?;
                events = 0;
            }
            batch.push((range, last));
            events += size;
        }
        self.send_first_pages(batch).await?;
        self.flush().await?;
        Ok(())
    }

    /// Sends the first page of each room's backlog (read together), reads
    /// on where the room's last seq lies further, and marks each caught up.
    async fn send_first_pages(&mut self, batch: Vec<(SeqRange, i64)>) -> Result<(), SocketError> {
        if batch.is_empty() {
            return Ok(());
        }
        let ranges: Vec<SeqRange> = batch.iter().map(|(range, _)| *range).collect();
        let mut pages = self.state.store.events_in(&ranges).await?;
        for (range, last) in batch {
            let page = pages.remove(&range.room).unwrap_or_default();
            // The range was read whole: everything through `up_to` is sent.
            let mut delivered = self.feed_events(page, range.up_to).await?;
            if last > range.up_to {
                delivered =
                    delivered.max(self.send_backlog(range.room, range.up_to, i64::MAX).await?);
            }
            self.caught_up(range.room, delivered).await?;
        }
        Ok(())
    }

    /// Marks `room` caught up at `seq` (its live messages flow from here)
    /// and tells the client.
    async fn caught_up(&mut self, room: i64, seq: i64) -> Result<(), SocketError> {
        self.cursors.insert(room, Cursor::live_after(seq));
        self.send(ServerFrame::CaughtUp { room, seq }).await
    }

    /// Feeds a page's events to the socket; the newest seq fed, or `last`.
    async fn feed_events(
        &mut self,
        events: Vec<Sequenced>,
        mut last: i64,
    ) -> Result<i64, SocketError> {
        for (seq, frame) in events {
            last = last.max(seq);
            self.feed(frame.to_json().into()).await?;
        }
        Ok(last)
    }

    /// Sends the room's stored events (messages and changes) with `after <
    /// seq <= up_to`; returns the newest seq sent (or `after`).
    async fn send_backlog(
        &mut self,
        room: i64,
        after: i64,
        up_to: i64,
    ) -> Result<i64, SocketError> {
        let mut last = after;
        let mut from = after;
        loop {
            let page = self
                .state
                .store
                .events_between(room, from, up_to, CATCH_UP_PAGE)
                .await?;
            last = self.feed_events(page.events, last).await?;
            match page.next {
                Some(next) if next > from => from = next,
                _ => return Ok(last),
            }
        }
    }

    async fn on_outbound(&mut self, item: Outbound) -> Result<(), SocketError> {
        match item {
            Outbound::Frame(frame) => self.feed(frame).await,
            Outbound::Close(code) => {
                let _ = self.flush().await;
                let reason = if code == close::RESTARTING {
                    "restarting"
                } else {
                    "session ended"
                };
                self.close(code, reason).await;
                Err(SocketError::Ended)
            }
            Outbound::Left { room, frame } => {
                self.cursors.remove(&room);
                self.feed(frame).await
            }
            Outbound::Joined { room, seq, frame } => {
                self.feed(frame).await?;
                // A message committed after the summary was read may have
                // reached this node before the join did (another node's
                // NOTIFY): read whatever is there, then go live.
                let delivered = self.send_backlog(room, seq, i64::MAX).await?;
                self.cursors.insert(room, Cursor::live_after(delivered));
                Ok(())
            }
            Outbound::RoomMessage { room, seq, frame } => {
                let Some(cursor) = self.cursors.get(&room).copied() else {
                    return Ok(());
                };
                if !cursor.synced || seq <= cursor.delivered {
                    return Ok(()); // the catch-up covers it, or it was sent already
                }
                if seq > cursor.delivered + 1 {
                    // Commits can publish out of order: fill the gap from the
                    // database, where everything below `seq` is already stored.
                    self.send_backlog(room, cursor.delivered, seq - 1).await?;
                }
                self.cursors.insert(room, Cursor::live_after(seq));
                self.feed(frame).await
            }
        }
    }

    /// Buffers a frame; the caller flushes. Waits (at most the write
    /// timeout) only when the buffer is full and the peer is not reading,
    /// so the common case sets no timer.
    async fn feed(&mut self, frame: Utf8Bytes) -> Result<(), SocketError> {
        let ready = {
            let mut probe = Context::from_waker(Waker::noop());
            Pin::new(&mut self.socket).poll_ready(&mut probe)
        };
        match ready {
            Poll::Ready(ready) => ready?,
            Poll::Pending => {
                within_write_timeout(std::future::poll_fn(|cx| {
                    Pin::new(&mut self.socket).poll_ready(cx)
                }))
                .await?
            }
        }
        Pin::new(&mut self.socket).start_send(Message::Text(frame))?;
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SocketError> {
        within_write_timeout(self.socket.flush()).await
    }

    /// Acks the sends the writer has answered, oldest first.
    async fn take_answers(&mut self) -> Result<(), SocketError> {
        while let Some(stored) = self
            .in_flight
            .front_mut()
            .and_then(|sent| sent.answer().try_take())
        {
            self.on_answer(stored).await?;
        }
        Ok(())
    }

    /// Writes whatever else is ready (acks first, then everything queued:
    /// the writer publishes a batch's messages and read marks before it
    /// answers, so a send's ack and its own message usually leave
    /// together), then flushes once: many frames per write.
    async fn drain_and_flush(&mut self, queue: &SocketQueue) -> Result<(), SocketError> {
        self.take_answers().await?;
        queue.take_now(&mut self.inbox);
        while let Some(item) = self.inbox.pop_front() {
            self.on_outbound(item).await?;
        }
        self.flush().await
    }

    /// Buffers a frame; the caller flushes.
    async fn send(&mut self, frame: ServerFrame) -> Result<(), SocketError> {
        self.feed(frame.to_json().into()).await
    }

    async fn send_error(&mut self, err: FrameError) -> Result<(), SocketError> {
        self.send(ServerFrame::Error(err)).await
    }

    /// Closes with 1009 (see `close_and_wait`).
    async fn close_too_big(&mut self) -> Result<(), SocketError> {
        self.close_and_wait(close::TOO_BIG, "frame too large").await;
        Ok(())
    }

    /// Closes and waits (briefly) for the client's close reply, reading and
    /// dropping whatever it still sends, so the close frame is not lost to
    /// a TCP reset (unread bytes in a closed socket make the kernel send one).
    async fn close_and_wait(&mut self, code: u16, reason: &'static str) {
        self.close(code, reason).await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
            while let Some(Ok(msg)) = self.socket.next().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from_static(reason),
        };
        // A reader that stopped reading cannot take even the close frame:
        // give up after the write timeout rather than hold the task.
        let _ = tokio::time::timeout(WRITE_TIMEOUT, self.socket.send(Message::Close(Some(frame))))
            .await;
    }
}

/// Resolves when the pending read marks are due; never while none are.
async fn due(marks_due: &mut Option<Pin<Box<Sleep>>>) {
    match marks_due {
        Some(sleep) => sleep.as_mut().await,
        None => std::future::pending().await,
    }
}

/// The writer's answer to the oldest send in flight; never resolves while
/// there is none. Cancel-safe: the answer stays in its `Pending`.
async fn oldest_answer(in_flight: &mut VecDeque<InFlight>) -> Result<Stored, StoreError> {
    match in_flight.front_mut() {
        Some(sent) => sent.answer().await,
        None => std::future::pending().await,
    }
}

async fn within_write_timeout(
    write: impl std::future::Future<Output = Result<(), WsError>>,
) -> Result<(), SocketError> {
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(SocketError::Stalled),
    }
}

fn bad_frame(message: &str) -> FrameError {
    FrameError {
        code: ErrorCode::BadFrame,
        message: message.to_string(),
        client_id: None,
        room: None,
        seq: None,
        retry_after_ms: None,
    }
}

fn message_error(err: MessageError, room: Option<i64>, client_id: Option<String>) -> FrameError {
    let (code, message, retry_after_ms) = match err {
        MessageError::Invalid(why) => (ErrorCode::Invalid, why.to_string(), None),
        err @ MessageError::TooManyFiles(_) => (ErrorCode::Invalid, err.to_string(), None),
        MessageError::Forbidden => (
            ErrorCode::Forbidden,
            "you are not a member of this room".to_string(),
            None,
        ),
        MessageError::SlowDown(wait) => (
            ErrorCode::SlowDown,
            "slow down: too many messages".to_string(),
            Some(wait.as_millis().max(1) as u64),
        ),
        MessageError::Refused(refusal) => {
            let code = match refusal {
                Refusal::NoMessage => ErrorCode::NotFound,
                Refusal::TooManyReactions => ErrorCode::Invalid,
                _ => ErrorCode::Forbidden,
            };
            (code, refusal.to_string(), None)
        }
        MessageError::Store(e) => {
            tracing::error!(error = %e, "ws: store failure");
            (
                ErrorCode::Internal,
                "something went wrong; try again".to_string(),
                None,
            )
        }
    };
    FrameError {
        code,
        message,
        client_id,
        room,
        seq: None,
        retry_after_ms,
    }
}
