//! The bytes under a WebSocket: its `TcpStream`, shared with the fan-out's
//! direct lane (`realtime::queue`). Reads are plain. Every write first
//! closes the lane and sends whatever the lane left half written, so the
//! socket task's frames and the fan-out's never interleave.

use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use axum::body::Bytes;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::realtime::queue::SocketQueue;

pub enum SocketIo {
    /// A plain TCP connection, which the lane can write to.
    Tcp(SharedTcp),
    /// Anything else hyper upgraded (no lane).
    Other(TokioIo<Upgraded>),
}

pub struct SharedTcp {
    stream: Arc<TcpStream>,
    /// Set once the socket is in the hub.
    queue: Option<Arc<SocketQueue>>,
    /// The rest of a frame the lane wrote in part, still to send.
    unsent: Option<Bytes>,
}

impl SocketIo {
    /// The upgraded connection, its `TcpStream` recovered where it is one;
    /// with the bytes already read past the handshake.
    pub fn from_upgraded(upgraded: Upgraded) -> (SocketIo, Vec<u8>) {
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => (
                SocketIo::Tcp(SharedTcp {
                    stream: Arc::new(parts.io.into_inner()),
                    queue: None,
                    unsent: None,
                }),
                parts.read_buf.to_vec(),
            ),
            Err(other) => (SocketIo::Other(TokioIo::new(other)), Vec::new()),
        }
    }

    /// Links the socket to its queue: the lane may write to it from now.
    pub fn join_lane(&mut self, socket_queue: &Arc<SocketQueue>) {
        if let SocketIo::Tcp(tcp) = self {
            socket_queue.attach(tcp.stream.clone());
            tcp.queue = Some(socket_queue.clone());
        }
    }
}

impl SharedTcp {
    /// Closes the lane and sends what it left half written: called before
    /// every write and flush of the task's own.
    fn poll_unsent(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(rest) = self.queue.as_ref().and_then(|q| q.claim_writes()) {
            self.unsent = Some(rest);
        }
        while let Some(rest) = self.unsent.as_mut() {
            let n = ready!(write_some(&self.stream, rest, cx))?;
            let _ = rest.split_to(n);
            if rest.is_empty() {
                self.unsent = None;
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// One non-blocking write, waiting for room when there is none.
fn write_some(stream: &TcpStream, bytes: &[u8], cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
    loop {
        ready!(stream.poll_write_ready(cx))?;
        match stream.try_write(bytes) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            done => return Poll::Ready(done),
        }
    }
}

impl AsyncRead for SocketIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            SocketIo::Tcp(tcp) => loop {
                ready!(tcp.stream.poll_read_ready(cx))?;
                match tcp.stream.try_read(buf.initialize_unfilled()) {
                    Ok(n) => {
                        buf.advance(n);
                        return Poll::Ready(Ok(()));
                    }
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(err) => return Poll::Ready(Err(err)),
                }
            },
            SocketIo::Other(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for SocketIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            SocketIo::Tcp(tcp) => {
                ready!(tcp.poll_unsent(cx))?;
                write_some(&tcp.stream, buf, cx)
            }
            SocketIo::Other(io) => Pin::new(io).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            // TCP buffers nothing of its own to flush.
            SocketIo::Tcp(tcp) => tcp.poll_unsent(cx),
            SocketIo::Other(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            SocketIo::Tcp(tcp) => {
                ready!(tcp.poll_unsent(cx))?;
                // SAFETY: shutdown(2) on a descriptor this stream owns.
                let done = unsafe { libc::shutdown(tcp.stream.as_raw_fd(), libc::SHUT_WR) };
                Poll::Ready(if done == 0 {
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                })
            }
            SocketIo::Other(io) => Pin::new(io).poll_shutdown(cx),
        }
    }
}
