//! Rules about the source tree that a reviewer would otherwise check by eye
//! (the security ones are in tests/checklist: rows 2 and 6).

use std::path::Path;

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
