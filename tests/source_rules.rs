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

/// `Leptos.toml` (read by the server at run time) must name the same output
/// and folders as Cargo.toml's metadata (what cargo-leptos builds).
#[test]
fn leptos_toml_agrees_with_the_build_settings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let value = |text: &str, key: &str| -> Option<String> {
        text.lines()
            .skip_while(|l| l.trim() != "[package.metadata.leptos]")
            .skip(1)
            .take_while(|l| !l.trim_start().starts_with('['))
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().trim_matches('"').to_string())
    };
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let leptos = std::fs::read_to_string(root.join("Leptos.toml")).unwrap();
    for key in ["output-name", "site-root", "site-pkg-dir"] {
        let built = value(&cargo, key);
        assert!(built.is_some(), "Cargo.toml sets {key}");
        assert_eq!(
            value(&leptos, key),
            built,
            "{key} differs between Leptos.toml and Cargo.toml"
        );
    }
}
