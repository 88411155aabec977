//! The pieces of the "dark glass" UI.

pub mod attachments;
pub mod auth_card;
pub mod canned_dialog;
pub mod canned_list;
pub mod chat_client;
pub mod composer;
pub mod copy_button;
pub mod crash_notice;
pub mod dialogs;
pub mod emoji_picker;
pub mod file_viewer;
pub mod markdown;
pub mod members;
pub mod mention_list;
pub mod message_pane;
pub mod message_row;
pub mod notify;
pub mod on_demand;
pub mod open_flags;
pub mod presence;
pub mod satisfaction;
pub mod search_panel;
pub mod sidebar;
pub mod support;
pub mod text;
pub mod widget_panel;
