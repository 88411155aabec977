//! What every request passes through that Leptos does not provide itself:
//! the shape of a write (method, content type, size), the CSRF check, the
//! status of a server function that failed to decode, and the security and
//! caching headers of every response.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::build_files::caching_for;
use crate::api::error::ApiError;
use crate::server::state::AppState;

/// Server-function bodies are small forms; anything larger is refused early.
pub const MAX_REQUEST_BODY: usize = 64 * 1024;

/// Only server functions take writes, and only as the form encoding they
/// are declared with (uploads' bytes aside: `is_upload`); checked before
/// any work, as defence in depth behind the Origin check:
/// - a write anywhere else (a page, a build file) is 405, not a page;
/// - a body that is not `application/x-www-form-urlencoded` is 415, so a
///   `text/plain` form from another site never reaches a server function;
/// - a body over `MAX_REQUEST_BODY` is 413, whether it says its length or
///   streams it.
pub async fn shape_of_writes(request: Request, next: Next) -> Response {
    if is_safe_method(request.method()) {
        return next.run(request).await;
    }
    if is_upload(&request) {
        return next.run(request).await;
    }
    if !request.uri().path().starts_with("/api/") {
        let mut refused = unread_body(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        refused
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return refused;
    }
    let form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(FORM));
    if !form {
        return unread_body(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "server functions take application/x-www-form-urlencoded",
        );
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BODY) {
        return too_large();
    }
    if declared.is_none() {
        // Streamed: read it up to the limit here, where going over is
        // still a 413 (past this point it would surface as a bad request).
        let (parts, body) = request.into_parts();
        return match axum::body::to_bytes(body, MAX_REQUEST_BODY).await {
            Ok(bytes) => {
                next.run(Request::from_parts(parts, Body::from(bytes)))
                    .await
            }
            Err(_) => too_large(),
        };
    }
    next.run(request).await
}

const FORM: &str = "application/x-www-form-urlencoded";

/// An upload's bytes (`PUT /api/files/ID`, raw bytes of any length): the
/// one write that is not a form. Its size is the files service's to limit.
fn is_upload(request: &Request) -> bool {
    request.method() == Method::PUT
        && request.uri().path().starts_with("/api/files/")
        && request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("application/octet-stream"))
}

fn too_large() -> Response {
    unread_body(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
}

/// A refusal sent without reading the request's body: the connection
/// cannot carry another request after it (the rest of the body would be
/// read as one), so the answer says `Connection: close` and the client
/// opens a new one instead of reusing this.
fn unread_body(status: StatusCode, reason: &'static str) -> Response {
    closing((status, reason).into_response())
}

/// `refused`, marked as the last answer on its connection (see
/// `unread_body`; an upload refused mid-body is the other case).
pub fn closing(mut refused: Response) -> Response {
    refused
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    refused
}

/// CSRF defence for every state-changing request (Leptos server functions do
/// not check it themselves): refuse it when `Sec-Fetch-Site` says another
/// site sent it, or when its `Origin` is not ours. Requests with neither
/// header come from non-browser clients, which carry no ambient cookies.
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if is_safe_method(request.method()) {
        return next.run(request).await;
    }
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return forbidden("cross-site request refused");
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = origin
            .to_str()
            .is_ok_and(|o| state.config.origin_allowed(o));
        if !allowed {
            return forbidden("request from another origin refused");
        }
    }
    next.run(request).await
}

/// Leptos answers a server function whose arguments do not decode (a
/// missing or malformed field) with 500 before our code runs; the body is
/// already our `ApiError` (`BadRequest`), so the status is set from it here.
/// Errors from our own code carry their status already. Found by the fuzz
/// test (`tests/fuzz.rs`, an empty sign-up form).
pub async fn server_function_status(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_api || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 4096).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(err) = serde_json::from_slice::<ApiError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(err.status()) {
            parts.status = status;
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// An HTML page (a route, or the app's own not-found page).
pub fn is_page(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn forbidden(reason: &'static str) -> Response {
    (StatusCode::FORBIDDEN, reason).into_response()
}

/// For every response that is not a page (server functions, files,
/// `/health`): nothing may run or frame it.
const NON_PAGE_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

pub async fn security_headers(request: Request<Body>, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    // What is private is never stored by a browser or a proxy: server
    // function answers, `/health`, and every HTML page (a signed-in page
    // holds the user's chats). A file from the site root is kept as its
    // name allows (`build_files::caching_for`).
    let private = path.starts_with("/api/") || path == "/health" || is_page(&response);
    let file = matches!(response.status(), StatusCode::OK | StatusCode::NOT_MODIFIED);
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        if private {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        } else if file {
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(caching_for(&path)),
            );
            // Several encodings of one file share the address.
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(NON_PAGE_CSP),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
