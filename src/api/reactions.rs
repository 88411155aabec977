//! The reaction picker's data. Reactions themselves are socket frames
//! (`react`), kept in the room's sequence like messages.

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::EmojiGroup;

#[cfg(feature = "ssr")]
use {super::edge::participant, crate::server::services::emoji};

/// Unicode's emoji by group, with names to search, for the picker (fetched
/// when it first opens, so none of it weighs on the page's first load).
#[server(endpoint = "emoji")]
pub async fn emoji_catalog() -> Result<Vec<EmojiGroup>, ApiError> {
    participant().await?;
    Ok(emoji::catalog().to_vec())
}
