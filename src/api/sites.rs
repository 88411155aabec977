//! Websites that embed the chat widget, for the admin page (admins only).
//! `departments` are comma-separated ids, the default first.

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::{SiteSecret, SiteView};

#[cfg(feature = "ssr")]
use {
    super::edge::actor,
    crate::server::services::sites::{self, SiteForm},
};

#[server(endpoint = "sites")]
pub async fn sites() -> Result<Vec<SiteView>, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(sites::list(&edge.state, &actor).await)
}

/// A new site; its identity secret is in the answer, and only there.
#[server(endpoint = "sites/create")]
pub async fn create_site(
    name: String,
    origins: String,
    departments: String,
    anonymous: bool,
) -> Result<SiteSecret, ApiError> {
    let (edge, actor) = actor().await?;
    let departments = crate::validate::id_list(&departments)
        .ok_or_else(|| edge.fail(ApiError::BadRequest, "/admin"))?;
    let form = SiteForm {
        name: &name,
        origins: &origins,
        departments: &departments,
        anonymous,
    };
    edge.answer(sites::create(&edge.state, &actor, form).await)
}

#[server(endpoint = "sites/update")]
pub async fn update_site(
    id: i64,
    name: String,
    origins: String,
    departments: String,
    anonymous: bool,
) -> Result<SiteView, ApiError> {
    let (edge, actor) = actor().await?;
    let departments = crate::validate::id_list(&departments)
        .ok_or_else(|| edge.fail(ApiError::BadRequest, "/admin"))?;
    let form = SiteForm {
        name: &name,
        origins: &origins,
        departments: &departments,
        anonymous,
    };
    edge.answer(sites::update(&edge.state, &actor, id, form).await)
}

/// A new identity secret for the site, shown once; the old one stops working.
#[server(endpoint = "sites/rotate")]
pub async fn rotate_site_secret(id: i64) -> Result<SiteSecret, ApiError> {
    let (edge, actor) = actor().await?;
    edge.answer(sites::rotate_secret(&edge.state, &actor, id).await)
}
