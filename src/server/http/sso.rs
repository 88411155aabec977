//! `GET /auth/sso` (the login page's "Sign in with …") and `GET
//! /auth/sso/callback` (where the provider sends the browser back): plain
//! redirects, so links rather than server functions. A failure goes back
//! to the login page with an error code it shows.

use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{client, cookie};
use crate::api::ApiError;
use crate::server::auth::token;
use crate::server::services::sso;
use crate::server::state::AppState;

/// How long the browser binding lives: as long as a sign-in may take.
const BINDING_SECS: u64 = 600;

fn redirect(to: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(to) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for set in cookies {
        if let Ok(value) = HeaderValue::from_str(set) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

fn to_login(err: sso::SsoError, cookies: &[String]) -> Response {
    let err = ApiError::from(err);
    redirect(&format!("/login?error={}", err.code()), cookies)
}

pub async fn start(State(state): State<AppState>, request: Parts) -> Response {
    let ip = client::client_ip(&state.config, &request.headers, &request.extensions);
    let binding = token::random_text(32);
    match sso::start(&state, ip, &binding).await {
        Ok(url) => redirect(
            &url,
            &[cookie::set_sso(&state.config, &binding, BINDING_SECS)],
        ),
        Err(err) => to_login(err, &[]),
    }
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    /// The provider's own refusal (the person cancelled, for one).
    error: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    Query(answer): Query<Callback>,
    request: Parts,
) -> Response {
    let binding = cookie::read_sso(&state.config, &request.headers);
    let spent = [cookie::set_sso(&state.config, "", 0)];
    let (Some(code), Some(state_param), None) = (answer.code, answer.state, answer.error.as_ref())
    else {
        if let Some(error) = &answer.error {
            tracing::info!(error, "single sign-on: the provider answered with an error");
        }
        return redirect("/login?error=sso_failed", &spent);
    };
    match sso::finish(&state, &code, &state_param, binding.as_deref()).await {
        Ok(signed_in) => redirect(
            "/",
            &[
                spent[0].clone(),
                cookie::set(&state.config, &signed_in.token.cookie_value),
            ],
        ),
        Err(err) => to_login(err, &spent),
    }
}
