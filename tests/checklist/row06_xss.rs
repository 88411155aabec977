//! Row 6, XSS in message rendering: no raw-HTML escape hatch anywhere in
//! the source, and a strict CSP with a fresh nonce on every page. In
//! Chromium: `end2end/tests/conversations.spec.ts` (markup sent as a
//! message shows literally and runs nothing) and
//! `end2end/tests/security.spec.ts` (an injected inline script is blocked).

use crate::common::{self, Backend, TestServer};
use crate::source::sources;

#[test]
fn no_raw_html_injection() {
    let needle = ["inner", "_html"].concat();
    for (path, text) in sources() {
        assert!(
            !text.contains(&needle),
            "{path} uses {needle}: message text must be rendered as text"
        );
    }
}

/// Pages carry a Content-Security-Policy with a fresh nonce per response
/// that Leptos's own inline scripts bear; nothing else inline may run,
/// nothing may frame the app. Other responses allow nothing at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_strict_csp_with_a_fresh_nonce() {
    let server = TestServer::start(Backend::Sqlite).await;
    let nonce_of = |reply: &common::Reply| -> String {
        let csp = reply
            .header("content-security-policy")
            .expect("a CSP header")
            .to_string();
        for needed in [
            "default-src 'self'",
            "'wasm-unsafe-eval'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(needed), "{needed} in {csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains(" 'unsafe-eval'"),
            "{csp}"
        );
        let start = csp.find("'nonce-").expect("a nonce") + "'nonce-".len();
        let nonce = csp[start..].split('\'').next().unwrap().to_string();
        assert!(nonce.len() >= 16, "{nonce}");
        // Every inline script of the page bears it.
        let scripts = reply.body.matches("<script").count();
        let with_nonce = reply.body.matches(&format!("nonce=\"{nonce}\"")).count();
        assert!(
            scripts > 0 && with_nonce >= scripts,
            "{scripts} scripts, {with_nonce} with the nonce"
        );
        nonce
    };
    let first = server.get("/login", None).await;
    let second = server.get("/login", None).await;
    assert_ne!(
        nonce_of(&first),
        nonce_of(&second),
        "a new nonce per response"
    );
    for reply in [&first, &second] {
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("referrer-policy"), Some("same-origin"));
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    }
    let health = server.get("/health", None).await;
    assert_eq!(
        health.header("content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
    server.stop().await;
}
