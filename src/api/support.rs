//! The support desk over HTTP: contacting a department, and the staff
//! actions on a conversation. Each takes the user from the session; the
//! rules (who is staff of which department) live in `server::support`.

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::{DepartmentView, StaffView, VisitorDetails};

#[cfg(feature = "ssr")]
use {super::edge::actor, crate::server::services::support};

/// Departments that take conversations.
#[server(endpoint = "support/departments")]
pub async fn departments() -> Result<Vec<DepartmentView>, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(support::departments(&edge.state, &actor).await)
}

/// Opens the user's one conversation with a department (created or reused);
/// returns its room.
#[server(endpoint = "support/contact")]
pub async fn contact(department: i64) -> Result<i64, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(support::contact(&edge.state, &actor, department).await)
}

/// Who may be assigned the conversation (staff of its department).
#[server(endpoint = "support/staff")]
pub async fn staff(room: i64) -> Result<Vec<StaffView>, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(support::staff(&edge.state, &actor, room).await)
}

#[server(endpoint = "support/claim")]
pub async fn claim(room: i64) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(support::claim(&edge.state, &actor, room).await)
}

#[server(endpoint = "support/assign")]
pub async fn assign(room: i64, agent: i64) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(support::assign(&edge.state, &actor, room, agent).await)
}

#[server(endpoint = "support/transfer")]
pub async fn transfer(room: i64, department: i64) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(support::transfer(&edge.state, &actor, room, department).await)
}

#[server(endpoint = "support/resolve")]
pub async fn resolve(room: i64) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(support::resolve(&edge.state, &actor, room).await)
}

#[server(endpoint = "support/reopen")]
pub async fn reopen(room: i64) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(support::reopen(&edge.state, &actor, room).await)
}

/// The conversation's internal notes room (staff of its department only),
/// made on first use; its `room_added` reaches every staff tab.
#[server(endpoint = "support/notes")]
pub async fn open_notes(room: i64) -> Result<i64, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(crate::server::services::notes::open(&edge.state, &actor, room).await)
}

/// "How did we do?": the conversation's member (or website visitor) rates
/// the resolution whose line is at seq `resolution`, 1 to 5, once, with an
/// optional comment.
#[server(endpoint = "support/rate")]
pub async fn rate(room: i64, resolution: i64, score: i64, comment: String) -> Result<(), ApiError> {
    let (edge, actor) = super::edge::participant().await?;
    edge.answer(
        crate::server::services::satisfaction::rate(
            &edge.state,
            &actor,
            room,
            resolution,
            score,
            &comment,
        )
        .await,
    )
}

/// Who the visitor of a website conversation is (staff of its department);
/// nothing when the customer is a member.
#[server(endpoint = "support/visitor")]
pub async fn visitor(room: i64) -> Result<Option<VisitorDetails>, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(crate::server::services::widget::details(&edge.state, &actor, room).await)
}
