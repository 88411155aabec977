//! The accept loop: HTTP/1.1 with upgrades, one task per connection, each
//! request tagged with the peer's address (`ConnectInfo`).
//!
//! Why not `axum::serve`: it serves HTTP/1 and HTTP/2 on one port, and to
//! tell them apart wraps every connection in a rewinding reader, so an
//! upgraded WebSocket can no longer be turned back into its `TcpStream`.
//! The WebSocket handler needs that stream: the fan-out writes a room's
//! frames to it directly (`realtime::queue`, the direct lane). Browsers
//! speak HTTP/2 only over TLS, which the proxy in front ends
//! (docs/deploy.md), so nothing is lost.

use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tower::ServiceExt;

/// Serves `app` on `listener` until `stop` fires, then waits for the
/// requests in flight (upgraded sockets are on their own by then).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    stop: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    // Every connection task holds a receiver. When the loop ends, a value
    // sent on the channel asks each to finish gracefully (an idle
    // keep-alive connection closes, a request in flight is answered), and
    // the stop waits until every receiver is gone.
    let (stopping, watching) = watch::channel(());
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    wait_after_accept_error(err).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // Chat frames are small and latency matters: no Nagle delay.
        let _ = tcp.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(axum::body::Body::new)
            });
        let mut watching = watching.clone();
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service))
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = watching.changed() => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
    drop(listener);
    drop(watching);
    stopping.send_replace(());
    stopping.closed().await;
    Ok(())
}

/// Out of descriptors (EMFILE) or memory: accepting again at once would
/// spin. A peer that gave up during the handshake is not worth a pause.
async fn wait_after_accept_error(err: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %err, "accept failed; pausing");
    tokio::time::sleep(Duration::from_millis(200)).await;
}
