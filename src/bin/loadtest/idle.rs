//! `idle`: the server's memory per open, idle socket.

use std::time::Duration;

use crate::client::{account, connect};
use crate::measure::rss_kib;
use crate::{AnyError, Args};

pub async fn idle(args: &Args) -> Result<(), AnyError> {
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
