//! `search`: 1,000,000 messages of realistic text (English with a long
//! tail of rare words, some German, French and Spanish with accents, some
//! Japanese and Chinese, links) in 1,000 rooms; one user is in 50 of them.
//! Prints the rate the messages were stored at (indexing on), query
//! latency for a rare word, a common word, two words, a prefix and a
//! Japanese substring, the same questions to SQLite FTS5 over the same
//! plaintext (in this process, on this core), the index's bytes per
//! message, and how long a full reindex takes while the server serves.
//!
//! `--db PATH` (the server's SQLite file) adds the index size and the
//! reindex; without it those are skipped.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{accounts, connect, create_room, dechunk, urlencode};
use crate::measure::{number_after, percentile};
use crate::{AnyError, Args};

const ROOMS: usize = 1_000;
const PER_ROOM: usize = 1_000;
/// Room owners, each filling its rooms over one socket.
const OWNERS: usize = 20;
/// The searcher is in every `EVERY`th room (50 of 1,000).
const EVERY: usize = 20;
const WINDOW: usize = 1_000;
const SAMPLES: usize = 200;

/// The questions: (what, the query as typed, the FTS5 MATCH for it).
const QUERIES: [(&str, &str, &str); 5] = [
    ("rare word", "zygomorphic ", "zygomorphic"),
    ("common word", "the ", "the"),
    ("two words", "deploy failed ", "deploy failed"),
    ("prefix", "depl", "depl*"),
    ("Japanese substring", "京タワ", "京タワ"),
];

const COMMON: &[&str] = &[
    "the",
    "to",
    "and",
    "a",
    "of",
    "is",
    "in",
    "it",
    "you",
    "that",
    "for",
    "on",
    "we",
    "this",
    "with",
    "be",
    "can",
    "have",
    "not",
    "are",
    "at",
    "will",
    "just",
    "so",
    "but",
    "if",
    "do",
    "was",
    "from",
    "my",
    "all",
    "by",
    "or",
    "about",
    "what",
    "there",
    "up",
    "out",
    "when",
    "one",
    "now",
    "get",
    "like",
    "me",
    "they",
    "should",
    "think",
    "know",
    "need",
    "see",
    "time",
    "then",
    "today",
    "tomorrow",
    "meeting",
    "deploy",
    "deployment",
    "deployed",
    "failed",
    "build",
    "release",
    "review",
    "please",
    "thanks",
    "customer",
    "issue",
    "fix",
    "fixed",
    "test",
    "tests",
    "server",
    "database",
    "update",
    "branch",
    "merge",
    "ticket",
    "invoice",
    "design",
    "call",
    "team",
    "week",
    "morning",
    "lunch",
    "question",
    "answer",
    "docs",
    "error",
    "logs",
    "check",
    "ready",
    "staging",
    "production",
    "rollback",
    "latency",
    "users",
    "login",
];
const EUROPEAN: &[&str] = &[
    "Straße",
    "über",
    "Grüße",
    "Besprechung",
    "morgen",
    "déploiement",
    "réunion",
    "café",
    "équipe",
    "problème",
    "mañana",
    "número",
    "reunión",
    "señal",
    "código",
    "también",
    "naïve",
    "façade",
    "Übersicht",
    "Lösung",
];
const CJK: &[&str] = &[
    "東京",
    "タワー",
    "会議",
    "資料",
    "確認",
    "予定",
    "開発",
    "今日",
    "明日",
    "打ち合わせ",
    "お願いします",
    "服务器",
    "部署",
    "失败",
    "数据库",
    "发布",
    "测试",
    "问题",
    "客户",
    "大阪",
    "新しい",
    "機能",
    "について",
    "です",
];

/// xorshift: deterministic text, run to run.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// A long tail of made-up words (Zipf-like: a word's chance falls with its
/// rank), for the vocabulary a real team grows.
fn rare_word(rng: &mut u64) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "ro", "mi", "tel", "par", "zon", "qui", "ven", "lo", "dra", "bes", "nu", "fyr",
        "sta", "gle", "ox",
    ];
    let u = (next(rng) % 1_000_000) as f64 / 1_000_000.0;
    let rank = 30_000f64.powf(u) as u64;
    let mut word = String::new();
    let mut r = rank.wrapping_mul(2_654_435_761) ^ 0x5bd1e995;
    for _ in 0..(2 + rank % 3) {
        word.push_str(SYLLABLES[(r % 16) as usize]);
        r /= 16;
    }
    word
}

