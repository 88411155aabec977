//! Rules about the source itself that a reviewer would otherwise check by eye
//! (security checklist rows 2 and 6).

use std::path::Path;

fn rust_sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let mut out = Vec::new();
    rust_sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    assert!(out.len() > 10, "found the sources");
    out
}

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
