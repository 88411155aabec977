//! One socket's bounded outbound queue. The hub pushes a batch at a time
//! (all of a commit's messages for the socket's room under one lock, one
//! wake); the socket task takes everything waiting in one go and writes it
//! with one flush.
//!
//! A general-purpose channel costs a semaphore permit, a slot and a wake per
//! item, and allocates its first block of slots for every socket up front;
//! at a hundred sockets per message that was the largest cost of a delivery.
//! Here an item is a `VecDeque` push, and an idle socket allocates nothing.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::task::Poll;

use futures::task::AtomicWaker;

use axum::extract::ws::Utf8Bytes;

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
}

#[derive(Default)]
struct State {
    items: VecDeque<Outbound>,
    /// No more items will come: the hub dropped the socket (it lagged, its
    /// session ended, or it unregistered). What is queued is still taken.
    closed: bool,
}

/// A take of fewer items than this frees a spare buffer of more than four
/// times as many slots (see `State::move_into`).
const KEEP: usize = 64;

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
        }
    }

    /// Queues every item, or none of them when that would pass the
    /// capacity: the socket has fallen behind, and the queue closes (the
    /// caller drops it from the hub). False when nothing was queued.
    pub fn push_all(&self, items: impl ExactSizeIterator<Item = Outbound>) -> bool {
        let mut state = self.lock();
        if state.closed {
            return false;
        }
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
        self.lock().closed = true;
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
            if !state.items.is_empty() {
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
        Outbound::Frame(axum::extract::ws::Utf8Bytes::from_static("f"))
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
}
