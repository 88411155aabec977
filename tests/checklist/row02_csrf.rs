//! Row 2, CSRF on server functions: a cross-site `Sec-Fetch-Site` or a
//! foreign `Origin` is refused (403) on every mutation and nothing changes;
//! no server function can be reached by GET.

use crate::common::{Backend, TestServer};
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
