//! The website widget's visitors: who they are and what they may reach.
//!
//! A visitor is an account of one site (`users.site_id`), signed in by a
//! session cookie of its own (`http::cookie::VISITOR`, partitioned to the
//! embedding site). Two ways in:
//! - **verified**: the site's backend signs an HS256 token (`sub`, `email`,
//!   `name`, `exp` at most an hour ahead) with the site's secret; one
//!   account per (site, `sub`), whatever the device or tab;
//! - **anonymous**, if the site allows it: a name and an email, kept in
//!   that browser (its cookie) only.
//!
//! A visitor reaches nothing but its own support conversations with the
//! site's departments: every other server function refuses its session
//! (`api::edge`), and its socket carries only the rooms it is a member of.

use std::net::IpAddr;
use std::time::Duration;

use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::accounts::{start_session, user_view, AuthError, SignedIn, SESSION_TTL};
use super::actor::Actor;
use super::support::{self, SupportError};
use crate::model::{DepartmentView, PanelSite, VisitorDetails, WidgetVisitor};
use crate::server::auth::token;
use crate::server::state::AppState;
use crate::server::store::{now_ms, NewVisitor, SiteRow, StoreError, UserRow};
use crate::validate::{self, Field};

/// The longest a token may still be valid for when it arrives.
pub const TOKEN_LIFETIME_MAX: Duration = Duration::from_secs(60 * 60);
/// Clock difference forgiven between the site's backend and this server.
const CLOCK_LEEWAY_SECS: u64 = 5;
/// A token longer than this is not read at all.
const TOKEN_BYTES_MAX: usize = 4096;
/// A verified visitor stays signed in this long after its last token (the
/// host gives a fresh one on each page it serves; a different person on
/// the same browser gives another `sub`, which replaces the session).
pub const VERIFIED_SESSION: Duration = Duration::from_secs(12 * 60 * 60);
/// The page and time zone a visitor reports are cut to these lengths.
const PAGE_MAX: usize = 2048;
const TIME_ZONE_MAX: usize = 64;
const EXTERNAL_ID_MAX: usize = 255;

