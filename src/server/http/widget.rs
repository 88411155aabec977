//! The website widget at the edge: its panel pages (`/widget/SITE?host=
//! ORIGIN`) may be framed by that one origin, if the site lists it, and
//! nobody else; the launcher's badge count (`/widget/SITE/unread`) answers
//! that origin's cross-site fetch, with the visitor's partitioned cookie.
//! The loader itself is a static file (`public/widget.js`).

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::cookie;
use crate::server::services::accounts;
use crate::server::services::actor::Actor;
use crate::server::services::widget;
use crate::server::state::AppState;

#[derive(Debug, Deserialize)]
pub struct Host {
    #[serde(default)]
    host: String,
}

/// The panel page of site `key` for embedder `host`: the CSP's
/// `frame-ancestors` names exactly that origin (and `X-Frame-Options`,
/// which cannot name one, goes); a site that does not list `host`, or no
/// such site, gets a plain refusal and no page.
pub async fn frame_for_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(key) = panel_key(request.uri().path()) else {
        return next.run(request).await;
    };
    let host = Query::<Host>::try_from_uri(request.uri())
        .map(|Query(h)| h.host)
        .unwrap_or_default();
    match widget::embedded(&state, &key, &host).await {
        Ok(_) => {}
        Err(widget::WidgetError::NoSuchSite) => {
            return (
                StatusCode::FORBIDDEN,
                "This chat is not set up for this website.",
            )
                .into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "widget: site lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let policy = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(|csp| csp.replace("frame-ancestors 'none'", &format!("frame-ancestors {host}")));
    if let Some(value) = policy.and_then(|p| HeaderValue::from_str(&p).ok()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
        headers.remove(header::X_FRAME_OPTIONS);
    }
    response
}

/// `/widget/KEY` (the panel page), not `/widget/KEY/unread`.
fn panel_key(path: &str) -> Option<String> {
    let key = path.strip_prefix("/widget/")?;
    (!key.is_empty() && !key.contains('/')).then(|| key.to_string())
}

/// `GET /widget/KEY/unread?host=ORIGIN`: `{"unread":N}` for the visitor
/// this browser is on that site (0 for nobody), answered only to a fetch
/// from `host` itself, one of the site's origins (CORS with credentials).
pub async fn unread(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(Host { host }): Query<Host>,
    headers: HeaderMap,
) -> Response {
    let from_host = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| origin == host);
    let site = match widget::embedded(&state, &key, &host).await {
        Ok(site) if from_host => site,
        Ok(_) | Err(widget::WidgetError::NoSuchSite) => {
            return (StatusCode::FORBIDDEN, "not one of this site's origins").into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "widget: site lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let count = match cookie::read_visitor(&headers) {
        Some(value) => match accounts::authenticate(&state, &value).await {
            Ok(Some(found)) => {
                match widget::unread(&state, &Actor::from(&found.user), &site).await {
                    Ok(count) => count,
                    // A member's session, or another site's visitor.
                    Err(widget::WidgetError::Forbidden) => 0,
                    Err(err) => {
                        tracing::error!(error = %err, "widget: unread count failed");
                        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                    }
                }
            }
            Ok(None) => 0,
            Err(err) => {
                tracing::error!(error = %err, "widget: session lookup failed");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        },
        None => 0,
    };
    let mut response = (
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"unread\":{count}}}"),
    )
        .into_response();
    let out = response.headers_mut();
    if let Ok(origin) = HeaderValue::from_str(&host) {
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        out.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        out.insert(header::VARY, HeaderValue::from_static("origin"));
    }
    response
}
