//! `loadtest`: points real WebSocket clients at a running Glasschat server and
//! prints figures. Setup goes through the public HTTP API (sign-up, log-in,
//! create room), load through `/ws`, exactly as browsers do.
//!
//!   loadtest --url http://127.0.0.1:3000 [--url2 http://127.0.0.1:3001] [--server-pid PID] [--seconds 20] [--rate 5] fanout|ramp|idle|persist|all
//!
//! With `--url2` (a second node on the same Postgres), every other receiver
//! connects to the second node while senders stay on the first: `fanout`
//! then reports same-node and cross-node latency apart.
//!
//! Receivers read only the fields they need from each frame (type, room,
//! seq, and the send time carried in the body), never a full JSON parse. The
//! generator reports its own CPU time so it can be seen not to be the limit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;
type AnyError = Box<dyn std::error::Error + Send + Sync>;

const PASSWORD: &str = "loadtest-password";

struct Args {
    url: String,
    host: String,
    /// A second node: half the receivers go there.
    host2: Option<String>,
    server_pid: Option<u32>,
    seconds: u64,
    /// Per-room send rate of `fanout` (msgs/s).
    rate: f64,
    scenarios: Vec<String>,
    tag: String,
}

fn parse_args() -> Result<Args, String> {
    let mut url = "http://127.0.0.1:3000".to_string();
    let mut url2: Option<String> = None;
    let mut server_pid = None;
    let mut seconds = 20;
    let mut rate = 5.0;
    let mut scenarios = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => url = args.next().ok_or("--url needs a value")?,
            "--url2" => url2 = Some(args.next().ok_or("--url2 needs a value")?),
            "--server-pid" => {
                server_pid = Some(
                    args.next()
                        .ok_or("--server-pid needs a value")?
                        .parse()
                        .map_err(|_| "bad --server-pid")?,
                )
            }
            "--seconds" => {
                seconds = args
                    .next()
                    .ok_or("--seconds needs a value")?
                    .parse()
                    .map_err(|_| "bad --seconds")?
            }
            "--rate" => {
                rate = args
                    .next()
                    .ok_or("--rate needs a value")?
                    .parse()
                    .ok()
                    .filter(|r: &f64| *r > 0.0 && r.is_finite())
                    .ok_or("bad --rate: a positive number of msgs/s per room")?
            }
            "fanout" | "ramp" | "idle" | "persist" | "cipher" | "stall" => scenarios.push(arg),
            "all" => scenarios.extend(["persist", "fanout", "ramp", "idle"].map(String::from)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if scenarios.is_empty() {
        return Err("name a scenario: fanout, ramp, idle, persist, stall, cipher or all".into());
    }
    let host_of = |url: &str| -> Result<String, String> {
        let host = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        if host.contains('/') || url.starts_with("https://") {
            return Err("--url and --url2 must be plain http://host:port origins".into());
        }
        Ok(host)
    };
    let host = host_of(&url)?;
    let host2 = url2.as_deref().map(host_of).transpose()?;
    // Accounts are per run, so runs against one server never collide.
    let tag = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    );
    Ok(Args {
        url: url.trim_end_matches('/').to_string(),
        host,
        host2,
        server_pid,
        seconds,
        rate,
        scenarios,
        tag,
    })
}

