//! The HTML page: the app's shell, rendered with its Content-Security-Policy.

use axum::http::{header, HeaderValue};
use leptos::config::LeptosOptions;
use leptos::prelude::IntoView;

use super::guards::is_page;
use crate::app::shell;

/// The app's HTML document with this response's CSP header: what the
/// router renders for every page (the app itself knows nothing of headers).
pub fn page(options: LeptosOptions) -> impl IntoView {
    set_page_csp();
    shell(options)
}

/// The Content-Security-Policy of an HTML page: scripts only from this
/// origin or inline with this response's nonce (Leptos puts it on the
/// hydration and resource scripts it writes), WebAssembly allowed to
/// compile, no plugins, no framing, forms and connections (the socket
/// included) to this origin only. Called while the page renders, when the
/// nonce Leptos made for this response is known (see `page`).
fn set_page_csp() {
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

/// A page the app sends elsewhere (a signed-out visitor at `/`, a
/// signed-in one at `/login`) is answered with a real 302 and no page.
/// Leptos sets the 302 only when the request's `Accept` names `text/html`
/// (a browser's does; curl's `*/*` and a prefetch's may not) and otherwise
/// renders the whole app beside a `Location` header, for its own client
/// to follow: right for a server function, wrong for a page.
pub async fn redirects_are_real(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::StatusCode;

    let is_page_request =
        request.method() == axum::http::Method::GET && !request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let sent_elsewhere = response.status() == StatusCode::OK
        && response.headers().contains_key(header::LOCATION)
        && is_page(&response);
    if !(is_page_request && sent_elsewhere) {
        return response;
    }
    // The same headers (the Location, any cookie), no page behind them.
    let (mut parts, _page) = response.into_parts();
    parts.status = StatusCode::FOUND;
    // (and Leptos's hint to its own client, which a page load does not read)
    for about_the_page in [
        header::CONTENT_LENGTH,
        header::CONTENT_TYPE,
        header::CONTENT_ENCODING,
        header::HeaderName::from_static("serverfnredirect"),
    ] {
        parts.headers.remove(about_the_page);
    }
    // Where a page sends you depends on your session.
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    axum::response::Response::from_parts(parts, axum::body::Body::empty())
}
