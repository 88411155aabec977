//! `stall`: a reader that stops reading while its room is flooded.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{account, connect, create_room};
use crate::measure::rss_kib;
use crate::{AnyError, Args};

/// A reader that stops reading while its room is flooded with 9 KB
/// messages: the server's RSS must stay bounded (its queue holds at most
/// GLASSCHAT_SOCKET_QUEUE shared frames, then it is dropped), and the
/// stalled socket must end up closed.
pub async fn stall(args: &Args) -> Result<(), AnyError> {
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