/// The cost of encryption at rest per message, in this process (no
/// server): seal then open one body, as the writer and a reader do.
fn cipher_cost() -> Result<(), String> {
    use glasschat::server::crypto::{new_data_key, Keyring, MasterKey, WrappedKey};
    let master = MasterKey::generate();
    let (sealed, nonce) = master.wrap(1, &new_data_key()).map_err(|e| e.to_string())?;
    let keys = Keyring::default();
    keys.load(
        &master,
        &[WrappedKey {
            id: 1,
            sealed,
            nonce,
        }],
    )
    .map_err(|e| e.to_string())?;
    println!("cipher: XChaCha20-Poly1305 seal + open per message body");
    for size in [100usize, 1_000, 10_000] {
        let body = vec![b'x'; size];
        let mut times = Vec::with_capacity(50_000);
        for seq in 0..50_000i64 {
            let started = Instant::now();
            let sealed = keys.seal(7, seq, &body).map_err(|e| e.to_string())?;
            let plain = keys
                .open(
                    7,
                    seq,
                    Some(sealed.key_id),
                    Some(&sealed.nonce),
                    &sealed.body,
                )
                .map_err(|e| e.to_string())?;
            times.push(started.elapsed());
            if plain.len() != size {
                return Err("round trip changed the body".into());
            }
        }
        times.sort_unstable();
        let median = times[times.len() / 2];
        let p99 = times[times.len() * 99 / 100];
        println!(
            "  {size:>6} bytes: median {:.2} µs, p99 {:.2} µs (50,000 runs)",
            median.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        );
    }
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(why) => {
            if !why.is_empty() {
                eprintln!("loadtest: {why}");
            }
            eprintln!("usage: loadtest --url http://127.0.0.1:3000 [--server-pid PID] [--seconds 20] [--rate 5] fanout|ramp|idle|persist|stall|cipher|all");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("loadtest: cannot start the async runtime: {err}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async {
        for scenario in &args.scenarios {
            let cpu_before = own_cpu_seconds();
            let wall = Instant::now();
            let result = match scenario.as_str() {
                "fanout" => fanout(&args).await,
                "ramp" => ramp(&args).await,
                "idle" => idle(&args).await,
                "stall" => stall(&args).await,
                "cipher" => cipher_cost().map_err(Into::into),
                _ => persist(&args).await,
            };
            let cpu = own_cpu_seconds() - cpu_before;
            let secs = wall.elapsed().as_secs_f64();
            println!(
                "  generator CPU: {cpu:.1} s over {secs:.1} s wall ({:.0}% of one core)",
                100.0 * cpu / secs
            );
            if let Err(err) = result {
                eprintln!("loadtest: {scenario} failed: {err}");
                return 1;
            }
        }
        0
    });
    std::process::exit(code);
}

// ------------------------------------------------------------------ setup

