//! Canned replies over HTTP: a department's ready answers, for its staff.

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::CannedReply;

#[cfg(feature = "ssr")]
use {super::edge::actor, crate::server::services::canned};

/// The canned replies of support conversation `room`'s department.
#[server(endpoint = "canned")]
pub async fn canned_replies(room: i64) -> Result<Vec<CannedReply>, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(canned::for_room(&edge.state, &actor, room).await)
}

/// A new canned reply of `department`; its id.
#[server(endpoint = "canned/create")]
pub async fn create_canned(department: i64, title: String, body: String) -> Result<i64, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(canned::create(&edge.state, &actor, department, &title, &body).await)
}

#[server(endpoint = "canned/update")]
pub async fn update_canned(id: i64, title: String, body: String) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(canned::update(&edge.state, &actor, id, &title, &body).await)
}

#[server(endpoint = "canned/delete")]
pub async fn delete_canned(id: i64) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(canned::delete(&edge.state, &actor, id).await)
}
