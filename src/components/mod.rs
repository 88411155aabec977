//! Reusable pieces of the "dark glass" UI.

pub mod auth_card;
pub mod chat_client;
pub mod message_pane;
pub mod sidebar;
