//! The HTML page: the app's shell, rendered with its Content-Security-Policy.

use axum::http::{header, HeaderValue};
use leptos::config::LeptosOptions;
use leptos::prelude::IntoView;

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