/// Message `n` of room index `room`.
fn text(rng: &mut u64, room: usize, n: usize) -> String {
    let kind = next(rng) % 100;
    let mut words: Vec<String> = Vec::new();
    if kind < 8 {
        let count = 3 + next(rng) % 6;
        let mut line = String::new();
        for _ in 0..count {
            line.push_str(CJK[(next(rng) % CJK.len() as u64) as usize]);
        }
        line.push('。');
        return line;
    }
    let count = 5 + next(rng) % 16;
    for _ in 0..count {
        let pick = next(rng) % 100;
        words.push(if pick < 70 {
            COMMON[(next(rng) % COMMON.len() as u64) as usize].to_string()
        } else if kind < 15 && pick < 85 {
            EUROPEAN[(next(rng) % EUROPEAN.len() as u64) as usize].to_string()
        } else {
            rare_word(rng)
        });
    }
    if kind >= 96 {
        words.push(format!(
            "https://docs.example{}.com/guide/{}",
            next(rng) % 50,
            rare_word(rng)
        ));
    }
    // The rare word: once in a thousand of the searcher's messages... and
    // nowhere else.
    if room.is_multiple_of(EVERY) && n % 997 == 3 {
        words.push("zygomorphic".to_string());
    }
    words.join(" ")
}

/// One kept-alive HTTP/1.1 connection for the timed queries (a new
/// connection each would time the handshake too).
struct KeptAlive {
    stream: TcpStream,
    host: String,
}

impl KeptAlive {
    async fn open(host: &str) -> Result<KeptAlive, AnyError> {
        let stream = TcpStream::connect(host).await?;
        stream.set_nodelay(true)?;
        Ok(KeptAlive {
            stream,
            host: host.to_string(),
        })
    }

    async fn post(
        &mut self,
        path: &str,
        form: &str,
        cookie: &str,
    ) -> Result<(u16, String), AnyError> {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nCookie: glasschat_session={cookie}\r\n\r\n{form}",
            self.host,
            form.len()
        );
        self.exchange(&request).await
    }

    async fn get(&mut self, path: &str) -> Result<(u16, String), AnyError> {
        self.exchange(&format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n",
            self.host
        ))
        .await
    }

    /// Writes `request` and reads its answer: (status, body).
    async fn exchange(&mut self, request: &str) -> Result<(u16, String), AnyError> {
        self.stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = self.stream.read(&mut buf).await?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            raw.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&raw);
            let Some((head, body)) = text.split_once("\r\n\r\n") else {
                continue;
            };
            let lower = head.to_ascii_lowercase();
            let status: u16 = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or("no status")?;
            if let Some(length) = lower
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
            {
                if body.len() >= length {
                    return Ok((status, body[..length].to_string()));
                }
            } else if lower.contains("transfer-encoding: chunked") && body.ends_with("0\r\n\r\n") {
                return Ok((status, dechunk(body)));
            }
        }
    }
}

/// Fills `rooms` with `PER_ROOM` messages each over one socket.
async fn fill(
    args: &Args,
    cookie: &str,
    rooms: Vec<(usize, i64)>,
    owner: usize,
) -> Result<u64, AnyError> {
    let ws = connect(args, cookie).await?;
    let (mut write, mut read) = ws.split();
    let total = rooms.len() * PER_ROOM;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (owner as u64 + 1);
    let (mut sent, mut acked) = (0usize, 0usize);
    while acked < total {
        while sent < total && sent - acked < WINDOW {
            let (index, room) = rooms[sent % rooms.len()];
            let n = sent / rooms.len();
            let body = text(&mut rng, index, n);
            let frame = format!(
                r#"{{"type":"send","room":{room},"client_id":"s{owner}-{sent}","body":"{body}"}}"#
            );
            write.send(Message::Text(frame.into())).await?;
            sent += 1;
        }
        match read.next().await {
            Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"ack""#) => acked += 1,
            Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"error""#) => {
                return Err(format!("a send was refused (raise GLASSCHAT_SEND_RATE): {t}").into());
            }
            Some(Ok(_)) => {}
            _ => return Err("a filling socket closed".into()),
        }
    }
    Ok(total as u64)
}

