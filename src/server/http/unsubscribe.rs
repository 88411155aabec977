//! `POST /api/email/unsubscribe?token=…`: turns a person's missed-message
//! emails off without signing in. It is the digest's `List-Unsubscribe`
//! address, which mail programs post to in one click (RFC 8058, body
//! `List-Unsubscribe=One-Click`), and the button of the `/unsubscribe`
//! page, a plain form. The token is the signature (services::digests),
//! so no cookie and no Origin are needed. A GET never changes anything
//! (mail scanners open links): it is sent on to the page.

use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::client::client_ip;
use crate::server::services::digests::{self, DigestError};
use crate::server::state::AppState;
use crate::validate::url_token;

#[derive(Debug, Deserialize)]
pub struct Token {
    #[serde(default)]
    token: String,
}

pub async fn unsubscribe(
    State(state): State<AppState>,
    Query(Token { token }): Query<Token>,
    request: Request,
) -> Response {
    let ip = client_ip(&state.config, request.headers(), request.extensions());
    if state.reset_rate.check_address(ip).is_err() {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many tries. Wait a while.",
        )
            .into_response();
    }
    let page = match digests::unsubscribe(&state, &token).await {
        Ok(()) => "/unsubscribe?done=1",
        Err(DigestError::Store(e)) => {
            tracing::error!(error = %e, "unsubscribe failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Err(_) => "/unsubscribe?error=bad_link",
    };
    (StatusCode::SEE_OTHER, [(header::LOCATION, page)]).into_response()
}

/// `GET /api/email/unsubscribe?token=…` (a mail program without one-click
/// opens the header's address): the page with its button, nothing changed.
pub async fn page(Query(Token { token }): Query<Token>) -> Response {
    let page = format!(
        "/unsubscribe?token={}",
        url_token(&token).unwrap_or_default()
    );
    (StatusCode::SEE_OTHER, [(header::LOCATION, page)]).into_response()
}
