//! Reusable pieces of the "dark glass" UI.

pub mod auth_card;
pub mod message_pane;
pub mod sidebar;
