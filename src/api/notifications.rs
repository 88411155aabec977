//! A person's notification settings: how long a message for them may wait
//! unread before it is emailed in a digest, and the devices pushes go to.

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::{EmailSettingsView, PushDeviceView, PushSettingsView};

#[cfg(feature = "ssr")]
use {
    super::edge::actor,
    crate::server::services::{digests, push},
};

/// Whether this server sends email, and the signed-in member's delay.
#[server(endpoint = "email/settings")]
pub async fn email_settings() -> Result<EmailSettingsView, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(digests::settings(&edge.state, actor.id).await)
}

/// Sets it: 0 (no emails), 15 or 60 minutes.
#[server(endpoint = "email/delay")]
pub async fn set_email_delay(minutes: i64) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(digests::set_delay(&edge.state, actor.id, minutes).await)
}

/// The server's push key, the signed-in member's devices and whether
/// pushes show message text.
#[server(endpoint = "push/settings")]
pub async fn push_settings() -> Result<PushSettingsView, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(push::settings(&edge.state, actor.id).await)
}

/// Turns pushes on for this browser: its subscription (endpoint and keys,
/// base64url) and a name for the device list.
#[server(endpoint = "push/subscribe")]
pub async fn subscribe_push(
    endpoint: String,
    p256dh: String,
    auth: String,
    label: String,
) -> Result<PushDeviceView, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(push::subscribe(&edge.state, actor.id, &endpoint, &p256dh, &auth, &label).await)
}

/// Removes one of the member's devices.
#[server(endpoint = "push/remove")]
pub async fn remove_push_device(id: i64) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(push::remove(&edge.state, actor.id, id).await)
}

/// Whether pushes may show the message's text.
#[server(endpoint = "push/previews")]
pub async fn set_push_previews(on: bool) -> Result<(), ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(push::set_previews(&edge.state, actor.id, on).await)
}
