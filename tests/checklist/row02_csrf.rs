//! Row 2, CSRF on server functions: a cross-site `Sec-Fetch-Site` or a
//! foreign `Origin` is refused (403) on every mutation and nothing changes;
//! no server function can be reached by GET.

use crate::common::{self, Backend, TestServer};
use crate::source::sources;

const PW: &str = "correct horse battery";

async fn cross_site_mutations_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let form = [
        ("email", "ada@example.com"),
        ("display_name", "Ada"),
        ("password", PW),
    ];
    let evil_origin = server
        .post_form_with(
            "/api/signup",
            &form,
            None,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(evil_origin.status, 403);
    let cross_site = server
        .post_form_with(
            "/api/signup",
            &form,
            None,
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross_site.status, 403);
    let null_origin = server
        .post_form_with("/api/signup", &form, None, &[("origin", "null")])
        .await;
    assert_eq!(null_origin.status, 403);

    // Nothing was created: the same-origin sign-up is the first, so admin.
    let origin = server.base.clone();
    let same = server
        .post_form_with(
            "/api/signup",
            &form,
            None,
            &[("origin", &origin), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(same.status, 200, "{}", same.body);
    assert_eq!(same.json()["role"], "admin");

    // A GET never reaches a mutation.
    let get = server.get("/api/logout", Some(&same.session())).await;
    assert_ne!(get.status, 200);
    assert_eq!(server.me(&same.session()).await["email"], "ada@example.com");
    server.stop().await;
}
both_backends!(cross_site_mutations_are_refused);

#[test]
fn no_server_function_uses_a_get_encoding() {
    for (path, text) in sources() {
        for needle in ["GetUrl", "input = Get", "input=Get"] {
            assert!(
                !text.contains(needle),
                "{path} uses {needle}: mutations must never be reachable by GET"
            );
        }
    }
}

/// Defence in depth behind the Origin check: only server functions take
/// writes, and only in their form encoding. A `text/plain` body (what a
/// cross-site `<form enctype=text/plain>` sends) is refused with 415 before
/// any work; a write to a page or a build file is 405.
async fn writes_in_other_encodings_or_to_files_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ada = server.user("ada@example.com").await;
    let room = server.group(&ada, "Plans", &[]).await;
    let body = format!("room={room}&name=Hijacked");
    for content_type in [
        Some("text/plain"),
        Some("application/json"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut request = server
            .client
            .post(server.url("/api/rooms/rename"))
            .header("cookie", format!("glasschat_session={ada}"))
            .body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let reply = common::Reply::from(request.send().await.expect("an answer")).await;
        assert_eq!(reply.status, 415, "{content_type:?}: {}", reply.body);
    }
    let me = server.me(&ada).await;
    assert_eq!(me["email"], "ada@example.com");
    let history = server.all_messages(&ada, room).await;
    assert!(history.is_empty(), "never renamed: {history:?}");

    for (method, path) in [
        (reqwest::Method::POST, "/"),
        (reqwest::Method::PUT, "/pkg/glasschat.js"),
        (reqwest::Method::DELETE, "/login"),
        (reqwest::Method::PATCH, "/favicon.ico"),
    ] {
        let reply = server
            .client
            .request(method.clone(), server.url(path))
            .header("cookie", format!("glasschat_session={ada}"))
            .send()
            .await
            .expect("an answer");
        assert_eq!(reply.status().as_u16(), 405, "{method} {path}");
        assert_eq!(
            reply.headers().get("allow").and_then(|v| v.to_str().ok()),
            Some("GET, HEAD")
        );
    }
    server.stop().await;
}
both_backends!(writes_in_other_encodings_or_to_files_are_refused);
