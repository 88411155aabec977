//! One socket's bounded outbound queue. The hub pushes a batch at a time
//! (all of a commit's messages for the socket's room under one lock, one
//! wake); the socket task takes everything waiting in one go and writes it
//! with one flush.
//!
//! A general-purpose channel costs a semaphore permit, a slot and a wake per
//! item, and allocates its first block of slots for every socket up front;
//! at a hundred sockets per message that was the largest cost of a delivery.
//! Here an item is a `VecDeque` push, and an idle socket allocates nothing.
//!
//! **The direct lane.** A room's next message is the same bytes on every
//! socket, so when a socket's task has nothing queued, nothing half
//! written and is waiting, the fan-out writes the encoded frame to the
//! socket itself (`offer_messages`), with no task woken: in a room of
//! 10,000 that is most of a delivery's cost saved. The task lends the
//! lane its room cursors while it waits (`park`) and takes them back
//! before it writes anything itself (`unpark`, `claim_writes`), so the
//! two never write at once and every room stays gap-free and in order.
//! A write the socket takes only in part leaves the rest here (`unsent`)
//! for the task, which sends it before anything else.

use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::Poll;

use axum::body::Bytes;
use futures::task::AtomicWaker;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::ids::IdMap;

/// Where a room stands on one socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The newest seq sent (or known to the client).
    pub delivered: i64,
    /// False until the client's `Hello` has been answered with a catch-up;
    /// live messages before that are skipped (the catch-up reads them).
    pub synced: bool,
}

impl Cursor {
    pub fn live_after(seq: i64) -> Cursor {
        Cursor {
            delivered: seq,
            synced: true,
        }
    }
}

/// A socket's rooms and where each stands.
pub type Cursors = IdMap<i64, Cursor>;

/// A text frame as it goes on the wire from a server (FIN, opcode 1, the
/// length, no mask), encoded once for every socket it is written to.
pub fn wire_frame(text: &str) -> Bytes {
    let payload = text.as_bytes();
    let mut frame = Vec::with_capacity(payload.len() + 10);
    frame.push(0x81);
    match payload.len() {
        n if n < 126 => frame.push(n as u8),
        n if n <= usize::from(u16::MAX) => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    Bytes::from(frame)
}

/// One message for the direct lane: its seq, its JSON (for the queue, if
/// the lane cannot take it) and its wire frame.
pub struct Offered<'a> {
    pub seq: i64,
    pub frame: &'a Utf8Bytes,
    pub wire: &'a Bytes,
}

/// What became of messages offered to a socket.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    /// Written to the socket by the caller (all, or the rest is `unsent`).
    Written,
    /// Queued for the socket's task.
    Queued,
    /// The queue is full or closed: the socket has fallen behind.
    Refused,
}

/// What travels down a socket's queue.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A message frame with its room and seq, so the socket can keep each
    /// room in order and drop what it already sent.
    RoomMessage {
        room: i64,
        seq: i64,
        frame: Utf8Bytes,
    },
    /// Any other frame, sent as is.
    Frame(Utf8Bytes),
    /// The user joined `room`: subscribe the socket from `seq` on.
    Joined {
        room: i64,
        seq: i64,
        frame: Utf8Bytes,
    },
    /// The user left `room`: forget it, then send the frame.
    Left { room: i64, frame: Utf8Bytes },
    /// The session behind the socket ended: close it with this code.
    Close(u16),
}

pub struct SocketQueue {
    state: Mutex<State>,
    waker: AtomicWaker,
    capacity: usize,
    /// The socket itself, when the direct lane may write to it: its
    /// descriptor, written to with send(2) (touching nothing else of the
    /// socket's memory: at 10,000 sockets a cache miss per socket shows),
    /// and the stream that keeps the descriptor open while it is here.
    stream: OnceLock<(RawFd, Arc<TcpStream>)>,
}

#[derive(Default)]
struct State {
    items: VecDeque<Outbound>,
    /// No more items will come: the hub dropped the socket (it lagged, its
    /// session ended, or it unregistered). What is queued is still taken.
    closed: bool,
    /// The task's room cursors, lent while it waits.
    parked: Option<Cursors>,
    /// The cursor of the room the lane wrote to last, kept here rather
    /// than in `parked` until the task takes the cursors back: a big
    /// room's next message then finds it without a look into the map (a
    /// cache miss per socket, a sixth of a delivery's cost at 10,000).
    hint: Option<(i64, Cursor)>,
    /// The fan-out may write to the socket itself now.
    armed: bool,
    /// The rest of a frame the fan-out wrote only in part: the task sends
    /// it before anything else.
    unsent: Option<Bytes>,
}