/// A minimal HTTP/1.1 form POST (the generator needs nothing more).
async fn post(
    args: &Args,
    path: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> Result<(u16, Option<String>, String), AnyError> {
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let cookie = cookie
        .map(|c| format!("Cookie: glasschat_session={c}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n{cookie}\r\n{body}",
        args.host,
        body.len()
    );
    let mut stream = TcpStream::connect(&args.host).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    let session = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| v.trim().strip_prefix("glasschat_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .find(|v| !v.is_empty());
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, session, body))
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Signs up (or, if taken, logs in) `email`; returns the session cookie.
async fn account(args: &Args, email: &str) -> Result<String, AnyError> {
    let (status, session, body) = post(
        args,
        "/api/signup",
        &[
            ("email", email),
            ("display_name", "load"),
            ("password", PASSWORD),
        ],
        None,
    )
    .await?;
    if status == 200 {
        return session.ok_or_else(|| "sign-up gave no cookie".into());
    }
    let (status, session, _) = post(
        args,
        "/api/login",
        &[("email", email), ("password", PASSWORD)],
        None,
    )
    .await?;
    match (status, session) {
        (200, Some(s)) => Ok(s),
        _ => Err(format!("cannot sign up or log in {email}: {body}").into()),
    }
}

async fn accounts(args: &Args, prefix: &str, n: usize) -> Result<Vec<(String, String)>, AnyError> {
    let mut out = Vec::with_capacity(n);
    // Sign-ups are argon2-bound on the server: a few at a time is enough.
    for chunk in (0..n).collect::<Vec<_>>().chunks(8) {
        let futs = chunk.iter().map(|i| {
            let email = format!("{prefix}-{i}-{}@load.test", args.tag);
            async move { account(args, &email).await.map(|c| (email, c)) }
        });
        for r in futures::future::join_all(futs).await {
            out.push(r?);
        }
    }
    Ok(out)
}

async fn create_room(
    args: &Args,
    owner: &str,
    name: &str,
    members: &[String],
) -> Result<i64, AnyError> {
    let members = members.join(",");
    let (status, _, body) = post(
        args,
        "/api/rooms/create",
        &[("name", name), ("members", &members)],
        Some(owner),
    )
    .await?;
    if status != 200 {
        return Err(format!("create room: {status} {body}").into());
    }
    Ok(body.trim().parse()?)
}

/// A socket as a browser opens it (session cookie, our Origin, no Nagle).
async fn open_socket(args: &Args, cookie: &str) -> Result<Ws, AnyError> {
    open_socket_on(args, &args.host, cookie).await
}

/// A socket to the node at `host`, with the public origin both nodes share.
async fn open_socket_on(args: &Args, host: &str, cookie: &str) -> Result<Ws, AnyError> {
    let mut request = format!("ws://{host}/ws").into_client_request()?;
    request
        .headers_mut()
        .insert("cookie", format!("glasschat_session={cookie}").parse()?);
    request.headers_mut().insert("origin", args.url.parse()?);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(request, None, true).await?;
    Ok(ws)
}

async fn connect(args: &Args, cookie: &str) -> Result<Ws, AnyError> {
    connect_on(args, &args.host, cookie).await
}

async fn connect_on(args: &Args, host: &str, cookie: &str) -> Result<Ws, AnyError> {
    let mut ws = open_socket_on(args, host, cookie).await?;
    // Welcome, then an empty hello: start live from now.
    ws.next().await.ok_or("closed before welcome")??;
    ws.send(Message::Text(r#"{"type":"hello","rooms":[]}"#.into()))
        .await?;
    Ok(ws)
}

// ------------------------------------------------------------ measuring

/// Microseconds since the generator started: the send time in each body.
fn micros(start: Instant) -> u64 {
    start.elapsed().as_micros() as u64
}

/// The digits after `key` in `text`, without parsing the rest.
fn number_after(text: &str, key: &str) -> Option<u64> {
    let at = text.find(key)? + key.len();
    let digits: &str = &text[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    delivered: u64,
    duplicates: u64,
    gaps: u64,
}

/// A receiving socket without a WebSocket library, so that reading a
/// million frames a second stays cheap: the upgrade request by hand, then
/// server frames (never masked, never fragmented by Glasschat) parsed in
/// place from large reads. Returns the stream and any bytes read past the
/// handshake. The empty `hello` is sent at once: start live from now.
async fn connect_raw(
    args: &Args,
    host: &str,
    cookie: &str,
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
    stream
        .write_all(&masked_text(br#"{"type":"hello","rooms":[]}"#))
        .await?;
    Ok((stream, head.split_off(end)))
}

/// A client text frame (clients must mask; the key's value does not matter).
fn masked_text(payload: &[u8]) -> Vec<u8> {
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
fn next_frame(data: &[u8]) -> Option<(u8, std::ops::Range<usize>, usize)> {
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
async fn receive(
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
            if !text.starts_with(r#"{"type":"message""#) {
                continue;
            }
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
            if let Some(sent) = number_after(text, r#""body":"t="#) {
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

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn own_cpu_seconds() -> f64 {
    // utime + stime from /proc/self/stat, in clock ticks (100 Hz on Linux).
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1;
            let f: Vec<&str> = after.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(0.0)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ------------------------------------------------------------ scenarios

struct Rooms {
    /// Per room: id, the sender's socket, the members' cookies.
    rooms: Vec<(i64, String, Vec<String>)>,
}

async fn setup_rooms(
    args: &Args,
    name: &str,
    rooms: usize,
    members: usize,
) -> Result<Rooms, AnyError> {
    println!(
        "  setting up {rooms} rooms x {members} members ({} accounts)...",
        rooms * members
    );
    let mut out = Vec::new();
    for r in 0..rooms {
        let people = accounts(args, &format!("{name}{r}"), members).await?;
        let emails: Vec<String> = people[1..].iter().map(|(e, _)| e.clone()).collect();
        let room = create_room(args, &people[0].1, &format!("{name} {r}"), &emails).await?;
        out.push((
            room,
            people[0].1.clone(),
            people.into_iter().map(|(_, c)| c).collect(),
        ));
    }
    Ok(Rooms { rooms: out })
}

/// Latency p50 and p99 (ms) of the receivers on the sending node and of
/// those on the second node, when there is one.
type Split = Option<((f64, f64), (f64, f64))>;

/// Runs one fan-out step: every room's sender sends `rate` msgs/s for
/// `seconds`; every member socket receives. Returns (deliveries/s, p50, p99, max ms, lost, dup, sent)
/// and, with a second node, the same-node / cross-node latencies.
async fn fanout_step(
    args: &Args,
    rooms: &Rooms,
    rate: f64,
    seconds: f64,
) -> Result<((f64, f64, f64, f64, u64, u64, u64), Split), AnyError> {
    let start = Instant::now();
    let stop = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let cross = Arc::new(Mutex::new(Tally::default()));
    let mut receivers = Vec::new();
    for (_, _, members) in &rooms.rooms {
        for (i, cookie) in members.iter().enumerate() {
            let (host, into) = match &args.host2 {
                Some(second) if i % 2 == 1 => (second, cross.clone()),
                _ => (&args.host, tally.clone()),
            };
            let (stream, early) = connect_raw(args, host, cookie).await?;
            receivers.push(tokio::spawn(receive(
                stream,
                early,
                start,
                stop.clone(),
                into,
            )));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = Arc::new(AtomicU64::new(0));
    let slowed = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    let mut sockets = Vec::new();
    for (room, cookie, _) in &rooms.rooms {
        sockets.push((*room, connect(args, cookie).await?));
    }
    let interval = Duration::from_secs_f64(1.0 / rate);
    let (cpu_at_start, wall_at_start) = (own_cpu_seconds(), Instant::now());
    let senders_start = tokio::time::Instant::now() + Duration::from_millis(50);
    let count = sockets.len().max(1) as u32;
    for (i, (room, ws)) in sockets.into_iter().enumerate() {
        let (sent, slowed) = (sent.clone(), slowed.clone());
        // Independent senders are not in lockstep: their phases are spread
        // evenly over one interval (room i starts i/count of it later).
        let first = senders_start + interval * i as u32 / count;
        let until = first.into_std() + Duration::from_secs_f64(seconds);
        senders.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(first, interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let (mut write, mut read) = ws.split();
            let reader = tokio::spawn(async move {
                while let Some(Ok(Message::Text(t))) = read.next().await {
                    if t.as_str().contains(r#""code":"slow_down""#) {
                        slowed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
            let mut n = 0u64;
            while Instant::now() < until {
                tick.tick().await;
                let frame = format!(r#"{{"type":"send","room":{room},"client_id":"lt-{room}-{n}-{}","body":"t={}"}}"#, micros(start), micros(start));
                if write.send(Message::Text(frame.into())).await.is_err() {
                    break;
                }
                n += 1;
            }
            sent.fetch_add(n, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(500)).await;
            reader.abort();
            ws_close(write).await;
        }));
    }
    for s in senders {
        let _ = s.await;
    }
    let busy = (own_cpu_seconds() - cpu_at_start) / wall_at_start.elapsed().as_secs_f64();
    println!(
        "    (generator CPU while sending: {:.0}% of one core)",
        100.0 * busy
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(1, Ordering::Relaxed);
    for r in receivers {
        let _ = r.await;
    }
    let elapsed = seconds;
    let mut t = std::mem::take(&mut *tally.lock().unwrap_or_else(|p| p.into_inner()));
    let mut c = std::mem::take(&mut *cross.lock().unwrap_or_else(|p| p.into_inner()));
    t.latencies_us.sort_unstable();
    c.latencies_us.sort_unstable();
    let split = args.host2.as_ref().map(|_| {
        (
            (
                percentile(&t.latencies_us, 0.5),
                percentile(&t.latencies_us, 0.99),
            ),
            (
                percentile(&c.latencies_us, 0.5),
                percentile(&c.latencies_us, 0.99),
            ),
        )
    });
    t.delivered += c.delivered;
    t.duplicates += c.duplicates;
    t.gaps += c.gaps;
    t.latencies_us.extend_from_slice(&c.latencies_us);
    t.latencies_us.sort_unstable();
    let sent = sent.load(Ordering::Relaxed);
    let members: u64 = rooms
        .rooms
        .iter()
        .map(|(_, _, m)| m.len() as u64)
        .sum::<u64>()
        / rooms.rooms.len().max(1) as u64;
    let slowed = slowed.load(Ordering::Relaxed);
    if slowed > 0 {
        println!("  note: {slowed} sends were refused with slow_down; start the server with a higher GLASSCHAT_SEND_RATE");
    }
    let expected = (sent - slowed) * members;
    let lost = expected.saturating_sub(t.delivered) + t.gaps.min(expected);
    Ok((
        (
            t.delivered as f64 / elapsed,
            percentile(&t.latencies_us, 0.5),
            percentile(&t.latencies_us, 0.99),
            t.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0,
            lost.min(expected),
            t.duplicates,
            sent,
        ),
        split,
    ))
}

async fn ws_close(mut write: futures::stream::SplitSink<Ws, Message>) {
    let _ = write.send(Message::Close(None)).await;
}

async fn fanout(args: &Args) -> Result<(), AnyError> {
    println!(
        "fanout: 10 rooms x 100 members, one sender per room at {} msgs/s for {} s",
        args.rate, args.seconds
    );
    let rooms = setup_rooms(args, "fan", 10, 100).await?;
    let ((rate, p50, p99, max, lost, dup, sent), split) =
        fanout_step(args, &rooms, args.rate, args.seconds as f64).await?;
    println!("  sent {sent}; deliveries/s {rate:.0}; latency p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms; lost {lost}; duplicated {dup}");
    if let Some(((same50, same99), (cross50, cross99))) = split {
        println!("  same node p50 {same50:.2} ms, p99 {same99:.2} ms; other node p50 {cross50:.2} ms, p99 {cross99:.2} ms");
    }
    Ok(())
}

async fn ramp(args: &Args) -> Result<(), AnyError> {
    println!("ramp: 10 rooms x 100 members; per-room rate doubles each 5 s step until p99 > 100 ms or any loss, then 3 bisection steps between the last passing and the first failing rate");
    let rooms = setup_rooms(args, "ramp", 10, 100).await?;
    let mut best = 0.0;
    let mut best_rate = 0.0;
    let mut rate = 5.0;
    // Some(rate) once a step has failed.
    let mut failed: Option<f64> = None;
    let mut bisections = 0;
    loop {
        let ((dps, p50, p99, _, lost, dup, sent), _) = fanout_step(args, &rooms, rate, 5.0).await?;
        let passed = p99 <= 100.0 && lost == 0 && dup == 0;
        println!(
            "  {rate:>6.0} msgs/s/room: sent {sent}, deliveries/s {dps:.0}, p50 {p50:.2} ms, p99 {p99:.2} ms, lost {lost}, dup {dup}{}",
            if passed { "" } else { "  (fails)" }
        );
        if passed && dps > best {
            best = dps;
            best_rate = rate;
        }
        if !passed {
            failed = Some(failed.map_or(rate, |f: f64| f.min(rate)));
        }
        match failed {
            None if rate * 2.0 <= 20_000.0 => rate *= 2.0,
            None => break,
            Some(_) if bisections == 3 => break,
            Some(bad) => {
                bisections += 1;
                let low = if best_rate > 0.0 {
                    best_rate
                } else {
                    bad / 2.0
                };
                rate = ((low + bad) / 2.0).round();
            }
        }
    }
    println!("  highest sustained: {best:.0} deliveries/s ({best_rate:.0} msgs/s per room)");
    Ok(())
}

async fn idle(args: &Args) -> Result<(), AnyError> {
    const SOCKETS: usize = 5000;
    println!("idle: {SOCKETS} open sockets, server RSS growth per socket");
    let Some(pid) = args.server_pid else {
        return Err("idle needs --server-pid to read the server's RSS".into());
    };
    let cookie = account(args, &format!("idle-{}@load.test", args.tag)).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid).ok_or("cannot read the server's RSS")?;
    let mut sockets = Vec::with_capacity(SOCKETS);
    for _ in 0..SOCKETS {
        sockets.push(connect(args, &cookie).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid).ok_or("cannot read the server's RSS")?;
    println!(
        "  server RSS {before} KiB -> {after} KiB: {:.1} KiB per socket",
        (after.saturating_sub(before)) as f64 / SOCKETS as f64
    );
    drop(sockets);
    Ok(())
}

/// A reader that stops reading while its room is flooded with 9 KB
/// messages: the server's RSS must stay bounded (its queue holds at most
/// GLASSCHAT_SOCKET_QUEUE shared frames, then it is dropped), and the
/// stalled socket must end up closed.
async fn stall(args: &Args) -> Result<(), AnyError> {
    const MESSAGES: usize = 3_000;
    println!("stall: one reader stops reading while {MESSAGES} messages of 9 KB flood its room");
    let Some(pid) = args.server_pid else {
        return Err("stall needs --server-pid to read the server's RSS".into());
    };
    let sender = account(args, &format!("stall-a-{}@load.test", args.tag)).await?;
    let reader = account(args, &format!("stall-b-{}@load.test", args.tag)).await?;
    let room = create_room(
        args,
        &sender,
        "stall",
        &[format!("stall-b-{}@load.test", args.tag)],
    )
    .await?;
    let stalled = connect(args, &reader).await?;
    let mut ws = connect(args, &sender).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib(pid).ok_or("cannot read the server's RSS")?;
    let mut peak = before;
    let body = "f".repeat(9_000);
    for n in 0..MESSAGES {
        let frame =
            format!(r#"{{"type":"send","room":{room},"client_id":"st-{n}","body":"{body}"}}"#);
        ws.send(Message::Text(frame.into())).await?;
        // One in flight: wait for this send's ack.
        while let Some(Ok(Message::Text(t))) = ws.next().await {
            if t.as_str().starts_with(r#"{"type":"ack""#) {
                break;
            }
        }
        if n % 100 == 0 {
            peak = peak.max(rss_kib(pid).unwrap_or(0));
        }
    }
    peak = peak.max(rss_kib(pid).unwrap_or(0));
    // The reader resumes: it reads what was buffered, then finds the close.
    let mut received = 0u64;
    let mut stalled = stalled;
    let mut code = None;
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_secs(10), stalled.next()).await {
        match item {
            Ok(Message::Text(t)) if t.as_str().starts_with(r#"{"type":"message""#) => received += 1,
            Ok(Message::Close(frame)) => {
                code = frame.map(|f| u16::from(f.code));
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    println!(
        "  server RSS {before} KiB before, peak {peak} KiB during the flood (+{:.1} MiB for {:.1} MiB sent); the stalled reader got {received} of {MESSAGES} messages, then close code {}",
        (peak.saturating_sub(before)) as f64 / 1024.0,
        (MESSAGES * 9_000) as f64 / 1_048_576.0,
        code.map_or("none".to_string(), |c| c.to_string()),
    );
    Ok(())
}

async fn persist(args: &Args) -> Result<(), AnyError> {
    const SENDERS: usize = 50;
    println!(
        "persist: {SENDERS} senders, each alone in a room, one message in flight each, for {} s",
        args.seconds
    );
    let people = accounts(args, "persist", SENDERS).await?;
    let mut rooms = Vec::new();
    for (i, (_, cookie)) in people.iter().enumerate() {
        rooms.push(create_room(args, cookie, &format!("persist {i}"), &[]).await?);
    }
    let acked = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let until = start + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for ((_, cookie), room) in people.iter().zip(&rooms) {
        let mut ws = connect(args, cookie).await?;
        let (acked, room) = (acked.clone(), *room);
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < until {
                let frame = format!(r#"{{"type":"send","room":{room},"client_id":"p-{room}-{n}","body":"persist {n}"}}"#);
                if ws.send(Message::Text(frame.into())).await.is_err() {
                    return;
                }
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"ack""#) => break,
                        Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"error""#) => return,
                        Some(Ok(_)) => continue,
                        _ => return,
                    }
                }
                n += 1;
                acked.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let secs = start.elapsed().as_secs_f64();
    let acks = acked.load(Ordering::Relaxed);
    // Every ack must be a row: each room's last seq counts its rows.
    let mut stored = 0i64;
    for (_, cookie) in &people {
        let mut ws = open_socket(args, cookie).await?;
        if let Some(Ok(Message::Text(welcome))) = ws.next().await {
            stored += number_after(welcome.as_str(), r#""last_seq":"#).unwrap_or(0) as i64;
        }
    }
    println!(
        "  acknowledged {acks} messages in {secs:.1} s: {:.0} msgs/s; rows stored {stored} ({})",
        acks as f64 / secs,
        if stored as u64 == acks {
            "equal to acks"
        } else {
            "MISMATCH"
        }
    );
    Ok(())
}
