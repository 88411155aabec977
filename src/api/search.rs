//! Search over the asker's conversations (`services/search.rs` says what a
//! query means and who finds what).

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::SearchResults;

#[cfg(feature = "ssr")]
use {super::edge::actor, crate::server::services::search};

/// A page of messages matching `query`, newest first; `before`: the
/// `more` of the page before.
#[server(endpoint = "search")]
pub async fn search_messages(
    query: String,
    before: Option<i64>,
) -> Result<SearchResults, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(search::search(&edge.state, &actor, &query, before).await)
}
