//! Uploads: a file is announced here (its name, size and room, and an
//! upload id the browser made), then its bytes go to `PUT /api/files/ID`
//! (`server/http/files.rs`), streamed. Announcing the same upload id again
//! says how far it got, so a cut upload resumes there.

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::UploadState;

#[cfg(feature = "ssr")]
use {super::edge::actor, crate::server::services::files};

/// Starts an upload of `size` bytes named `name` into `room` (or finds the
/// one started with `upload_id`): where it stands. Refused before a byte
/// is sent when the file is over the size limit or the user's quota.
#[server(endpoint = "start_upload")]
pub async fn start_upload(
    upload_id: String,
    room: i64,
    name: String,
    size: i64,
) -> Result<UploadState, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(files::start(&edge.state, actor.id, &upload_id, room, &name, size).await)
}
