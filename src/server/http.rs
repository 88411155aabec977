//! The axum router: Leptos pages and server functions, `/health`, static
//! files, and the request guards that Leptos does not provide itself.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::api::error::ApiError;
use crate::app::{shell, App};
use crate::server::state::AppState;

/// Server-function bodies are small forms; anything larger is refused early.
const MAX_REQUEST_BODY: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    Router::new()
        .route("/health", get(health))
        .route("/ws", get(crate::server::ws::upgrade))
        .leptos_routes_with_context(&state, routes, || provide_context(()), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            refuse_cross_site,
        ))
        .layer(middleware::from_fn(server_function_status))
        .layer(middleware::from_fn(security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BODY))
        .with_state(state)
}

/// `{"status":"ok","database":"ok","fanout":"listening"}`: 503 while the
/// database does not answer or (several nodes) this node cannot hear the
/// others, so a load balancer sends nobody here meanwhile.
async fn health(State(state): State<AppState>) -> Response {
    use crate::server::fanout::ListenerState;
    let database = match state.store.ping().await {
        Ok(()) => "ok",
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unavailable");
            "unavailable"
        }
    };
    let fanout = state.fanout.listener_state();
    let healthy =
        database == "ok" && matches!(fanout, ListenerState::SingleNode | ListenerState::Listening);
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "database": database,
        "fanout": fanout.as_str(),
    });
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// CSRF defence for every state-changing request (Leptos server functions do
/// not check it themselves): refuse it when `Sec-Fetch-Site` says another
/// site sent it, or when its `Origin` is not ours. Requests with neither
/// header come from non-browser clients, which carry no ambient cookies.
async fn refuse_cross_site(
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
async fn server_function_status(request: Request, next: Next) -> Response {
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

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn forbidden(reason: &'static str) -> Response {
    (StatusCode::FORBIDDEN, reason).into_response()
}

/// The Content-Security-Policy of an HTML page: scripts only from this
/// origin or inline with this response's nonce (Leptos puts it on the
/// hydration and resource scripts it writes), WebAssembly allowed to
/// compile, no plugins, no framing, forms and connections (the socket
/// included) to this origin only. Called while the page renders, when the
/// nonce Leptos made for this response is known.
pub fn set_page_csp() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// For every response that is not a page (server functions, files,
/// `/health`): nothing may run or frame it.
const NON_PAGE_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

async fn security_headers(request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
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
