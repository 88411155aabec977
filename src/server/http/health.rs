//! `GET /health`, for load balancers and operators.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::server::cluster::ListenerState;
use crate::server::state::AppState;

/// `{"status":"ok","database":"ok","fanout":"listening","fanout_alone":false,"search_index":
/// {"remaining":0,"total":…},"node":{"sockets_open":…,"max_sockets":…,…}}`
/// (seqs the search index's background pass has left, of what it began
/// with; the node's sizing figures, `model::NodeSizing`): 503 while the
/// database does not answer or (several nodes) this node cannot hear the
/// others, so a load balancer sends nobody here meanwhile.
pub async fn health(State(state): State<AppState>) -> Response {
    let database = match state.store.ping().await {
        Ok(()) => "ok",
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unavailable");
            "unavailable"
        }
    };
    let fanout = state.fanout.listener_state();
    // How far the search index's background pass is (0 left: all indexed).
    let search_index = state
        .store
        .index_progress()
        .await
        .ok()
        .map(|p| serde_json::json!({ "remaining": p.remaining, "total": p.total }));
    let healthy =
        database == "ok" && matches!(fanout, ListenerState::SingleNode | ListenerState::Listening);
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "database": database,
        "fanout": fanout.as_str(),
        // Postgres: no other node can hear this one, so it sends nothing
        // (null on SQLite).
        "fanout_alone": state.fanout.is_alone(),
        "search_index": search_index,
        // What an operator sizes a node with (docs/deploy.md, "Sizing").
        "node": crate::server::metrics::get().sizing(state.hub.connection_count()),
    });
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}
