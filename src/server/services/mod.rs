//! The rules of each domain, between the edge (`http`, `crate::api`) and the
//! store: each checks who asks and whether they may, changes the store, and
//! after the commit tells the sockets (`publish`). One module per domain.

pub mod accounts;
pub mod actor;
pub mod admin;
pub mod audit;
pub mod bench_seed;
pub mod canned;
pub mod changes;
pub mod conversations;
pub mod digests;
pub mod emoji;
pub mod export;
pub mod files;
pub mod keys;
pub mod lifecycle;
pub mod mentions;
pub mod messages;
pub mod notes;
pub mod operator;
pub mod password_reset;
pub mod presence;
pub mod publish;
pub mod push;
pub mod receipts;
pub mod registration;
pub mod reports;
pub mod retention;
pub mod satisfaction;
pub mod search;
pub mod sites;
pub mod sso;
pub mod support;
pub mod transfer;
pub mod widget;
