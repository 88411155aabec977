//! Files end to end, on SQLite and Postgres (issue 24): upload, send and
//! download; a resume after a cut and an idempotent retry; every limit;
//! every refusal of the access check (404 for all of them); the type read
//! from the content (an HTML page named .png, an SVG with script, a pixel
//! bomb); thumbnails without the upload's metadata; no byte of a file
//! readable on disk; files going with their message and with a clear; key
//! rotation re-sealing them; two Postgres nodes serving the same file.

mod common;

use std::io::Write;

use common::{ack, error, run_glasschat, Backend, TestServer};
use glasschat::realtime::protocol::{MessageView, ServerFrame};

/// A PNG of `w` x `h` pixels.
fn png(w: u32, h: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A JPEG with an EXIF segment that holds `marker` (where a phone puts the
/// place a photo was taken).
fn jpeg_with_exif(marker: &str) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(800, 600, image::Rgb([10, 120, 200]));
    let mut plain = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut plain, image::ImageFormat::Jpeg)
        .unwrap();
    let plain = plain.into_inner();
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(marker.as_bytes());
    let mut out = plain[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// The server stores uploads in chunks of 64 KiB (`store::files::CHUNK`);
/// a cut upload resumes at a chunk's start.
const CHUNK: usize = 64 * 1024;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The next message in `room` a tab receives.
async fn message_in(tab: &mut common::Tab, room: i64) -> MessageView {
    tab.until(|f| match f {
        ServerFrame::Message(m) if m.room == room => Some(m.clone()),
        _ => None,
    })
    .await
}

async fn upload_send_and_download(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let carol = server.user("carol@example.com").await;
    let room = server.group(&ada, "Ops", &["bob@example.com"]).await;
    let mut ada_tab = server.tab(&ada).await;
    let mut bob_tab = server.tab(&bob).await;

    // Bigger than a chunk, with a short last one.
    let notes: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let photo = jpeg_with_exif("GPS-52.5200N-13.4050E");
    let notes_id = server.upload(&ada, room, "notes.bin", &notes).await;
    let pdf_id = server.upload(&ada, room, "../../Report Q3.pdf", &pdf).await;
    let photo_id = server.upload(&ada, room, "IMG_0001.jpg", &photo).await;
    // Before it is sent, a file is its uploader's alone.
    let (status, _, _) = server
        .download(Some(&bob), &format!("/files/{notes_id}"))
        .await;
    assert_eq!(status, 404, "an unsent file is nobody else's");

    ada_tab
        .send_files(room, "f1", "", &[pdf_id, notes_id, photo_id])
        .await;
    let seq = ack(&mut ada_tab).await.seq;
    let got = message_in(&mut bob_tab, room).await;
    assert_eq!(got.seq, seq);
    assert_eq!(got.body, "", "files alone make a message");
    let names: Vec<&str> = got.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["Report Q3.pdf", "notes.bin", "IMG_0001.jpg"],
        "paths are dropped, the sender's order kept"
    );
    assert_eq!(got.files[1].size, 700_000);
    assert_eq!(got.files[1].mime, "application/octet-stream");
    assert_eq!(got.files[0].mime, "application/pdf");
    assert_eq!(got.files[2].mime, "image/jpeg");
    assert!(!got.files[0].is_image() && !got.files[1].is_image());
    assert_eq!(
        (got.files[2].width, got.files[2].height),
        (Some(800), Some(600))
    );

    // Members download what was uploaded, byte for byte, as a download.
    let (status, headers, bytes) = server
        .download(Some(&bob), &format!("/files/{notes_id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(bytes, notes);
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"notes.bin\"; filename*=UTF-8''notes.bin"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["content-security-policy"],
        "sandbox; default-src 'none'"
    );
    assert_eq!(headers["cache-control"], "private, no-cache");
    let (_, headers, bytes) = server
        .download(Some(&bob), &format!("/files/{pdf_id}"))
        .await;
    assert_eq!(bytes, pdf);
    assert_eq!(headers["content-type"], "application/pdf");
    // An unchanged file costs a 304, after the same access check.
    let etag = headers["etag"].to_str().unwrap().to_string();
    let again = server
        .client
        .get(server.url(&format!("/files/{pdf_id}")))
        .header("cookie", format!("glasschat_session={bob}"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 304);

    // An image: a thumbnail and a preview, made afresh, shown inline,
    // without the upload's metadata. The original keeps it (it is the
    // file as sent), as a download.
    let (status, headers, thumb) = server
        .download(Some(&bob), &format!("/files/{photo_id}/thumb"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["content-disposition"], "inline");
    let decoded = image::load_from_memory(&thumb).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (480, 360));
    let (_, _, preview) = server
        .download(Some(&bob), &format!("/files/{photo_id}/preview"))
        .await;
    let decoded = image::load_from_memory(&preview).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (800, 600));
    for (name, bytes) in [("thumbnail", &thumb), ("preview", &preview)] {
        assert!(
            !contains(bytes, b"GPS-52.5200N"),
            "the {name} kept the EXIF"
        );
        assert!(!contains(bytes, b"Exif"), "the {name} has an EXIF segment");
    }
    let (_, headers, original) = server
        .download(Some(&bob), &format!("/files/{photo_id}"))
        .await;
    assert_eq!(original, photo);
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    // Not an image: no thumbnail.
    let (status, _, _) = server
        .download(Some(&bob), &format!("/files/{pdf_id}/thumb"))
        .await;
    assert_eq!(status, 404);

    // Anyone else: the same 404 as for a file that does not exist.
    let (missing_status, _, missing_body) = server.download(Some(&bob), "/files/999999").await;
    assert_eq!(missing_status, 404);
    for (who, cookie) in [
        ("another user", Some(carol.as_str())),
        ("signed out", None),
        ("a bad session", Some("forged")),
    ] {
        for path in [
            format!("/files/{notes_id}"),
            format!("/files/{photo_id}/thumb"),
            format!("/files/{photo_id}/preview"),
        ] {
            let (status, _, body) = server.download(cookie, &path).await;
            assert_eq!((status, &body), (404, &missing_body), "{who}: {path}");
        }
    }

    // The race check: what the tab holds (live frames, the sidebar's
    // preview "📎 3 files") is what a fresh tab reads.
    common::assert_matches_fresh(&server, &bob, &mut bob_tab).await;
    assert_eq!(
        bob_tab.summary(room).last.map(|m| m.body).as_deref(),
        Some("📎 3 files")
    );
    // `has:file` finds it, shown by what it carries.
    let found = server.call(&bob, "search", &[("query", "has:file")]).await;
    assert_eq!(found.status, 200, "{}", found.body);
    let hits = found.json()["hits"].as_array().expect("hits").len();
    assert_eq!(hits, 1, "{}", found.body);
    assert!(found.body.contains("📎 3 files"), "{}", found.body);
    // Catch-up and history carry the files too.
    let history = server.all_messages(&bob, room).await;
    let sent = history.iter().find(|m| m.seq == seq).expect("in history");
    assert_eq!(sent.files, got.files);

    // A removed member loses access at once.
    let bob_id = server.me(&bob).await["id"].as_i64().unwrap();
    let removed = server.remove_member(&ada, room, bob_id).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let (status, _, _) = server
        .download(Some(&bob), &format!("/files/{notes_id}"))
        .await;
    assert_eq!(status, 404, "a removed member");
    server.stop().await;
}
both_backends!(upload_send_and_download);

/// An upload that was cut off resumes from its last whole chunk; asking
/// again with the same upload id finds the same file; a file goes with one
/// message only.
async fn resume_after_a_cut_and_retry(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ada, room, mut tab) = server.alone_in_room("Notes").await;
    let bytes: Vec<u8> = (0..900_000u32).map(|i| (i * 7 % 253) as u8).collect();
    let started = server
        .start_upload(&ada, "cut-1", room, "big.bin", bytes.len())
        .await;
    assert_eq!(started.status, 200, "{}", started.body);
    let id = started.json()["id"].as_i64().unwrap();
    assert_eq!(started.json()["received"], 0);

    // A raw request that says 900,000 bytes, sends 600,000 and hangs up.
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    let head = format!(
        "PUT /api/files/{id}?offset=0 HTTP/1.1\r\nHost: {addr}\r\nCookie: glasschat_session={ada}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        bytes.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&bytes[..600_000]).unwrap();
    stream.flush().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(stream);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    // The same upload id: the same file, at its last whole chunk
    // (9 x 64 KiB of the 600,000 bytes).
    let again = server
        .start_upload(&ada, "cut-1", room, "big.bin", bytes.len())
        .await;
    assert_eq!(again.json()["id"].as_i64(), Some(id));
    assert_eq!(again.json()["received"], 9 * CHUNK);
    // Sending from the wrong place says where to go on.
    let wrong = server
        .put_bytes(&ada, id, 12 * CHUNK, bytes[12 * CHUNK..].to_vec())
        .await;
    assert_eq!(wrong.status, 409);
    assert_eq!(wrong.json()["received"], 9 * CHUNK);
    // Resending from an earlier chunk is harmless: bytes already there are skipped.
    let rest = server
        .put_bytes(&ada, id, 4 * CHUNK, bytes[4 * CHUNK..].to_vec())
        .await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!(rest.json()["complete"], true);
    // One file, stored once.
    let rows = server.db.scalar("SELECT COUNT(*) FROM files").await;
    assert_eq!(rows, 1);
    let chunks = server.db.scalar("SELECT COUNT(*) FROM file_chunks").await;
    assert_eq!(chunks, 14, "900,000 bytes in 14 chunks");
    // More bytes than announced are refused.
    let extra = server
        .start_upload(&ada, "extra", room, "small.bin", 10)
        .await;
    let extra_id = extra.json()["id"].as_i64().unwrap();
    let over = server.put_bytes(&ada, extra_id, 0, vec![1; 11]).await;
    assert_eq!(over.status, 413);
    // The same upload id for another file is refused.
    let reused = server
        .start_upload(&ada, "cut-1", room, "other.bin", 5)
        .await;
    assert_eq!(reused.status, 422);

    // The message: a resend with the same client id is the same message;
    // another message cannot take the same file.
    tab.send_files(room, "m1", "the data", &[id]).await;
    let first = ack(&mut tab).await;
    tab.send_files(room, "m1", "the data", &[id]).await;
    let resent = ack(&mut tab).await;
    assert_eq!(
        (first.seq, first.message_id),
        (resent.seq, resent.message_id)
    );
    tab.send_files(room, "m2", "again", &[id]).await;
    let refused = error(&mut tab).await;
    assert!(
        refused.message.contains("sent already"),
        "{}",
        refused.message
    );
    let (status, _, got) = server.download(Some(&ada), &format!("/files/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got, bytes);
    server.stop().await;
}
both_backends!(resume_after_a_cut_and_retry);

/// Every limit, with a clear answer: size (before a byte is sent), files
/// per message, quota, empty files, someone else's upload, another room's
/// upload, a room one is not in, the upload budget.
async fn every_limit_is_clear(backend: Backend) {
    let db = common::TestDb::new(backend).await;
    let server = TestServer::start_on(
        db,
        &[
            ("GLASSCHAT_FILE_QUOTA_MB", "2"),
            ("GLASSCHAT_MAX_FILE_MB", "1"),
        ],
    )
    .await;
    let ada = server.user("ada@example.com").await;
    let bob = server.user("bob@example.com").await;
    let room = server.group(&ada, "Ops", &["bob@example.com"]).await;
    let other = server.group(&ada, "Other", &[]).await;
    let bobs_own = server.group(&bob, "Bob's", &[]).await;
    let mut tab = server.tab(&ada).await;

    let big = server
        .start_upload(&ada, "big", room, "video.mp4", 1_000_001)
        .await;
    assert_eq!(big.status, 422);
    assert!(
        big.body
            .contains("The file video.mp4 is larger than 1 MB, the most a file may be."),
        "{}",
        big.body
    );
    let empty = server
        .start_upload(&ada, "empty", room, "empty.txt", 0)
        .await;
    assert!(empty.body.contains("The file is empty"), "{}", empty.body);
    let nameless = server.start_upload(&ada, "nameless", room, " / ", 3).await;
    assert_eq!(nameless.status, 422);
    let bad_id = server
        .start_upload(&ada, "not an id!", room, "a.txt", 3)
        .await;
    assert_eq!(bad_id.status, 422);
    let not_member = server.start_upload(&ada, "nm", bobs_own, "a.txt", 3).await;
    assert_eq!(not_member.status, 403);

    // Quota: 2 MB; two files of 900 KB fit, a third does not.
    server.upload(&ada, room, "one.bin", &[1; 900_000]).await;
    server.upload(&ada, room, "two.bin", &[2; 900_000]).await;
    let third = server
        .start_upload(&ada, "third", room, "three.bin", 900_000)
        .await;
    assert_eq!(third.status, 422);
    assert!(
        third.body.contains("your 2 MB of file storage"),
        "{}",
        third.body
    );

    // Someone else's upload cannot be written to.
    let bobs = server.start_upload(&bob, "b1", room, "b.txt", 3).await;
    let bobs_id = bobs.json()["id"].as_i64().unwrap();
    let foreign = server.put_bytes(&ada, bobs_id, 0, b"abc".to_vec()).await;
    assert_eq!(foreign.status, 404);
    let put = server.put_bytes(&bob, bobs_id, 0, b"abc".to_vec()).await;
    assert_eq!(put.status, 200);
    // Nor sent by another.
    tab.send_files(room, "x1", "", &[bobs_id]).await;
    assert!(error(&mut tab).await.message.contains("not uploaded"));
    // An upload into another room cannot be sent here.
    let elsewhere = server.start_upload(&ada, "else", other, "e.txt", 3).await;
    let elsewhere_id = elsewhere.json()["id"].as_i64().unwrap();
    server
        .put_bytes(&ada, elsewhere_id, 0, b"xyz".to_vec())
        .await;
    tab.send_files(room, "x2", "", &[elsewhere_id]).await;
    assert!(error(&mut tab).await.message.contains("not uploaded"));
    // An unfinished upload cannot be sent.
    let half = server.start_upload(&ada, "half", room, "h.txt", 10).await;
    let half_id = half.json()["id"].as_i64().unwrap();
    tab.send_files(room, "x3", "", &[half_id]).await;
    assert!(error(&mut tab).await.message.contains("not uploaded"));
    // At most 10 files.
    let eleven: Vec<i64> = (1..=11).collect();
    tab.send_files(room, "x4", "", &eleven).await;
    assert!(error(&mut tab).await.message.contains("at most 10 files"));
    // Signed out: no upload.
    let anon = server
        .call_as(
            None,
            "start_upload",
            &[
                ("upload_id", "a"),
                ("room", "1"),
                ("name", "a"),
                ("size", "1"),
            ],
        )
        .await;
    assert_eq!(anon.status, 401);
    let anon_put = server.put_bytes("forged", half_id, 0, b"x".to_vec()).await;
    assert_eq!(anon_put.status, 401);
    server.stop().await;

    // The budget: uploads started per user.
    let db = common::TestDb::new(backend).await;
    let server = TestServer::start_on(db, &[("GLASSCHAT_UPLOAD_RATE", "3/60")]).await;
    let (ada, room, _tab) = server.alone_in_room("Budget").await;
    for i in 0..3 {
        let ok = server
            .start_upload(&ada, &format!("b{i}"), room, "a.txt", 3)
            .await;
        assert_eq!(ok.status, 200);
    }
    let slow = server.start_upload(&ada, "b3", room, "a.txt", 3).await;
    assert_eq!(slow.status, 429);
    // Resuming a started upload is not a new one.
    let resume = server.start_upload(&ada, "b0", room, "a.txt", 3).await;
    assert_eq!(resume.status, 200);
    server.stop().await;
}
both_backends!(every_limit_is_clear);

/// Security checklist: the type comes from the content. An HTML page named
/// .png, an SVG with a script and a pixel bomb are plain downloads that
/// cannot run or render on this origin.
async fn active_content_is_only_ever_a_download(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ada, room, mut tab) = server.alone_in_room("Notes").await;
    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
        .to_vec();
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec();
    // Valid PNGs whose header claims 100,000 x 100,000 pixels and 9,000 x
    // 9,000 (81 megapixels, over the 50 decoded), their checksums mended.
    let bomb = |w: u32, h: u32| {
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&w.to_be_bytes());
        bomb[20..24].copy_from_slice(&h.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        bomb
    };
    let html_id = server.upload(&ada, room, "cat.png", &html).await;
    let svg_id = server.upload(&ada, room, "logo.svg", &svg).await;
    let bomb_id = server
        .upload(&ada, room, "huge.png", &bomb(100_000, 100_000))
        .await;
    let big_id = server
        .upload(&ada, room, "big.png", &bomb(9_000, 9_000))
        .await;
    tab.send_files(room, "f", "", &[html_id, svg_id, bomb_id, big_id])
        .await;
    let seq = ack(&mut tab).await.seq;
    let stored = server.all_messages(&ada, room).await;
    let message = stored.iter().find(|m| m.seq == seq).expect("stored");
    for file in &message.files {
        assert!(!file.is_image(), "{} is shown inline", file.name);
    }
    assert_eq!(
        message.files[0].mime, "text/html",
        "sniffed, not taken from .png"
    );
    for id in [html_id, svg_id, bomb_id, big_id] {
        let (status, headers, _) = server.download(Some(&ada), &format!("/files/{id}")).await;
        assert_eq!(status, 200);
        let kind = headers["content-type"].to_str().unwrap();
        assert!(
            !kind.contains("html") && !kind.contains("svg") && !kind.contains("xml"),
            "{id}: {kind}"
        );
        assert!(headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert_eq!(
            headers["content-security-policy"],
            "sandbox; default-src 'none'"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let (status, _, _) = server
            .download(Some(&ada), &format!("/files/{id}/thumb"))
            .await;
        assert_eq!(status, 404, "no thumbnail for {id}");
    }
    server.stop().await;
}
both_backends!(active_content_is_only_ever_a_download);

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A file goes with its message (deleted), with a clear, and no byte of it
/// is readable on disk; a key rotation re-seals its chunks.
async fn files_go_with_their_message_and_stay_sealed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ada, room, mut tab) = server.alone_in_room("Notes").await;
    let marker = b"PLAINTEXT-FILE-MARKER-7Q2".repeat(20_000); // 500 KB
    let kept = server.upload(&ada, room, "kept.txt", &marker).await;
    let gone = server
        .upload(&ada, room, "gone.txt", b"to be deleted")
        .await;
    tab.send_files(room, "k", "", &[kept]).await;
    ack(&mut tab).await;
    tab.send_files(room, "g", "", &[gone]).await;
    let gone_seq = ack(&mut tab).await.seq;

    // At rest: not one copy of the marker in the database's files.
    let mut dumps: Vec<(String, Vec<u8>)> = Vec::new();
    match server.db.sqlite_path() {
        Some(_) => dumps.extend(server.db.sqlite_dumps()),
        None => {
            let found = server
                .db
                .scalar("SELECT COUNT(*) FROM file_chunks WHERE position('\\x504c41494e544558542d46494c452d4d41524b4552'::bytea in data) > 0")
                .await;
            assert_eq!(found, 0, "the marker is readable in file_chunks");
            let stored = server
                .db
                .scalar("SELECT CAST(SUM(length(data)) AS BIGINT) FROM file_chunks")
                .await;
            assert!(stored > 500_000, "the chunks are there ({stored} bytes)");
        }
    }
    for (name, bytes) in &dumps {
        assert!(
            !contains(bytes, b"PLAINTEXT-FILE-MARKER"),
            "the marker is readable in {name}"
        );
    }

    // Deleting the message deletes its file.
    tab.delete(room, gone_seq).await;
    tab.until(|f| matches!(f, ServerFrame::Changed(_)).then_some(()))
        .await;
    let (status, _, _) = server.download(Some(&ada), &format!("/files/{gone}")).await;
    assert_eq!(status, 404);
    assert_eq!(
        server
            .db
            .scalar(&format!("SELECT COUNT(*) FROM files WHERE id = {gone}"))
            .await,
        0
    );
    assert_eq!(
        server
            .db
            .scalar(&format!(
                "SELECT COUNT(*) FROM file_chunks WHERE file_id = {gone}"
            ))
            .await,
        0
    );

    // Rotation re-seals the chunks; the file still reads.
    let before = server
        .db
        .scalar("SELECT MAX(key_id) FROM file_chunks")
        .await;
    let (ok, out, err) = run_glasschat(&server.db, &["keys", "rotate"], &[]).await;
    assert!(ok, "rotate failed: {err}");
    assert!(out.contains("re-encrypted"), "{out}");
    assert_eq!(
        server
            .db
            .scalar("SELECT COUNT(*) FROM file_chunks WHERE key_id = 1")
            .await,
        0,
        "every chunk moved"
    );
    assert!(
        server
            .db
            .scalar("SELECT MIN(key_id) FROM file_chunks")
            .await
            > before
    );
    // The running server learns the new key within its poll.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (status, _, bytes) = server.download(Some(&ada), &format!("/files/{kept}")).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, marker);

    // A clear takes every file of the room.
    let cleared = server
        .call(&ada, "rooms/clear", &[("room", &room.to_string())])
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    let (status, _, _) = server.download(Some(&ada), &format!("/files/{kept}")).await;
    assert_eq!(status, 404);
    assert_eq!(
        server.db.scalar("SELECT COUNT(*) FROM file_chunks").await,
        0
    );
    server.stop().await;
}
both_backends!(files_go_with_their_message_and_stay_sealed);

/// Two nodes on one Postgres database: a file uploaded to one is served by
/// the other, and a resume may go to either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_nodes_serve_the_same_file() {
    let first = TestServer::start(Backend::Postgres).await;
    let second = first.another_node(&[]).await;
    let (ada, room, mut tab) = first.alone_in_room("Shared").await;
    let bytes: Vec<u8> = (0..400_000u32).map(|i| (i % 241) as u8).collect();
    let started = first
        .start_upload(&ada, "two-nodes", room, "shared.bin", bytes.len())
        .await;
    let id = started.json()["id"].as_i64().unwrap();
    // The first chunks to one node, the rest to the other.
    let part = first
        .put_bytes(&ada, id, 0, bytes[..4 * CHUNK].to_vec())
        .await;
    assert_eq!(part.json()["received"], 4 * CHUNK);
    let rest = second
        .put_bytes(&ada, id, 4 * CHUNK, bytes[4 * CHUNK..].to_vec())
        .await;
    assert_eq!(rest.json()["complete"], true, "{}", rest.body);
    tab.send_files(room, "s", "", &[id]).await;
    ack(&mut tab).await;
    for node in [&first, &second] {
        let (status, _, got) = node.download(Some(&ada), &format!("/files/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(got, bytes);
    }
    second.stop().await;
    first.stop().await;
}
