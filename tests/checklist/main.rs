//! The attack checklist (`../shared/security-checklist.md`), one module per
//! row, in its order: each proves its row's defence against the real binary,
//! on SQLite and on Postgres (`cargo test --features ssr --test checklist`
//! prints the list to tick). Rows about the browser also have a Chromium
//! spec, named in each module's comment; SECURITY.md says the same in prose.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;
mod source;

mod row01_websocket_hijacking;
mod row02_csrf;
mod row03_session_fixation;
mod row04_password_storage;
mod row05_brute_force;
mod row06_xss;
mod row07_authorization;
mod row08_oversized_input;
mod row09_slow_consumer;
mod row10_encryption;
mod row11_revoked_sessions;
