//! Rules about the source tree that a reviewer would otherwise check by eye
//! (the security ones are in tests/checklist: rows 2 and 6): which way the
//! layers may depend on each other (docs/architecture.md states them), that
//! no modules import each other in a circle, and that SQL stays in the store.

#[path = "checklist/source.rs"]
mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use source::sources;

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

/// A source file as the rules read it: its module path (`server::services::
/// messages`), and its code without comments or its unit-test module (a
/// test may reach anywhere).
struct Module {
    file: String,
    path: String,
    code: String,
}

fn modules() -> Vec<Module> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    sources()
        .into_iter()
        .filter_map(|(file, text)| {
            let relative = Path::new(&file).strip_prefix(&src).ok()?;
            let relative = relative.to_string_lossy().replace('\\', "/");
            if relative.starts_with("bin/") || relative == "main.rs" {
                return None; // binaries: crates of their own
            }
            let path = relative
                .trim_end_matches(".rs")
                .trim_end_matches("/mod")
                .trim_end_matches("lib")
                .replace('/', "::");
            Some(Module {
                file: relative,
                path,
                code: code_of(&text),
            })
        })
        .collect()
}

/// The text without `//` comments and without the `#[cfg(test)] mod tests`
/// module at the end of a file.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            // Not a comment when it is inside a string ("http://…").
            Some(at) if line[..at].matches('"').count() % 2 == 0 => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn files_under<'m>(modules: &'m [Module], folder: &str) -> impl Iterator<Item = &'m Module> {
    let folder = folder.to_string();
    modules.iter().filter(move |m| m.file.starts_with(&folder))
}

/// Fails with every file under `folder` that names one of `forbidden`.
fn refuse(modules: &[Module], folder: &str, forbidden: &[&str], why: &str) {
    let mut found = Vec::new();
    for module in files_under(modules, folder) {
        for path in forbidden {
            if module.code.contains(path) {
                found.push(format!("{} uses {path}", module.file));
            }
        }
    }
    assert!(found.is_empty(), "{why}:\n{}", found.join("\n"));
}

#[test]
fn the_store_knows_nothing_above_it() {
    let modules = modules();
    assert!(files_under(&modules, "server/store/").count() > 5);
    refuse(
        &modules,
        "server/store/",
        &[
            "crate::server::services",
            "crate::server::http",
            "crate::server::cluster",
            "crate::server::state",
            "crate::realtime::hub",
            "crate::api",
            "crate::app",
        ],
        "server/store holds SQL only: services, the hub and the edge call it, never the reverse",
    );
}

#[test]
fn services_never_call_up_into_the_edge() {
    refuse(
        &modules(),
        "server/services/",
        &["crate::server::http", "crate::api", "crate::app"],
        "services are called by the edge (server/http, src/api), never the reverse",
    );
}

#[test]
fn the_cluster_and_the_building_blocks_call_no_service() {
    let modules = modules();
    let above = [
        "crate::server::services",
        "crate::server::http",
        "crate::server::state",
        "crate::api",
        "crate::app",
    ];
    for folder in [
        "server/cluster/",
        "server/crypto",
        "server/auth/",
        "server/limits/",
        "server/config",
        "server/metrics",
        "server/oidc",
        "server/mail",
        "server/webpush",
    ] {
        refuse(
            &modules,
            folder,
            &above,
            "the cross-node fan-out and the building blocks are called by services",
        );
    }
    refuse(
        &modules,
        "server/crypto",
        &["crate::server::store"],
        "the cipher is below the store, which seals and opens rows with it",
    );
}

#[test]
fn shared_and_client_code_never_reaches_into_the_server() {
    let modules = modules();
    refuse(
        &modules,
        "realtime/protocol.rs",
        &["crate::server", "crate::components", "crate::app"],
        "the protocol is shared by both builds and depends on nothing above it",
    );
    refuse(
        &modules,
        "components/",
        &["crate::server", "crate::app"],
        "components are UI: they call server functions (src/api), never the server",
    );
    refuse(
        &modules,
        "realtime/",
        &["crate::components", "crate::app", "crate::api"],
        "the realtime layer is below the components that use it",
    );
    for shared in ["model.rs", "validate.rs"] {
        refuse(
            &modules,
            shared,
            &[
                "crate::server",
                "crate::api",
                "crate::components",
                "crate::app",
            ],
            "the shared types and input rules depend on nothing above them",
        );
    }
}

