//! Websites that embed the chat widget, as admins manage them: the exact
//! origins that may embed it, the departments its visitors reach, whether
//! anonymous visitors are let in, and the identity secret (made here,
//! shown once, kept sealed; see `widget` for how it is used).

use super::accounts::close_sockets_of;
use super::actor::Actor;
use super::audit::{self, Who};
use crate::model::{Role, SiteSecret, SiteView};
use crate::realtime::protocol::close;
use crate::server::auth::token;
use crate::server::crypto::OpenError;
use crate::server::state::AppState;
use crate::server::store::{now_ms, SiteRow, SiteSettings, StoreError};
use crate::validate::{self, Field};

/// Random bytes of a site's public key (the snippet's `data-site`).
const KEY_BYTES: usize = 12;
/// Random bytes of an identity secret: 256 bits, HS256's full strength.
const SECRET_BYTES: usize = 32;
/// At most this many departments offered on one site.
const DEPARTMENTS_MAX: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("admins only")]
    Forbidden,
    #[error("no such site")]
    NotFound,
    #[error("invalid input: {0:?}")]
    Invalid(Field),
    #[error("the secret cannot be sealed: {0}")]
    Seal(#[from] OpenError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, SiteError>;

/// What an admin typed for a site.
pub struct SiteForm<'a> {
    pub name: &'a str,
    pub origins: &'a str,
    pub departments: &'a [i64],
    pub anonymous: bool,
}

pub async fn list(state: &AppState, actor: &Actor) -> Result<Vec<SiteView>> {
    require_admin(actor)?;
    Ok(state
        .store
        .sites()
        .await?
        .iter()
        .map(SiteRow::view)
        .collect())
}

/// A new site with a new secret, shown this once.
pub async fn create(state: &AppState, actor: &Actor, form: SiteForm<'_>) -> Result<SiteSecret> {
    require_admin(actor)?;
    let checked = Checked::of(state, &form).await?;
    let key = token::random_text(KEY_BYTES);
    let secret = token::random_text(SECRET_BYTES);
    let sealed = state.store.keys.seal_site_secret(&key, secret.as_bytes())?;
    let site = state
        .store
        .create_site(&key, &checked.settings(), &sealed, now_ms())
        .await?;
    audit::record(
        &state.store,
        &Who::from(actor),
        "site.created",
        &site.name,
        "",
    )
    .await;
    tracing::info!(by = actor.id, site = site.id, "site created");
    Ok(SiteSecret {
        site: site.view(),
        secret,
    })
}

pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: i64,
    form: SiteForm<'_>,
) -> Result<SiteView> {
    require_admin(actor)?;
    let checked = Checked::of(state, &form).await?;
    let site = state
        .store
        .update_site(id, &checked.settings())
        .await?
        .ok_or(SiteError::NotFound)?;
    if !site.anonymous {
        // Verified only from now on: no anonymous visitor stays in.
        let ended = state.store.delete_anonymous_visitor_sessions(id).await?;
        close_sockets_of(state, &ended, close::UNAUTHORIZED);
    }
    audit::record(
        &state.store,
        &Who::from(actor),
        "site.changed",
        &site.name,
        "",
    )
    .await;
    tracing::info!(by = actor.id, site = id, "site changed");
    Ok(site.view())
}

/// A new identity secret; tokens signed with the old one stop working.
pub async fn rotate_secret(state: &AppState, actor: &Actor, id: i64) -> Result<SiteSecret> {
    require_admin(actor)?;
    let site = state.store.site(id).await?.ok_or(SiteError::NotFound)?;
    let secret = token::random_text(SECRET_BYTES);
    let sealed = state
        .store
        .keys
        .seal_site_secret(&site.public_key, secret.as_bytes())?;
    state.store.set_site_secret(id, &sealed).await?;
    audit::record(
        &state.store,
        &Who::from(actor),
        "site.secret_rotated",
        &site.name,
        "",
    )
    .await;
    tracing::info!(by = actor.id, site = id, "site secret rotated");
    Ok(SiteSecret {
        site: site.view(),
        secret,
    })
}

/// A site's form, checked: every department exists and takes
/// conversations.
struct Checked {
    name: String,
    origins: Vec<String>,
    departments: Vec<i64>,
    anonymous: bool,
}

impl Checked {
    async fn of(state: &AppState, form: &SiteForm<'_>) -> Result<Checked> {
        let name = validate::site_name(form.name).map_err(SiteError::Invalid)?;
        let origins = validate::site_origins(form.origins).map_err(SiteError::Invalid)?;
        let mut departments: Vec<i64> = Vec::with_capacity(form.departments.len());
        for id in form.departments {
            if departments.contains(id) {
                continue;
            }
            match state.store.department(*id).await? {
                Some(d) if !d.archived => departments.push(*id),
                _ => return Err(SiteError::Invalid(Field::SiteDepartments)),
            }
        }
        if departments.is_empty() || departments.len() > DEPARTMENTS_MAX {
            return Err(SiteError::Invalid(Field::SiteDepartments));
        }
        Ok(Checked {
            name,
            origins,
            departments,
            anonymous: form.anonymous,
        })
    }

    fn settings(&self) -> SiteSettings<'_> {
        SiteSettings {
            name: &self.name,
            origins: &self.origins,
            departments: &self.departments,
            anonymous: self.anonymous,
        }
    }
}

fn require_admin(actor: &Actor) -> Result<()> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(SiteError::Forbidden)
    }
}