/// A take of fewer items than this frees a spare buffer of more than four
/// times as many slots (see `State::move_into`).
const KEEP: usize = 64;

/// One non-blocking send(2) of `bytes`: how many it took.
fn send(fd: RawFd, bytes: &[u8]) -> Option<usize> {
    // SAFETY: the descriptor is open (its stream is held beside it) and
    // the buffer is valid for its length.
    let sent = unsafe {
        libc::send(
            fd,
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    usize::try_from(sent).ok()
}

/// One non-blocking sendmsg(2) of several buffers: how many bytes it took.
fn send_all(fd: RawFd, slices: &[IoSlice<'_>]) -> Option<usize> {
    // SAFETY: an all-zero msghdr is valid; it then points at `slices`
    // (IoSlice is ABI-compatible with iovec) for the length of the call.
    let sent = unsafe {
        let mut message: libc::msghdr = std::mem::zeroed();
        message.msg_iov = slices.as_ptr() as *mut libc::iovec;
        message.msg_iovlen = slices.len() as _;
        libc::sendmsg(fd, &message, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
    };
    usize::try_from(sent).ok()
}

impl State {
    /// Moves every queued item to the end of `into`. An empty `into` trades
    /// buffers with the queue instead of copying, so the two buffers are
    /// reused in turn; they keep what a burst grew them to, so once a take
    /// is small again a large spare is let go rather than held for the life
    /// of the socket (under steady load they are reused, not regrown).
    fn move_into(&mut self, into: &mut VecDeque<Outbound>) {
        if !into.is_empty() {
            into.extend(self.items.drain(..));
            return;
        }
        if self.items.len() < KEEP && into.capacity() > 4 * KEEP {
            *into = VecDeque::new();
        }
        std::mem::swap(&mut self.items, into);
    }
}

impl SocketQueue {
    pub fn new(capacity: usize) -> SocketQueue {
        SocketQueue {
            state: Mutex::default(),
            waker: AtomicWaker::new(),
            capacity: capacity.max(1),
            stream: OnceLock::new(),
        }
    }

    /// Gives the direct lane the socket to write to (once, at the start).
    pub fn attach(&self, stream: Arc<TcpStream>) {
        let _ = self.stream.set((stream.as_raw_fd(), stream));
    }

    /// Lends the lane the task's cursors while it waits; the lane opens if
    /// nothing is queued or half written and a socket is attached.
    pub fn park(&self, cursors: Cursors) {
        let mut state = self.lock();
        state.armed = self.stream.get().is_some()
            && state.items.is_empty()
            && state.unsent.is_none()
            && !state.closed;
        state.parked = Some(cursors);
        state.hint = None;
    }

    /// Closes the lane and hands the cursors back (with what the lane
    /// delivered in the meantime), if they were lent.
    pub fn unpark(&self) -> Option<Cursors> {
        let mut state = self.lock();
        state.armed = false;
        let mut cursors = state.parked.take()?;
        if let Some((room, cursor)) = state.hint.take() {
            cursors.insert(room, cursor);
        }
        Some(cursors)
    }

    /// Closes the lane before the task writes to the socket itself, and
    /// gives it the rest of a frame the lane wrote in part, to go first.
    pub fn claim_writes(&self) -> Option<Bytes> {
        let mut state = self.lock();
        state.armed = false;
        state.unsent.take()
    }

    /// Offers a room's messages (consecutive seqs, in order): written to
    /// the socket at once when the lane is open and they are the room's
    /// next ones, else queued for the task like `push_all`.
    pub fn offer_messages(&self, room: i64, messages: &[Offered<'_>]) -> Offer {
        let mut state = self.lock();
        if state.closed {
            return Offer::Refused;
        }
        if state.armed && !messages.is_empty() {
            if let Some(partial) = self.write_directly(&mut state, room, messages) {
                drop(state);
                if partial {
                    // Only a write taken in part needs the task.
                    self.waker.wake();
                }
                return Offer::Written;
            }
        }
        let queued = self.enqueue(
            state,
            messages.iter().map(|m| Outbound::RoomMessage {
                room,
                seq: m.seq,
                frame: m.frame.clone(),
            }),
        );
        if queued {
            Offer::Queued
        } else {
            Offer::Refused
        }
    }

    /// The lane's write: `None` when it cannot take these messages (not the
    /// room's next, the room not live here, or the socket took nothing);
    /// `Some(partial)` when written, `partial` if some bytes are `unsent`.
    fn write_directly(
        &self,
        state: &mut State,
        room: i64,
        messages: &[Offered<'_>],
    ) -> Option<bool> {
        let &(fd, _) = self.stream.get()?;
        let cursor = match state.hint {
            Some((hinted, cursor)) if hinted == room => cursor,
            _ => state.parked.as_ref()?.get(&room).copied()?,
        };
        let consecutive = messages
            .iter()
            .enumerate()
            .all(|(i, m)| m.seq == cursor.delivered + 1 + i as i64);
        if !cursor.synced || !consecutive {
            return None;
        }
        let total: usize = messages.iter().map(|m| m.wire.len()).sum();
        // One system call either way; the common single message needs no
        // list of slices.
        let written = match messages {
            [one] => send(fd, one.wire),
            many => {
                let slices: Vec<IoSlice<'_>> = many.iter().map(|m| IoSlice::new(m.wire)).collect();
                send_all(fd, &slices)
            }
        };
        // Nothing taken (a full buffer, or an error the task will meet):
        // the task writes it.
        let written = written.filter(|n| *n > 0)?;
        let last = messages.last().map_or(cursor.delivered, |m| m.seq);
        let before = state.hint.replace((room, Cursor::live_after(last)));
        if let (Some((other, cursor)), Some(parked)) = (before, state.parked.as_mut()) {
            if other != room {
                parked.insert(other, cursor);
            }
        }
        if written == total {
            return Some(false);
        }
        // The socket's buffer filled mid-way: the rest is the task's to send.
        let mut rest = Vec::with_capacity(total - written);
        let mut skip = written;
        for m in messages {
            let bytes: &[u8] = m.wire;
            if skip >= bytes.len() {
                skip -= bytes.len();
            } else {
                rest.extend_from_slice(&bytes[skip..]);
                skip = 0;
            }
        }
        state.unsent = Some(Bytes::from(rest));
        state.armed = false;
        Some(true)
    }

    /// Queues every item, or none of them when that would pass the
    /// capacity: the socket has fallen behind, and the queue closes (the
    /// caller drops it from the hub). False when nothing was queued.
    pub fn push_all(&self, items: impl ExactSizeIterator<Item = Outbound>) -> bool {
        let state = self.lock();
        if state.closed {
            return false;
        }
        self.enqueue(state, items)
    }

    /// Queues the items for the task (which writes to the socket from now
    /// on: the lane closes), or closes the queue when they do not fit.
    fn enqueue(
        &self,
        mut state: MutexGuard<'_, State>,
        items: impl ExactSizeIterator<Item = Outbound>,
    ) -> bool {
        state.armed = false;
        let fits = state.items.len() + items.len() <= self.capacity;
        if fits {
            state.items.extend(items);
        } else {
            state.closed = true;
        }
        drop(state);
        self.waker.wake();
        fits
    }

    pub fn push(&self, item: Outbound) -> bool {
        self.push_all(std::iter::once(item))
    }

    /// Items waiting to be written.
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ends the queue after what it holds.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.armed = false;
        drop(state);
        self.waker.wake();
    }

    /// Moves everything queued into `into` without waiting.
    pub fn take_now(&self, into: &mut VecDeque<Outbound>) {
        self.lock().move_into(into);
    }

    /// Waits until something is queued and moves it all into `into`; false
    /// once the queue is closed and empty. Cancel-safe: nothing is taken
    /// unless it resolves.
    pub fn recv_all<'a>(
        &'a self,
        into: &'a mut VecDeque<Outbound>,
    ) -> impl Future<Output = bool> + 'a {
        std::future::poll_fn(move |cx| {
            // Registered before looking, so a push after the look wakes us.
            self.waker.register(cx.waker());
            let mut state = self.lock();
            if !state.items.is_empty() || state.unsent.is_some() {
                // (A frame the lane wrote in part wakes the task too, to
                // send its rest.)
                state.move_into(into);
                Poll::Ready(true)
            } else if state.closed {
                Poll::Ready(false)
            } else {
                Poll::Pending
            }
        })
    }

    /// The oldest item, without waiting.
    #[cfg(test)]
    pub fn try_recv(&self) -> Option<Outbound> {
        self.lock().items.pop_front()
    }

    /// The oldest item; `None` once closed and empty.
    #[cfg(test)]
    pub async fn recv(&self) -> Option<Outbound> {
        std::future::poll_fn(|cx| {
            self.waker.register(cx.waker());
            let mut state = self.lock();
            match state.items.pop_front() {
                Some(item) => Poll::Ready(Some(item)),
                None if state.closed => Poll::Ready(None),
                None => Poll::Pending,
            }
        })
        .await
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Outbound {
        Outbound::Frame(Utf8Bytes::from_static("f"))
    }

    #[tokio::test]
    async fn takes_everything_queued_at_once() {
        let queue = SocketQueue::new(8);
        assert!(queue.push_all([frame(), frame(), frame()].into_iter()));
        let mut got = VecDeque::new();
        assert!(queue.recv_all(&mut got).await);
        assert_eq!(got.len(), 3);
    }

    #[tokio::test]
    async fn a_batch_past_the_capacity_closes_it_after_what_it_held() {
        let queue = SocketQueue::new(3);
        assert!(queue.push_all([frame(), frame()].into_iter()));
        assert!(
            !queue.push_all([frame(), frame()].into_iter()),
            "no room for both"
        );
        assert!(!queue.push(frame()), "closed now");
        let mut got = VecDeque::new();
        assert!(queue.recv_all(&mut got).await);
        assert_eq!(got.len(), 2, "what it held is still delivered");
        got.clear();
        assert!(!queue.recv_all(&mut got).await, "then it ends");
    }

    #[test]
    fn a_large_spare_buffer_goes_once_takes_are_small_again() {
        let queue = SocketQueue::new(1024);
        let mut inbox = VecDeque::new();
        assert!(queue.push_all((0..1000).map(|_| frame())));
        queue.take_now(&mut inbox);
        assert_eq!(inbox.len(), 1000);
        assert!(inbox.capacity() >= 1000);
        inbox.clear();
        assert!(queue.push(frame()));
        queue.take_now(&mut inbox);
        assert_eq!(inbox.len(), 1, "a small take still takes everything");
        assert!(inbox.capacity() < 1000, "and lets the big buffer go");
    }

    #[tokio::test]
    async fn a_push_wakes_the_waiting_socket() {
        let queue = std::sync::Arc::new(SocketQueue::new(4));
        let waiting = tokio::spawn({
            let queue = queue.clone();
            async move {
                let mut got = VecDeque::new();
                queue.recv_all(&mut got).await;
                got.len()
            }
        });
        tokio::task::yield_now().await;
        queue.push(frame());
        assert_eq!(waiting.await.ok(), Some(1));
    }

    /// A connected loopback pair: the server's end (for the lane) and the
    /// peer's, non-blocking.
    async fn pair() -> (Arc<TcpStream>, std::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::net::TcpStream::connect(addr).unwrap();
        let (server, _) = listener.accept().await.unwrap();
        peer.set_nonblocking(true).unwrap();
        (Arc::new(server), peer)
    }

    fn read_all(peer: &mut std::net::TcpStream) -> Vec<u8> {
        use std::io::Read;
        let mut got = Vec::new();
        let mut buf = [0u8; 65536];
        // Loopback delivers at once; a few tries cover the scheduler.
        for _ in 0..50 {
            match peer.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) if !got.is_empty() => break,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(2)),
            }
        }
        got
    }

    fn cursors(room: i64, delivered: i64) -> Cursors {
        let mut cursors = Cursors::default();
        cursors.insert(room, Cursor::live_after(delivered));
        cursors
    }

    #[tokio::test]
    async fn the_lane_writes_a_rooms_next_messages_itself_and_keeps_the_cursor() {
        let (server, mut peer) = pair().await;
        let queue = SocketQueue::new(8);
        queue.attach(server);
        queue.park(cursors(7, 4));
        let (frame, wire) = (Utf8Bytes::from_static("{\"n\":5}"), wire_frame("{\"n\":5}"));
        let offered = [Offered {
            seq: 5,
            frame: &frame,
            wire: &wire,
        }];
        assert_eq!(queue.offer_messages(7, &offered), Offer::Written);
        assert!(queue.is_empty(), "nothing for the task");
        assert_eq!(read_all(&mut peer), wire.to_vec(), "the exact frame, once");

        // Not the room's next seq (a gap): the task's job.
        let (frame7, wire7) = (Utf8Bytes::from_static("x"), wire_frame("x"));
        let gap = [Offered {
            seq: 7,
            frame: &frame7,
            wire: &wire7,
        }];
        assert_eq!(queue.offer_messages(7, &gap), Offer::Queued);
        assert_eq!(queue.len(), 1);
        // And the lane stays shut until the task lends the cursors again.
        let (frame6, wire6) = (Utf8Bytes::from_static("y"), wire_frame("y"));
        let next = [Offered {
            seq: 6,
            frame: &frame6,
            wire: &wire6,
        }];
        assert_eq!(queue.offer_messages(7, &next), Offer::Queued);
        let back = queue.unpark().expect("the cursors come back");
        assert_eq!(
            back.get(&7),
            Some(&Cursor::live_after(5)),
            "with what the lane sent"
        );
        assert!(read_all(&mut peer).is_empty(), "nothing else was written");
    }

    #[tokio::test]
    async fn a_room_not_caught_up_or_unknown_is_left_to_the_task() {
        let (server, _peer) = pair().await;
        let queue = SocketQueue::new(8);
        queue.attach(server);
        let mut lent = cursors(1, 10);
        lent.insert(
            2,
            Cursor {
                delivered: 3,
                synced: false,
            },
        );
        queue.park(lent);
        let (frame, wire) = (Utf8Bytes::from_static("m"), wire_frame("m"));
        let unsynced = [Offered {
            seq: 4,
            frame: &frame,
            wire: &wire,
        }];
        assert_eq!(
            queue.offer_messages(2, &unsynced),
            Offer::Queued,
            "before its catch-up"
        );
        queue.park(queue.unpark().unwrap_or_default());
        let unknown = [Offered {
            seq: 1,
            frame: &frame,
            wire: &wire,
        }];
        assert_eq!(
            queue.offer_messages(3, &unknown),
            Offer::Queued,
            "a room it is not in"
        );
    }

    #[tokio::test]
    async fn a_write_taken_in_part_leaves_the_rest_for_the_task_first() {
        let (server, mut peer) = pair().await;
        let queue = SocketQueue::new(1_000_000);
        queue.attach(server);
        queue.park(cursors(1, 0));
        // Large frames until the socket's buffers take only part of one.
        let text = "z".repeat(60_000);
        let wire = wire_frame(&text);
        let frame = Utf8Bytes::from(text.clone());
        let mut seq = 1;
        let mut sent = Vec::new();
        loop {
            let offered = [Offered {
                seq,
                frame: &frame,
                wire: &wire,
            }];
            match queue.offer_messages(1, &offered) {
                Offer::Written => {
                    sent.extend_from_slice(&wire);
                    seq += 1;
                    if queue.lock().unsent.is_some() {
                        break;
                    }
                }
                other => panic!("the lane took nothing at seq {seq}: {other:?}"),
            }
            assert!(seq < 10_000, "the socket's buffer never filled");
        }
        // The task is woken to send the rest, which it claims before
        // writing anything of its own.
        let mut inbox = VecDeque::new();
        assert!(queue.recv_all(&mut inbox).await);
        let rest = queue.claim_writes().expect("the rest of the frame");
        assert!(!rest.is_empty() && rest.len() < wire.len());
        // Later messages go to the task, in order, after that rest.
        let offered = [Offered {
            seq,
            frame: &frame,
            wire: &wire,
        }];
        assert_eq!(queue.offer_messages(1, &offered), Offer::Queued);
        // What reached the peer plus the rest is every frame, whole.
        let mut got = Vec::new();
        while got.len() + rest.len() < sent.len() {
            let more = read_all(&mut peer);
            assert!(!more.is_empty(), "the peer stopped receiving");
            got.extend(more);
        }
        got.extend_from_slice(&rest);
        assert_eq!(got.len(), sent.len());
        assert!(got == sent, "no byte lost or doubled");
    }

    #[test]
    fn wire_frames_carry_the_length_as_the_protocol_says() {
        assert_eq!(&wire_frame("hi")[..], &[0x81, 2, b'h', b'i']);
        let medium = wire_frame(&"a".repeat(300));
        assert_eq!(&medium[..4], &[0x81, 126, 1, 44]);
        let large = wire_frame(&"a".repeat(70_000));
        assert_eq!(&large[..2], &[0x81, 127]);
        assert_eq!(u64::from_be_bytes(large[2..10].try_into().unwrap()), 70_000);
    }
}