/// Anything that reads like SQL: a statement keyword inside a string, or a
/// database call.
fn looks_like_sql(code: &str) -> Vec<String> {
    let statements = [
        "INSERT INTO",
        "DELETE FROM",
        "CREATE TABLE",
        "CREATE INDEX",
        "ALTER TABLE",
        "pg_notify",
        "set_config(",
        "sqlx::query",
        "query_as(",
        "query_scalar(",
        "rusqlite::",
    ];
    let mut found = Vec::new();
    for (number, line) in code.lines().enumerate() {
        let mut hit = statements.iter().find(|s| line.contains(**s)).copied();
        // SELECT … FROM and UPDATE … SET inside one string literal.
        for (keyword, then) in [("SELECT ", " FROM "), ("UPDATE ", " SET ")] {
            for literal in line.split('"').skip(1).step_by(2) {
                if literal.contains(keyword) && literal.contains(then) {
                    hit = Some(keyword.trim());
                }
            }
        }
        if let Some(what) = hit {
            found.push(format!("line {}: {what}", number + 1));
        }
    }
    found
}

#[test]
fn sql_lives_only_in_the_store() {
    let modules = modules();
    let mut found = Vec::new();
    for module in &modules {
        if module.file.starts_with("server/store/") {
            continue;
        }
        for hit in looks_like_sql(&module.code) {
            found.push(format!("{}: {hit}", module.file));
        }
    }
    assert!(
        found.is_empty(),
        "SQL belongs in src/server/store, not:\n{}",
        found.join("\n")
    );
    // The detector itself finds what it must.
    let store_sql: usize = files_under(&modules, "server/store/")
        .map(|m| looks_like_sql(&m.code).len())
        .sum();
    assert!(
        store_sql > 20,
        "the store's SQL is seen ({store_sql} lines)"
    );
    assert_eq!(
        looks_like_sql(r#"let s = "SELECT id FROM users"; sqlx::query(s)"#).len(),
        1
    );
    assert!(looks_like_sql(r#"<select class=SELECT on:change=f>"#).is_empty());
}

/// Which modules each module names (`crate::a::b`, `super::x`), resolved to
/// the longest module path that exists. A module's own descendants are left
/// out: a folder's `mod.rs` declares and re-exports its children, which is
/// how a folder presents one face, not a dependency between two roles.
fn dependencies(modules: &[Module]) -> BTreeMap<String, BTreeSet<String>> {
    let known: BTreeSet<&str> = modules.iter().map(|m| m.path.as_str()).collect();
    let resolve = |segments: &[&str]| -> Option<String> {
        (1..=segments.len())
            .rev()
            .map(|n| segments[..n].join("::"))
            .find(|candidate| known.contains(candidate.as_str()))
    };
    let mut graph = BTreeMap::new();
    for module in modules {
        let own: Vec<&str> = module.path.split("::").filter(|s| !s.is_empty()).collect();
        let mut named = BTreeSet::new();
        for (at, _) in module.code.match_indices("crate::") {
            named.extend(resolve(&path_at(&module.code[at + "crate::".len()..])));
        }
        for (at, _) in module.code.match_indices("super::") {
            if module.code[..at].ends_with("super::") {
                continue; // the rest of a super::super:: chain
            }
            // Each `super` is one level up from this module.
            let mut rest = &module.code[at..];
            let mut up = 0;
            while let Some(after) = rest.strip_prefix("super::") {
                rest = after;
                up += 1;
            }
            let mut segments: Vec<&str> = own[..own.len().saturating_sub(up)].to_vec();
            segments.extend(path_at(rest));
            named.extend(resolve(&segments));
        }
        let below = format!("{}::", module.path);
        named.retain(|target: &String| target != &module.path && !target.starts_with(&below));
        graph.insert(module.path.clone(), named);
    }
    graph
}

/// The `a::b::c` path at the start of `text`; a `{…}` group ends it.
fn path_at(text: &str) -> Vec<&str> {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(text.len());
    text[..end].split("::").filter(|s| !s.is_empty()).collect()
}

/// Every circle of modules that name each other, found with Tarjan's
/// strongly connected components.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, node: &'g str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            let graph = self.graph;
            for next in graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut part = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    part.push(top.to_string());
                    if top == node {
                        break;
                    }
                }
                if part.len() > 1 {
                    part.sort();
                    self.found.push(part);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found
}

#[test]
fn no_modules_import_each_other_in_a_circle() {
    let graph = dependencies(&modules());
    // The resolver sees the edges it must (a file's sibling through
    // `super::`, a module anywhere through `crate::`).
    let edges = |from: &str| graph.get(from).cloned().unwrap_or_default();
    assert!(edges("realtime::hub").contains("realtime::queue"));
    assert!(edges("server::services::messages").contains("server::services::publish"));
    assert!(edges("server::services::messages").contains("realtime::hub"));
    assert!(edges("server::store::writer::sqlite").contains("server::store::writer::jobs"));
    let found = circles(&graph);
    assert!(
        found.is_empty(),
        "modules that depend on each other in a circle (put the shared piece in the \
         lower one, or pass a callback down):\n{}",
        found
            .iter()
            .map(|c| c.join(" <-> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The finder itself sees a circle.
    let mut toy = BTreeMap::new();
    toy.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    toy.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    toy.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(circles(&toy), vec![vec!["a".to_string(), "b".to_string()]]);
}

/// Every browser spec takes `test` from `end2end/tests/fixtures.ts`, whose
/// crash guard fails a test on any page error or panic: a spec that took it
/// from Playwright directly would let a crash pass unseen.
#[test]
fn every_browser_spec_runs_under_the_crash_guard() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("end2end/tests");
    let mut specs = 0;
    for entry in std::fs::read_dir(&folder).expect("end2end/tests") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.ends_with(".spec.ts") {
            continue;
        }
        specs += 1;
        let text = std::fs::read_to_string(&path).expect("spec");
        assert!(
            text.contains("import { test, expect } from \"./fixtures\";"),
            "{name} must import test and expect from ./fixtures"
        );
        for line in text
            .lines()
            .filter(|l| l.contains("from \"@playwright/test\""))
        {
            assert!(
                line.starts_with("import type "),
                "{name}: only types may come from @playwright/test: {line}"
            );
        }
    }
    assert!(specs >= 8, "found {specs} specs");
}

/// Browser timers in components run in the browser only: on the server,
/// leptos's `set_timeout` reaches wasm-bindgen, whose non-wasm stub panics
/// in a function that cannot unwind, and the whole server aborts while it
/// renders the page (found when `/c/ROOM` was first rendered on the server).
#[test]
fn browser_timers_are_behind_the_hydrate_feature() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut bad = Vec::new();
    for folder in ["src/components", "src/app"] {
        for entry in std::fs::read_dir(root.join(folder)).expect("folder") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("source");
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let timer = [
                    "set_timeout(",
                    "set_interval(",
                    "set_timeout_with_handle(",
                    "set_interval_with_handle(",
                ]
                .iter()
                .any(|t| line.contains(t));
                let gated = lines[i.saturating_sub(2)..i]
                    .iter()
                    .any(|l| l.contains("#[cfg(feature = \"hydrate\")]"));
                if timer && !gated && !line.trim_start().starts_with("//") {
                    bad.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "timers outside #[cfg(feature = \"hydrate\")]:\n{}",
        bad.join("\n")
    );
}

/// What a frame or a timer runs later may find its component gone (another
/// conversation opened within the frame), and a plain read of a disposed
/// signal or node reference panics and stops the app: such closures read
/// with `try_` (found as a panic on a quick Back and Forward).
#[test]
fn deferred_closures_read_signals_only_with_try() {
    let modules = modules();
    let deferred = [
        "request_animation_frame(",
        "set_timeout(",
        "set_interval(",
        "set_timeout_with_handle(",
        "set_interval_with_handle(",
    ];
    let plain_reads = [
        ".get()",
        ".get_untracked()",
        ".with(",
        ".with_untracked(",
        ".read()",
        ".read_untracked()",
    ];
    let mut bad = Vec::new();
    for module in files_under(&modules, "components/").chain(files_under(&modules, "app/")) {
        for call in deferred {
            for (at, _) in module.code.match_indices(call) {
                let body = call_arguments(&module.code[at + call.len()..]);
                for read in plain_reads {
                    if body.contains(read) {
                        let line = module.code[..at].lines().count() + 1;
                        bad.push(format!("{}:{line}: {call}…{read}", module.file));
                    }
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "a deferred closure reads a signal without try_:\n{}",
        bad.join("\n")
    );
}

/// The text up to the parenthesis that closes the one just opened.
fn call_arguments(after_open: &str) -> &str {
    let mut depth = 1;
    for (i, c) in after_open.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &after_open[..i];
                }
            }
            _ => {}
        }
    }
    after_open
}
