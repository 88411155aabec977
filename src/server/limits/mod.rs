//! Budgets: how often someone may try something. `failures` counts failed
//! logins per address and per email; `sends` meters messages per user.

pub mod failures;
pub mod sends;
