//! Measuring: the raw-frame receiver (no WebSocket library, no JSON parse),
//! latency tallies and percentiles, and the CPU and memory of a process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{AnyError, Args};

/// Microseconds since the generator started: the send time in each body.
pub fn micros(start: Instant) -> u64 {
    start.elapsed().as_micros() as u64
}

/// The digits after `key` in `text`, without parsing the rest.
pub fn number_after(text: &str, key: &str) -> Option<u64> {
    let at = text.find(key)? + key.len();
    let digits: &str = &text[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

#[derive(Default)]
pub struct Tally {
    pub latencies_us: Vec<u64>,
    pub delivered: u64,
    pub duplicates: u64,
    pub gaps: u64,
}

/// A receiving socket without a WebSocket library, so that reading a
/// million frames a second stays cheap: the upgrade request by hand, then
/// server frames (never masked, never fragmented by Glasschat) parsed in
/// place from large reads. Returns the stream and any bytes read past the
/// handshake. The empty `hello` is sent at once: start live from now.
pub async fn connect_raw(
    args: &Args,
    host: &str,
    cookie: &str,
) -> Result<(TcpStream, Vec<u8>), AnyError> {
    connect_raw_hello(args, host, cookie, r#"{"type":"hello","rooms":[]}"#).await
}

/// `connect_raw` with the `hello` given (a reconnecting socket names the
/// rooms it holds and their last seqs, and is caught up).
pub async fn connect_raw_hello(
    args: &Args,
    host: &str,
    cookie: &str,
    hello: &str,
) -> Result<(TcpStream, Vec<u8>), AnyError> {
    let mut stream = TcpStream::connect(host).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: bG9hZHRlc3QtcmVjZWl2ZXI=\r\nOrigin: {}\r\nCookie: glasschat_session={cookie}\r\n\r\n",
        args.url
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("closed during the WebSocket handshake".into());
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    if !head.starts_with(b"HTTP/1.1 101") {
        let status = String::from_utf8_lossy(&head[..end.min(60)]).into_owned();
        return Err(format!("upgrade refused: {status}").into());
    }
    stream.write_all(&masked_text(hello.as_bytes())).await?;
    Ok((stream, head.split_off(end)))
}

/// A client text frame (clients must mask; the key's value does not matter).
pub fn masked_text(payload: &[u8]) -> Vec<u8> {
    const KEY: [u8; 4] = [0x5a, 0x17, 0xc3, 0x8e];
    let mut frame = vec![0x81];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&KEY);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    frame
}

/// One complete server frame at the start of `data`: (opcode, payload
/// range, frame length), or `None` until more bytes arrive.
pub fn next_frame(data: &[u8]) -> Option<(u8, std::ops::Range<usize>, usize)> {
    let (&first, &second) = (data.first()?, data.get(1)?);
    let (header, len) = match second & 0x7f {
        126 => (
            4,
            u16::from_be_bytes([*data.get(2)?, *data.get(3)?]) as usize,
        ),
        127 => {
            let bytes: [u8; 8] = data.get(2..10)?.try_into().ok()?;
            (10, u64::from_be_bytes(bytes) as usize)
        }
        n => (2, n as usize),
    };
    (data.len() >= header + len).then_some((first & 0x0f, header..header + len, header + len))
}

/// Reads a socket until `stop`, recording each message's latency and
/// checking per-room order. Returns what it saw.
pub async fn receive(
    mut stream: TcpStream,
    early: Vec<u8>,
    start: Instant,
    stop: Arc<AtomicU64>,
    tally: Arc<Mutex<Tally>>,
) {
    let mut last_seq: HashMap<u64, u64> = HashMap::new();
    let mut local = Tally::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut filled = early.len().min(buf.len());
    buf[..filled].copy_from_slice(&early[..filled]);
    'reading: loop {
        let mut at = 0;
        while let Some((opcode, payload, len)) = next_frame(&buf[at..filled]) {
            let payload = &buf[at + payload.start..at + payload.end];
            at += len;
            match opcode {
                0x8 => break 'reading, // close
                0x1 => {}
                _ => continue,
            }
            let Ok(text) = std::str::from_utf8(payload) else {
                continue;
            };
            // Messages and changes share a room's seqs; only messages and
            // edits carry their send time (`t=` in the body).
            let timed = if text.starts_with(r#"{"type":"message""#) {
                true
            } else if text.starts_with(r#"{"type":"changed""#) {
                text.contains(r#""change":"edited""#)
            } else {
                continue;
            };
            let (Some(room), Some(seq)) = (
                number_after(text, r#""room":"#),
                number_after(text, r#""seq":"#),
            ) else {
                continue;
            };
            let last = last_seq.entry(room).or_insert(seq - 1);
            if seq <= *last {
                local.duplicates += 1;
                continue;
            }
            local.gaps += seq - *last - 1;
            *last = seq;
            local.delivered += 1;
            if let Some(sent) = number_after(text, r#""body":"t="#).filter(|_| timed) {
                local.latencies_us.push(micros(start).saturating_sub(sent));
            }
        }
        buf.copy_within(at..filled, 0);
        filled -= at;
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0); // a frame larger than the buffer
        }
        if stop.load(Ordering::Relaxed) == 1 {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf[filled..]))
            .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => filled += n,
            Err(_) => continue, // look at `stop` again
        }
    }
    let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
    t.latencies_us.extend(local.latencies_us);
    t.delivered += local.delivered;
    t.duplicates += local.duplicates;
    t.gaps += local.gaps;
}

pub fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

pub fn own_cpu_seconds() -> f64 {
    cpu_seconds_of("/proc/self/stat")
}

/// The CPU time of the process whose `stat` file is at `path`.
pub fn cpu_seconds_of(path: &str) -> f64 {
    // utime + stime, in clock ticks (100 Hz on Linux).
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1;
            let f: Vec<&str> = after.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(0.0)
}

pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
