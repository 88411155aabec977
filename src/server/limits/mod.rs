//! Budgets: how often someone may try something. `logins` decides who may
//! try a password now (on `failures`, a sliding log of failures per key);
//! `per_user` meters a user's sends and socket frames; `signups` new
//! accounts per address and in total; `resets` password reset requests
//! per email and per address.

pub mod failures;
pub mod logins;
pub mod per_user;
pub mod resets;
pub mod signups;
