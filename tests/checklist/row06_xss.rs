//! Row 6, XSS in message rendering: no raw-HTML escape hatch anywhere in
//! the source, and a strict CSP with a fresh nonce on every page. In
//! Chromium: `end2end/tests/conversations.spec.ts` (markup sent as a
//! message shows literally and runs nothing) and
//! `end2end/tests/security.spec.ts` (an injected inline script is blocked);
//! Markdown in messages: `end2end/tests/markdown.spec.ts`.

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

/// Markdown draws links only to http(s) and mailto addresses, shows HTML
/// as text, never loads an image, and cuts nesting: checked on the HTML the
/// message renderer produces (the same code draws it in the browser).
#[test]
fn markdown_renders_no_markup_no_script_links_and_no_deep_nesting() {
    use glasschat::components::markdown;
    use leptos::prelude::*;

    let html = |body: &str| Owner::new().with(|| markdown::render(body, &[]).to_html());
    // A display name is someone's own text too: marked as a mention, it
    // is still text.
    let named = "<img src=x onerror=alert(1)>";
    let out = Owner::new()
        .with(|| markdown::render(&format!("hi @{named}"), &[(named.to_string(), true)]).to_html());
    assert!(out.contains("mention-me"), "{out}");
    assert!(!out.contains("<img"), "{out}");
    for hostile in [
        "[click](javascript:alert(document.cookie))",
        "[click](JAVASCRIPT:alert(1))",
        "[click](  javascript:alert(1))",
        "[click](<java\nscript:alert(1)>)",
        "[click](java&#x09;script:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](vbscript:msgbox(1))",
        "[click](file:///etc/passwd)",
        "<javascript:alert(1)>",
        "![x](javascript:alert(1))",
        "[**nested [link](javascript:alert(1))**](https://example.com)",
    ] {
        let out = html(hostile);
        // The address may show as text; it is never a link, nor a picture.
        assert!(
            !out.contains("<img") && !out.contains("<script"),
            "{hostile} rendered {out}"
        );
        for href in out.split("href=\"").skip(1) {
            assert!(
                href.starts_with("https://")
                    || href.starts_with("http://")
                    || href.starts_with("mailto:"),
                "{hostile} rendered {out}"
            );
        }
    }
    for markup in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "**<svg onload=alert(1)>**",
        "```\n<script>alert(1)</script>\n```",
    ] {
        let out = html(markup);
        assert!(
            !out.contains("<script")
                && !out.contains("<img")
                && !out.contains("<svg")
                && !out.contains("<a href=\"javascript"),
            "{markup} rendered {out}"
        );
        assert!(out.contains("&lt;"), "{markup} shown as text: {out}");
    }
    // Ten thousand levels of quotes, emphasis and lists: drawn to a bounded
    // depth, the text kept.
    for deep in [
        format!("{}deep", "> ".repeat(10_000)),
        format!("{}deep{}", "*".repeat(10_000), "*".repeat(10_000)),
        format!("{}deep", "- ".repeat(10_000)),
        format!(
            "{}deep{}",
            "[".repeat(5_000),
            "](https://x.io)".repeat(5_000)
        ),
    ] {
        let out = html(&deep);
        assert!(out.contains("deep"), "the text survives");
        let opened = out.matches("<blockquote").count()
            + out.matches("<ul").count()
            + out.matches("<em").count()
            + out.matches("<strong").count();
        assert!(opened <= markdown::MAX_DEPTH * 2, "{opened} containers");
    }
    // And the everyday elements do render.
    let out = html("**b** *i* ~~s~~ `c` [l](https://example.com)\n\n> q\n\n- x");
    for element in [
        "<strong>",
        "<em>",
        "<del>",
        "<code",
        "href=\"https://example.com\"",
        "<blockquote",
        "<li>",
    ] {
        assert!(out.contains(element), "{element} in {out}");
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
