//! `files`: what files cost. Upload and download speed of a 20 MB file
//! (beside a plain `cp` of the same bytes on the same disk, in the same
//! run), the server's CPU per megabyte each way, the time to make the
//! thumbnail and preview of a 12-megapixel JPEG, and the server's memory
//! during ten 25 MB uploads at once.

use std::time::Instant;

use futures::SinkExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{account, connect, create_room, post};
use crate::measure::{cpu_seconds_of, rss_kib};
use crate::{AnyError, Args};

const MB: f64 = 1_000_000.0;

/// Bytes that do not compress (xorshift), as a real archive or video.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A 4000 x 3000 JPEG of a smooth picture with some grain (about what a
/// phone's 12-megapixel photo holds).
fn photo() -> Result<Vec<u8>, AnyError> {
    let grain = noise(4000 * 3000, 7);
    let image = image::RgbImage::from_fn(4000, 3000, |x, y| {
        let g = grain[(y * 4000 + x) as usize] % 24;
        image::Rgb([(x / 16) as u8 ^ g, (y / 12) as u8 ^ g, ((x + y) / 28) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&image)?;
    Ok(out.into_inner())
}

/// Announces an upload: the file's id.
async fn start(
    args: &Args,
    cookie: &str,
    key: &str,
    room: i64,
    name: &str,
    size: usize,
) -> Result<i64, AnyError> {
    let room = room.to_string();
    let size = size.to_string();
    let form = [
        ("upload_id", key),
        ("room", room.as_str()),
        ("name", name),
        ("size", size.as_str()),
    ];
    let (status, _, body) = post(args, "/api/start_upload", &form, Some(cookie)).await?;
    if status != 200 {
        return Err(format!("start_upload: {status} {body}").into());
    }
    let state: serde_json::Value = serde_json::from_str(&body)?;
    state["id"].as_i64().ok_or_else(|| "no file id".into())
}

/// PUTs `bytes` as upload `id`'s, all of it: the answer's status.
async fn put(args: &Args, cookie: &str, id: i64, bytes: &[u8]) -> Result<u16, AnyError> {
    let head = format!(
        "PUT /api/files/{id}?offset=0 HTTP/1.1\r\nHost: {}\r\nCookie: glasschat_session={cookie}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        args.host,
        bytes.len()
    );
    let mut stream = TcpStream::connect(&args.host).await?;
    stream.set_nodelay(true)?;
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(bytes).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    if !text.contains("\"complete\":true") {
        return Err(format!("upload not complete: {text}").into());
    }
    Ok(status)
}

/// GETs `path` and reads the whole answer: the bytes of its body.
async fn get(args: &Args, cookie: &str, path: &str) -> Result<usize, AnyError> {
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: glasschat_session={cookie}\r\nConnection: close\r\n\r\n",
        args.host
    );
    let mut stream = TcpStream::connect(&args.host).await?;
    stream.write_all(head.as_bytes()).await?;
    let mut answer = Vec::with_capacity(21_000_000);
    stream.read_to_end(&mut answer).await?;
    let body = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |at| answer.len() - at - 4);
    if !answer.starts_with(b"HTTP/1.1 200") {
        return Err(format!(
            "GET {path}: {}",
            String::from_utf8_lossy(&answer[..answer.len().min(200)])
        )
        .into());
    }
    Ok(body)
}

pub async fn files(args: &Args) -> Result<(), AnyError> {
    let pid = args.server_pid;
    let cpu = || pid.map_or(0.0, |p| cpu_seconds_of(&format!("/proc/{p}/stat")));
    let cookie = account(args, &format!("files-{}@load.test", args.tag)).await?;
    let room = create_room(args, &cookie, "files", &[]).await?;
    let mut ws = connect(args, &cookie).await?;

    // 20 MB up and down, three times each; medians.
    let size = 20_000_000;
    let bytes = noise(size, 42);
    let mut ups = Vec::new();
    let mut downs = Vec::new();
    let mut ids = Vec::new();
    for round in 0..3 {
        let id = start(
            args,
            &cookie,
            &format!("f{round}-{}", args.tag),
            room,
            "big.bin",
            size,
        )
        .await?;
        let (t, c) = (Instant::now(), cpu());
        put(args, &cookie, id, &bytes).await?;
        ups.push((t.elapsed().as_secs_f64(), cpu() - c));
        ids.push(id);
    }
    let frame = serde_json::json!({"type": "send", "room": room, "client_id": format!("files-{}", args.tag), "body": "", "files": ids});
    ws.send(Message::Text(frame.to_string().into())).await?;
    // The ack (and the message) come back; give the writer a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for id in &ids {
        let (t, c) = (Instant::now(), cpu());
        let got = get(args, &cookie, &format!("/files/{id}")).await?;
        if got != size {
            return Err(format!("downloaded {got} of {size} bytes").into());
        }
        downs.push((t.elapsed().as_secs_f64(), cpu() - c));
    }
    // The same bytes through `cp` on the same disk (the database's folder
    // when given, else the working folder).
    let folder = args
        .db
        .as_deref()
        .and_then(|p| std::path::Path::new(p).parent())
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let from = folder.join(format!("loadtest-cp-{}.bin", args.tag));
    let to = folder.join(format!("loadtest-cp-{}.copy", args.tag));
    std::fs::write(&from, &bytes)?;
    let mut cps = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let status = std::process::Command::new("cp")
            .arg(&from)
            .arg(&to)
            .status()?;
        let status_sync = std::process::Command::new("sync").arg(&to).status()?;
        if !status.success() || !status_sync.success() {
            return Err("cp failed".into());
        }
        cps.push(t.elapsed().as_secs_f64());
        std::fs::remove_file(&to)?;
    }
    std::fs::remove_file(&from)?;
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut up_s: Vec<f64> = ups.iter().map(|u| u.0).collect();
    let mut up_cpu: Vec<f64> = ups.iter().map(|u| u.1).collect();
    let mut down_s: Vec<f64> = downs.iter().map(|d| d.0).collect();
    let mut down_cpu: Vec<f64> = downs.iter().map(|d| d.1).collect();
    let mb = size as f64 / MB;
    let (up, upc, down, downc, cp) = (
        median(&mut up_s),
        median(&mut up_cpu),
        median(&mut down_s),
        median(&mut down_cpu),
        median(&mut cps),
    );
    println!("files: a 20 MB file, medians of 3");
    println!(
        "  upload    {:>7.1} MB/s  ({:.0} ms; server CPU {:.1} ms per MB)",
        mb / up,
        up * 1000.0,
        upc * 1000.0 / mb
    );
    println!(
        "  download  {:>7.1} MB/s  ({:.0} ms; server CPU {:.1} ms per MB)",
        mb / down,
        down * 1000.0,
        downc * 1000.0 / mb
    );
    println!(
        "  cp + sync {:>7.1} MB/s  ({:.0} ms) on the same disk",
        mb / cp,
        cp * 1000.0
    );

    // A 12-megapixel JPEG: decoding, thumbnail and preview, measured in
    // this process (the same function the server runs), then end to end
    // (the upload's answer waits for them).
    let jpeg = photo()?;
    let mut made = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let derived = glasschat::server::services::files::derive_images(&jpeg)
            .ok_or("the photo did not decode")?;
        made.push(t.elapsed().as_secs_f64());
        if derived.width != 4000 {
            return Err("the photo's size is wrong".into());
        }
    }
    let plain = noise(jpeg.len(), 9);
    let mut photo_up = Vec::new();
    let mut plain_up = Vec::new();
    for round in 0..3 {
        for (key, what, body, times) in [
            ("j", "photo.jpg", &jpeg, &mut photo_up),
            ("b", "plain.bin", &plain, &mut plain_up),
        ] {
            let id = start(
                args,
                &cookie,
                &format!("p{round}{key}-{}", args.tag),
                room,
                what,
                body.len(),
            )
            .await?;
            let t = Instant::now();
            put(args, &cookie, id, body).await?;
            times.push(t.elapsed().as_secs_f64());
        }
    }
    let (made, photo_up, plain_up) = (
        median(&mut made),
        median(&mut photo_up),
        median(&mut plain_up),
    );
    println!(
        "  12 MP JPEG ({:.1} MB): thumbnail + preview {:.0} ms in process; its upload {:.0} ms vs {:.0} ms for as many plain bytes",
        jpeg.len() as f64 / MB,
        made * 1000.0,
        photo_up * 1000.0,
        plain_up * 1000.0
    );

    // Ten 25 MB uploads at once: the server's resident memory.
    if let Some(pid) = pid {
        let big = std::sync::Arc::new(noise(25_000_000, 11));
        let mut ids = Vec::new();
        for i in 0..10 {
            ids.push(
                start(
                    args,
                    &cookie,
                    &format!("r{i}-{}", args.tag),
                    room,
                    "big.bin",
                    big.len(),
                )
                .await?,
            );
        }
        let before = rss_kib(pid).unwrap_or(0);
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = {
            let done = done.clone();
            tokio::spawn(async move {
                let mut peak = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    peak = peak.max(rss_kib(pid).unwrap_or(0));
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                peak
            })
        };
        let t = Instant::now();
        let uploads = ids.iter().map(|&id| {
            let big = big.clone();
            let cookie = cookie.clone();
            async move { put(args, &cookie, id, &big).await }
        });
        for result in futures::future::join_all(uploads).await {
            result?;
        }
        let took = t.elapsed().as_secs_f64();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let peak = sampler.await?;
        println!(
            "  ten 25 MB uploads at once: {:.1} s ({:.1} MB/s together); server RSS {:.1} MiB before, {:.1} MiB at peak (+{:.1} MiB)",
            took,
            250.0 / took,
            before as f64 / 1024.0,
            peak as f64 / 1024.0,
            peak.saturating_sub(before) as f64 / 1024.0
        );
    }
    Ok(())
}
