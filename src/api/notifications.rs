//! A person's notification settings: how long a message for them may wait
//! unread before it is emailed in a digest.

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::EmailSettingsView;

#[cfg(feature = "ssr")]
use {super::edge::actor, crate::server::services::digests};

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
