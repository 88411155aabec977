//! `GET /metrics`: the Prometheus text format (`server::metrics`). On the
//! main address only with `Authorization: Bearer <GLASSCHAT_METRICS_TOKEN>`
//! (404 when no token is set, so the path says nothing of itself); on
//! GLASSCHAT_METRICS_ADDR, its own listener, with no token.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::server::metrics::{self, Snapshot};
use crate::server::state::AppState;

/// The main address's `/metrics`.
pub async fn behind_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = state.config.metrics.token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Compared as hashes: blake3's equality takes the same time whatever
    // the bytes, so the answer's timing tells nothing of the token.
    if blake3::hash(offered.as_bytes()) != blake3::hash(token.as_bytes()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is needed",
        )
            .into_response();
    }
    scrape(&state)
}

/// The metrics address's router: `/metrics` and nothing else.
pub fn own_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(open)).with_state(state)
}

async fn open(State(state): State<AppState>) -> Response {
    scrape(&state)
}

fn scrape(state: &AppState) -> Response {
    let (connections, idle) = state.store.pool_use();
    let text = metrics::get().render(Snapshot {
        sockets_open: state.hub.connection_count(),
        socket_queue_frames: state.hub.queued_frames(),
        sockets_dropped_slow: state.hub.dropped_slow(),
        writer_queue: state.writer.queued(),
        db_pool_connections: connections,
        db_pool_idle: idle,
    });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