/// Times `SAMPLES` runs of each query; prints p50 and p99 (ms) and hits.
async fn time_queries(
    http: &mut KeptAlive,
    cookie: &str,
    label: &str,
) -> Result<Vec<f64>, AnyError> {
    let mut medians = Vec::new();
    for (what, query, _) in QUERIES {
        let form = format!("query={}", urlencode(query));
        let mut micros = Vec::with_capacity(SAMPLES);
        let mut hits = 0;
        for _ in 0..SAMPLES {
            let start = Instant::now();
            let (status, body) = http.post("/api/search", &form, cookie).await?;
            micros.push(start.elapsed().as_micros() as u64);
            if status != 200 {
                return Err(format!("search {query:?}: {status} {body}").into());
            }
            hits = body.matches(r#""message_id":"#).count();
        }
        micros.sort_unstable();
        let p50 = percentile(&micros, 0.5);
        println!(
            "  {label}{what:<19} {query:>16?}: p50 {p50:.2} ms, p99 {:.2} ms ({hits} hits on the first page)",
            percentile(&micros, 0.99)
        );
        medians.push(p50);
    }
    Ok(medians)
}

pub async fn search(args: &Args, db: Option<&str>) -> Result<(), AnyError> {
    println!(
        "search: {} messages in {ROOMS} rooms ({PER_ROOM} each), a reader in {} of them",
        ROOMS * PER_ROOM,
        ROOMS / EVERY
    );
    let owners = accounts(args, "search-owner", OWNERS).await?;
    let reader = accounts(args, "search-reader", 1).await?.remove(0);
    let mut rooms: Vec<Vec<(usize, i64)>> = vec![Vec::new(); OWNERS];
    for index in 0..ROOMS {
        let owner = index % OWNERS;
        let members = if index.is_multiple_of(EVERY) {
            vec![reader.0.clone()]
        } else {
            Vec::new()
        };
        let room =
            create_room(args, &owners[owner].1, &format!("search {index}"), &members).await?;
        rooms[owner].push((index, room));
    }

    // The fill, indexing on: stored messages a second.
    let start = Instant::now();
    let fills = rooms
        .into_iter()
        .enumerate()
        .map(|(owner, list)| fill(args, &owners[owner].1, list, owner));
    let mut stored = 0u64;
    for filled in futures::future::join_all(fills).await {
        stored += filled?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "  stored {stored} messages in {secs:.1} s: {:.0} msgs/s (20 sockets, indexing on)",
        stored as f64 / secs
    );
    if let Some(db) = db {
        // SQLite indexes behind the writer: how far behind at the end.
        let conn =
            rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let queued = |conn: &rusqlite::Connection| -> Result<i64, rusqlite::Error> {
            conn.query_row(
                "SELECT (SELECT COUNT(*) FROM search_queue)
                      + (SELECT COUNT(*) FROM messages WHERE kind = 'text' AND id > (SELECT indexed_to FROM search_state))",
                [],
                |r| r.get(0),
            )
        };
        let at_end = queued(&conn)?;
        let drain = Instant::now();
        while queued(&conn)? > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        println!(
            "  the index was {at_end} messages behind when the last was stored, all indexed {:.0} ms later",
            drain.elapsed().as_secs_f64() * 1000.0
        );
    }

    let mut http = KeptAlive::open(&args.host).await?;
    let (status, _) = http.post("/api/search", "query=x", &reader.1).await?;
    if status == 404 {
        println!("  the server has no search: stopping after the fill");
        return Ok(());
    }
    let ours = time_queries(&mut http, &reader.1, "").await?;

    // The same questions to SQLite FTS5 over the same plaintext, in this
    // process (pinned apart from the server), the reader's rooms only.
    let fts = fts5_medians(&args.tag)?;
    for ((what, _, _), (mine, theirs)) in QUERIES.iter().zip(ours.iter().zip(&fts)) {
        println!(
            "  {what:<19} Glasschat p50 {mine:.2} ms vs FTS5 over plaintext {theirs:.3} ms: {:.2}x",
            mine / theirs.max(0.001)
        );
    }

    let Some(db) = db else {
        println!(
            "  (pass --db PATH of the server's SQLite file for the index size and the reindex)"
        );
        return Ok(());
    };
    index_size(db, stored)?;
    reindex(&mut http, &reader.1, db).await
}

/// Bytes of the index (its tables and indexes) per message, from SQLite's
/// page statistics.
fn index_size(db: &str, messages: u64) -> Result<(), AnyError> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut statement = conn.prepare(
        "SELECT name, SUM(pgsize) FROM dbstat WHERE name LIKE 'search_%' OR name LIKE 'sqlite_autoindex_search%' OR name = 'messages' GROUP BY name",
    )?;
    let rows: Vec<(String, i64)> = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let index: i64 = rows
        .iter()
        .filter(|(n, _)| n != "messages")
        .map(|r| r.1)
        .sum();
    let message_bytes: i64 = rows
        .iter()
        .filter(|(n, _)| n == "messages")
        .map(|r| r.1)
        .sum();
    let indexed: i64 = conn.query_row(
        "SELECT COUNT(*) FROM messages WHERE kind = 'text'",
        [],
        |r| r.get(0),
    )?;
    let words: i64 = conn.query_row("SELECT COUNT(*) FROM search_words", [], |r| r.get(0))?;
    println!(
        "  index: {:.0} bytes per message ({:.1} MB, FTS5 and the vocabulary; {indexed} messages indexed; {words} distinct words); the messages table: {:.0} bytes per message",
        index as f64 / messages as f64,
        index as f64 / 1e6,
        message_bytes as f64 / messages as f64,
    );
    Ok(())
}

