//! `GET /export/me` (the signed-in person's own data) and
//! `GET /export/room/ID` (an admin's export of one conversation): JSON
//! downloads, so plain links rather than server functions.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{client, cookie};
use crate::server::services::accounts;
use crate::server::services::actor::Actor;
use crate::server::services::export::{self, ExportError};
use crate::server::state::AppState;
use crate::server::store::now_ms;

/// The signed-in member, acting from the request's address (a website
/// visitor has no export here).
async fn member(state: &AppState, request: &Parts) -> Result<Actor, Response> {
    let refused = || (StatusCode::UNAUTHORIZED, "sign in first").into_response();
    let Some(value) = cookie::read(&state.config, &request.headers) else {
        return Err(refused());
    };
    let address = client::client_ip(&state.config, &request.headers, &request.extensions);
    match accounts::authenticate(state, &value).await {
        Ok(Some(found)) if found.user.site_id.is_none() => Ok(Actor::from(&found.user).at(address)),
        Ok(_) => Err(refused()),
        Err(err) => {
            tracing::error!(error = %err, "export: session lookup failed");
            Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

pub async fn own(State(state): State<AppState>, request: Parts) -> Response {
    let actor = match member(&state, &request).await {
        Ok(actor) => actor,
        Err(response) => return response,
    };
    let name = format!("glasschat-{}-{}.json", actor.id, now_ms() / 1000);
    answer(export::own_data(&state, &actor).await, &name)
}

pub async fn room(
    State(state): State<AppState>,
    Path(room): Path<i64>,
    request: Parts,
) -> Response {
    let actor = match member(&state, &request).await {
        Ok(actor) => actor,
        Err(response) => return response,
    };
    let name = format!("glasschat-room-{room}-{}.json", now_ms() / 1000);
    answer(export::room(&state, &actor, room).await, &name)
}

fn answer(result: Result<Vec<u8>, ExportError>, file_name: &str) -> Response {
    match result {
        Ok(json) => {
            let disposition = format!("attachment; filename=\"{file_name}\"");
            let mut response = json.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Err(ExportError::Forbidden) => (StatusCode::FORBIDDEN, "admins only").into_response(),
        Err(ExportError::NotFound) => {
            (StatusCode::NOT_FOUND, "no such conversation").into_response()
        }
        Err(ExportError::SlowDown(wait)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, wait.as_secs().max(1).to_string())],
            "too many exports: try again later",
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "export failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "the export failed").into_response()
        }
    }
}
