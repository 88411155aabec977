//! Stopping a node without losing anyone (a rolling restart): on SIGTERM or
//! SIGINT the node stops accepting connections, tells every socket to
//! reconnect at once (`close::RESTARTING`, which the client follows with no
//! back-off, to another node behind the proxy or to this one once it is
//! back), lets the requests in flight finish, waits until every write
//! handed to the writer has committed, and exits, all within `STOP_WITHIN`.
//!
//! Nothing depends on it for correctness: a send whose answer never left
//! is sent again by the client under the same client id and answered as
//! the first (the sync contract); it makes a restart quick and quiet.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::realtime::protocol::close;
use crate::server::state::AppState;

/// What a stop may take, end to end (systemd's default is 90 s; the issue's
/// promise, and docs/deploy.md's `TimeoutStopSec`, is 10).
const STOP_WITHIN: Duration = Duration::from_secs(9);

/// Resolves on SIGINT or SIGTERM.
pub async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// The stop itself, once the signal came. `stop_accepting` ends the
/// server's accept loop (`http::serve`); `serving` is that
/// server, which then waits for the HTTP requests in flight.
pub async fn stop(
    state: &AppState,
    stop_accepting: oneshot::Sender<()>,
    serving: JoinHandle<std::io::Result<()>>,
) -> std::io::Result<()> {
    let started = Instant::now();
    let deadline = started + STOP_WITHIN;
    let _ = stop_accepting.send(());
    let sockets = state.hub.close_all(close::RESTARTING);
    tracing::info!(sockets, "stopping: every socket told to reconnect");
    // Each socket task sends what it has queued, then the close frame. A
    // socket whose upgrade was under way registers after the first call:
    // it is closed by a later one.
    while state.hub.running_sockets() > 0 && Instant::now() < deadline - Duration::from_secs(4) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        state.hub.close_all(close::RESTARTING);
    }
    let served = match tokio::time::timeout_at(deadline - Duration::from_secs(2), serving).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(std::io::Error::other(join)),
        Err(_) => {
            tracing::warn!("stopping: requests still running were cut");
            Ok(())
        }
    };
    // The sockets are gone, so nothing new reaches the writer: what it
    // holds is what they handed it.
    match tokio::time::timeout_at(deadline, state.writer.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "stopping: the last writes failed"),
        Err(_) => tracing::error!("stopping: the last writes did not commit in time"),
    }
    tracing::info!(
        sockets,
        still_open = state.hub.running_sockets(),
        ms = started.elapsed().as_millis() as u64,
        "stopped"
    );
    served
}