#[derive(Debug, thiserror::Error)]
pub enum WidgetError {
    #[error("no such site, or not embedded from one of its origins")]
    NoSuchSite,
    #[error("the identity token is forged, expired, too long-lived or malformed")]
    IdentityRefused,
    #[error("the site lets in verified visitors only")]
    SignInOnSite,
    #[error("not a visitor of this site")]
    Forbidden,
    #[error("invalid input: {0:?}")]
    Invalid(Field),
    #[error("too many new visitors from this address, retry in {0:?}")]
    RateLimited(Duration),
    #[error("too many requests, retry in {0:?}")]
    SlowDown(Duration),
    #[error(transparent)]
    Support(#[from] SupportError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, WidgetError>;

/// Where a visitor is on the host site, as the widget's loader saw it.
#[derive(Debug, Clone, Default)]
pub struct Whereabouts {
    pub page: Option<String>,
    pub time_zone: Option<String>,
}

impl Whereabouts {
    pub fn new(page: &str, time_zone: &str) -> Whereabouts {
        Whereabouts {
            page: cut(page, PAGE_MAX).filter(|p| p.starts_with("http")),
            time_zone: cut(time_zone, TIME_ZONE_MAX),
        }
    }
}

fn cut(text: &str, max: usize) -> Option<String> {
    let text = text.trim();
    (!text.is_empty() && !text.chars().any(char::is_control))
        .then(|| text.chars().take(max).collect())
}

/// What a site's backend vouches for.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    email: String,
    name: String,
    exp: u64,
}

/// The site `key` when the widget is embedded by `host`, one of its origins.
pub async fn embedded(state: &AppState, key: &str, host: &str) -> Result<SiteRow> {
    // A key is URL-safe base64 (`sites::KEY_BYTES`); anything else is no
    // site, and never reaches the database (Postgres refuses a NUL in
    // text: found by the fuzz test).
    let plausible = (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !plausible {
        return Err(WidgetError::NoSuchSite);
    }
    let site = state
        .store
        .site_by_key(key)
        .await?
        .ok_or(WidgetError::NoSuchSite)?;
    if !site.allows(host) {
        return Err(WidgetError::NoSuchSite);
    }
    Ok(site)
}

/// The site's name, whether it lets anonymous visitors in, and its open
/// departments (the default first).
pub async fn site_info(state: &AppState, site: &SiteRow) -> Result<PanelSite> {
    let mut departments: Vec<DepartmentView> = Vec::new();
    for id in site.department_ids() {
        if let Some(d) = state.store.department(id).await? {
            if !d.archived {
                departments.push(d);
            }
        }
    }
    Ok(PanelSite {
        name: site.name.clone(),
        anonymous: site.anonymous,
        departments,
    })
}

/// Checks a token the site's backend signed and signs its visitor in:
/// found by (site, `sub`) or created once, name and email as the token
/// says now.
pub async fn identify(
    state: &AppState,
    ip: Option<IpAddr>,
    site: &SiteRow,
    token_text: &str,
    whereabouts: &Whereabouts,
) -> Result<SignedIn> {
    let claims = verified_claims(state, site, token_text)?;
    let name = validate::display_name(&claims.name).map_err(|_| WidgetError::IdentityRefused)?;
    let email = validate::email(&claims.email).map_err(|_| WidgetError::IdentityRefused)?;
    let user = match state.store.verified_visitor(site.id, &claims.sub).await? {
        Some(mut user) => {
            state.store.rename_visitor(user.id, &name, &email).await?;
            user.display_name = name;
            user
        }
        None => {
            state
                .signup_rate
                .check(ip)
                .map_err(WidgetError::RateLimited)?;
            let made = create(state, site, Some(&claims.sub), &name, &email, whereabouts).await;
            match made {
                Ok(user) => user,
                // Another tab made it a moment ago: one account.
                Err(WidgetError::Store(err)) if err.is_unique_violation() => state
                    .store
                    .verified_visitor(site.id, &claims.sub)
                    .await?
                    .ok_or(WidgetError::IdentityRefused)?,
                Err(err) => return Err(err),
            }
        }
    };
    seen_at(state, user.id, whereabouts).await?;
    let token = start_session(state, user.id, VERIFIED_SESSION).await?;
    Ok(SignedIn { user, token })
}

/// The token's claims if the site's secret signed it (HS256 only, the MAC
/// compared in constant time by the crate), it has not expired, and it
/// expires within `TOKEN_LIFETIME_MAX`.
fn verified_claims(state: &AppState, site: &SiteRow, token_text: &str) -> Result<Claims> {
    if token_text.len() > TOKEN_BYTES_MAX {
        return Err(WidgetError::IdentityRefused);
    }
    let secret = state
        .store
        .keys
        .open_site_secret(
            &site.public_key,
            site.secret_key_id,
            &site.secret_nonce,
            &site.secret,
        )
        .map_err(|err| {
            tracing::error!(site = site.id, error = %err, "site secret does not open");
            WidgetError::IdentityRefused
        })?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = CLOCK_LEEWAY_SECS;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let claims = decode::<Claims>(token_text, &DecodingKey::from_secret(&secret), &validation)
        .map_err(|err| {
            tracing::debug!(site = site.id, error = %err, "identity token refused");
            WidgetError::IdentityRefused
        })?
        .claims;
    let now_secs = (now_ms() / 1000).max(0) as u64;
    let too_long = claims.exp > now_secs + TOKEN_LIFETIME_MAX.as_secs() + CLOCK_LEEWAY_SECS;
    let sub_ok = !claims.sub.trim().is_empty()
        && claims.sub.len() <= EXTERNAL_ID_MAX
        && !claims.sub.chars().any(char::is_control);
    if too_long || !sub_ok {
        return Err(WidgetError::IdentityRefused);
    }
    Ok(claims)
}

/// An anonymous visitor, where the site allows them: a name and an email
/// they give, a new account each time (it lives in that browser's cookie).
pub async fn start_anonymous(
    state: &AppState,
    ip: Option<IpAddr>,
    site: &SiteRow,
    name: &str,
    email: &str,
    whereabouts: &Whereabouts,
) -> Result<SignedIn> {
    if !site.anonymous {
        return Err(WidgetError::SignInOnSite);
    }
    let name = validate::display_name(name).map_err(WidgetError::Invalid)?;
    let email = validate::email(email).map_err(WidgetError::Invalid)?;
    state
        .signup_rate
        .check(ip)
        .map_err(WidgetError::RateLimited)?;
    let user = create(state, site, None, &name, &email, whereabouts).await?;
    let token = start_session(state, user.id, SESSION_TTL).await?;
    Ok(SignedIn { user, token })
}

async fn create(
    state: &AppState,
    site: &SiteRow,
    external_id: Option<&str>,
    name: &str,
    email: &str,
    whereabouts: &Whereabouts,
) -> Result<UserRow> {
    // Unique and nobody's: the real address is the visitor's detail, so a
    // visitor never takes an email a member signs up with.
    let account_email = format!(
        "visitor-{}@site-{}.invalid",
        token::random_text(12).to_lowercase(),
        site.id
    );
    let user = state
        .store
        .create_visitor(&NewVisitor {
            site_id: site.id,
            external_id,
            name,
            email,
            account_email: &account_email,
            page: whereabouts.page.as_deref(),
            time_zone: whereabouts.time_zone.as_deref(),
            now: now_ms(),
        })
        .await?;
    tracing::info!(
        user_id = user.id,
        site = site.id,
        verified = external_id.is_some(),
        "visitor created"
    );
    Ok(user)
}

/// The signed-in visitor of `site`, or `Forbidden` (a member's session, or
/// another site's visitor).
pub async fn visitor_of(state: &AppState, user: &UserRow, site: &SiteRow) -> Result<WidgetVisitor> {
    if user.site_id != Some(site.id) {
        return Err(WidgetError::Forbidden);
    }
    let verified = state.store.visitor_verified(user.id).await?;
    Ok(visitor_view(user, verified))
}

/// What the panel is told about its visitor.
pub fn visitor_view(user: &UserRow, verified: bool) -> WidgetVisitor {
    WidgetVisitor {
        user: user_view(user),
        verified,
    }
}

/// The visitor's conversation with one of the site's departments: found
/// or started (the support desk's `contact`).
pub async fn open(
    state: &AppState,
    actor: &Actor,
    site: &SiteRow,
    department: i64,
    whereabouts: &Whereabouts,
) -> Result<i64> {
    if actor.site != Some(site.id) {
        return Err(WidgetError::Forbidden);
    }
    if !site.department_ids().contains(&department) {
        return Err(WidgetError::Forbidden);
    }
    state
        .lookup_limiter
        .check(actor.id)
        .map_err(WidgetError::SlowDown)?;
    seen_at(state, actor.id, whereabouts).await?;
    Ok(support::contact(state, actor, department).await?)
}

/// Messages waiting for the visitor, over all their conversations (the
/// launcher's badge before the panel is open).
pub async fn unread(state: &AppState, actor: &Actor, site: &SiteRow) -> Result<i64> {
    if actor.site != Some(site.id) {
        return Err(WidgetError::Forbidden);
    }
    Ok(state
        .store
        .rooms_of(actor.id)
        .await?
        .iter()
        .map(|room| room.unread)
        .sum())
}

async fn seen_at(state: &AppState, user: i64, whereabouts: &Whereabouts) -> Result<()> {
    if whereabouts.page.is_some() || whereabouts.time_zone.is_some() {
        state
            .store
            .visitor_seen_at(
                user,
                whereabouts.page.as_deref(),
                whereabouts.time_zone.as_deref(),
            )
            .await?;
    }
    Ok(())
}

/// What staff see about the visitor of a support conversation (its
/// department's staff only); `None` when the customer is a member.
pub async fn details(state: &AppState, actor: &Actor, room: i64) -> Result<Option<VisitorDetails>> {
    state
        .lookup_limiter
        .check(actor.id)
        .map_err(WidgetError::SlowDown)?;
    let support = state
        .store
        .support_of(room)
        .await?
        .ok_or(WidgetError::Forbidden)?;
    if actor.site.is_some()
        || support.support_user_id == actor.id
        || !state
            .store
            .is_staff(actor.id, support.department_id)
            .await?
    {
        return Err(WidgetError::Forbidden);
    }
    Ok(state.store.visitor_details(support.support_user_id).await?)
}