/// Drops the index with `glasschat search reindex` (the binary beside
/// this one) and times the background pass to the end, querying meanwhile.
async fn reindex(http: &mut KeptAlive, cookie: &str, db: &str) -> Result<(), AnyError> {
    let bin = std::env::current_exe()?
        .parent()
        .ok_or("no folder")?
        .join("glasschat");
    let out = std::process::Command::new(bin)
        .args(["search", "reindex"])
        .env("DATABASE_URL", format!("sqlite://{db}"))
        .env("RUST_LOG", "warn")
        .output()?;
    if !out.status.success() {
        return Err(format!("reindex: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let start = Instant::now();
    let mut during = Vec::new();
    let form = format!("query={}", urlencode("deploy failed "));
    loop {
        let (_, health) = http.get("/health").await?;
        let remaining = number_after(&health, r#""remaining":"#).unwrap_or(0);
        if remaining == 0 {
            break;
        }
        let begin = Instant::now();
        let (status, body) = http.post("/api/search", &form, cookie).await?;
        if status != 200 {
            return Err(format!("search during the reindex: {status} {body}").into());
        }
        during.push(begin.elapsed().as_micros() as u64);
        if start.elapsed() > Duration::from_secs(900) {
            return Err("the reindex took over 15 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    during.sort_unstable();
    println!(
        "  reindex of every message: {:.1} s; meanwhile {} searches answered, p50 {:.2} ms, p99 {:.2} ms",
        start.elapsed().as_secs_f64(),
        during.len(),
        percentile(&during, 0.5),
        percentile(&during, 0.99)
    );
    Ok(())
}

/// FTS5 over the same million plaintext messages (regenerated from the same
/// seeds), the same questions limited to the reader's rooms; p50 in ms.
fn fts5_medians(tag: &str) -> Result<Vec<f64>, AnyError> {
    let path = std::env::temp_dir().join(format!("loadtest-fts5-{tag}.db"));
    let _ = std::fs::remove_file(&path);
    let mut conn = rusqlite::Connection::open(&path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;
         CREATE VIRTUAL TABLE fts USING fts5(body, room UNINDEXED, tokenize = 'unicode61 remove_diacritics 2', prefix = '3 4');",
    )?;
    let build = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare("INSERT INTO fts (body, room) VALUES (?1, ?2)")?;
        // The same texts in the same order as the fill: room owners'
        // generators, message by message.
        for owner in 0..OWNERS {
            let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (owner as u64 + 1);
            let indexes: Vec<usize> = (0..ROOMS).filter(|i| i % OWNERS == owner).collect();
            for sent in 0..indexes.len() * PER_ROOM {
                let index = indexes[sent % indexes.len()];
                let body = text(&mut rng, index, sent / indexes.len());
                insert.execute(rusqlite::params![body, index as i64])?;
            }
        }
    }
    tx.commit()?;
    println!(
        "  FTS5 built over the same plaintext in {:.1} s",
        build.elapsed().as_secs_f64()
    );
    // Rooms by index, as the fill numbered them (the reader's: every EVERYth).
    let rooms: Vec<String> = (0..ROOMS)
        .filter(|i| i % EVERY == 0)
        .map(|i| i.to_string())
        .collect();
    let sql = format!(
        "SELECT rowid FROM fts WHERE fts MATCH ?1 AND room IN ({}) ORDER BY rowid DESC LIMIT 20",
        rooms.join(",")
    );
    let mut medians = Vec::new();
    for (what, _, matching) in QUERIES {
        let mut statement = conn.prepare(&sql)?;
        let mut micros = Vec::with_capacity(SAMPLES);
        let mut hits = 0;
        for _ in 0..SAMPLES {
            let start = Instant::now();
            hits = statement
                .query_map([matching], |r| r.get::<_, i64>(0))?
                .count();
            micros.push(start.elapsed().as_micros() as u64);
        }
        micros.sort_unstable();
        println!(
            "  FTS5 {what:<19} {matching:>16?}: p50 {:.3} ms, p99 {:.3} ms ({hits} hits)",
            percentile(&micros, 0.5),
            percentile(&micros, 0.99)
        );
        medians.push(percentile(&micros, 0.5));
    }
    drop(conn);
    let _ = std::fs::remove_file(&path);
    Ok(medians)
}
