//! Single sign-on with the organisation's OpenID Provider (OpenID Connect,
//! the authorization code flow with PKCE): "Sign in with …" on the login
//! page starts it (`start`), the provider sends the browser back with a
//! code (`finish`). The provider's metadata and keys come from its
//! discovery document; the ID token is checked by the `openidconnect`
//! crate (signature against the provider's keys, issuer, audience,
//! expiry, nonce). A `state` works once, for ten minutes, and only in the
//! browser that started it (a cookie bound to it), so a callback link
//! replayed or sent to someone else opens nothing.
//!
//! Accounts are found by the provider's subject; on a first sign-in an
//! account with the same (verified) email is linked if admins allow it,
//! and otherwise a new account is made: the provider decides who belongs,
//! so the sign-up rule does not apply. Admins may turn password sign-in
//! off, leaving the provider as the one way in.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::accounts::{self, SignedIn, SESSION_TTL};
use super::actor::Actor;
use super::audit::{self, Who};
use crate::model::{LoginOptions, Role, SsoView};
use crate::server::auth::token;
use crate::server::oidc::{Identity, OidcError, OidcProvider};
use crate::server::state::AppState;
use crate::server::store::{now_ms, StoreError, UserRow, SSO_LINK_BY_EMAIL, SSO_PASSWORD_LOGIN};
use crate::validate;

/// How long a sign-in may take at the provider.
const PENDING: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("single sign-on is not set up")]
    Off,
    /// The sign-in did not check out; the reason is for the log only.
    #[error("sign-in refused: {0}")]
    Refused(String),
    #[error("the provider gave no usable email")]
    NoEmail,
    #[error("an account with that email exists and linking is off")]
    EmailTaken,
    #[error("account deactivated")]
    Deactivated,
    #[error("admins only")]
    Forbidden,
    #[error("too many sign-ins; wait {0:?}")]
    SlowDown(Duration),
    #[error(transparent)]
    Auth(#[from] accounts::AuthError),
    #[error(transparent)]
    Oidc(#[from] OidcError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, SsoError>;

fn sha256(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

fn sso(state: &AppState) -> Result<&OidcProvider> {
    state.sso.as_deref().ok_or(SsoError::Off)
}

/// What the login page offers: the provider's button, the password form.
pub async fn login_options(state: &AppState) -> Result<LoginOptions> {
    let password = accounts::password_login(state).await?;
    Ok(LoginOptions {
        email: state.mailer.is_some() && password,
        sso: state.sso.as_ref().map(|s| s.name().to_string()),
        password,
    })
}

/// Starts a sign-in from the browser holding `binding` (a random value in
/// a cookie the caller sets): where to send the browser.
pub async fn start(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    binding: &str,
) -> Result<String> {
    let sso = sso(state)?;
    state.sso_starts.check(ip).map_err(SsoError::SlowDown)?;
    let sent = sso.authorize().await?;
    let now = now_ms();
    state
        .store
        .put_sso_login(
            &sha256(&sent.state),
            &sha256(binding),
            &sent.verifier,
            &sent.nonce,
            now,
            now - PENDING.as_millis() as i64,
        )
        .await?;
    Ok(sent.url)
}

/// The provider sent the browser back with `code` for `state_param`:
/// checks everything, finds or makes the account, starts a session.
pub async fn finish(
    state: &AppState,
    code: &str,
    state_param: &str,
    binding: Option<&str>,
) -> Result<SignedIn> {
    let sso = sso(state)?;
    let Some(pending) = state.store.take_sso_login(&sha256(state_param)).await? else {
        return Err(SsoError::Refused("unknown or used state".into()));
    };
    if binding.map(sha256).as_deref() != Some(pending.browser_hash.as_slice()) {
        return Err(SsoError::Refused("state from another browser".into()));
    }
    if now_ms() - pending.created_at > PENDING.as_millis() as i64 {
        return Err(SsoError::Refused("sign-in took over ten minutes".into()));
    }
    let identity = sso
        .exchange(code, &pending.verifier, &pending.nonce)
        .await?;
    let user = account(state, sso, &identity).await?;
    if user.deactivated_at.is_some() {
        return Err(SsoError::Deactivated);
    }
    let token = accounts::start_session(state, user.id, SESSION_TTL).await?;
    tracing::info!(user_id = user.id, "signed in through single sign-on");
    Ok(SignedIn { user, token })
}

/// The account of `identity`: linked before, linked now by its verified
/// email (when admins allow), or made now.
async fn account(state: &AppState, sso: &OidcProvider, identity: &Identity) -> Result<UserRow> {
    let issuer = sso.issuer();
    if let Some(user) = state
        .store
        .user_by_identity(issuer, &identity.subject)
        .await?
    {
        return Ok(user);
    }
    let email = identity
        .email
        .as_deref()
        .and_then(|e| validate::email(e).ok())
        .ok_or(SsoError::NoEmail)?;
    let who = Who {
        actor_id: None,
        actor: format!("single sign-on ({})", sso.name()),
        address: None,
    };
    let now = now_ms();
    let user = match state.store.user_by_email(&email).await? {
        Some(user) => {
            let may_link = identity.email_verified
                && state.store.setting_flag(SSO_LINK_BY_EMAIL, false).await?;
            if !may_link {
                return Err(SsoError::EmailTaken);
            }
            state
                .store
                .link_identity(issuer, &identity.subject, user.id, now)
                .await?;
            audit::record(&state.store, &who, "user.sso_linked", &email, issuer).await;
            user
        }
        None => {
            let local = email.split('@').next().unwrap_or("member");
            let name = identity
                .name
                .as_deref()
                .and_then(|n| validate::display_name(n).ok())
                .or_else(|| validate::display_name(local).ok())
                .unwrap_or_else(|| "Member".into());
            // A password nobody knows: this account signs in through the provider.
            let unknown = token::random_text(32);
            let user = accounts::create_account(state, &email, &name, &unknown).await?;
            state
                .store
                .link_identity(issuer, &identity.subject, user.id, now)
                .await?;
            audit::record(&state.store, &who, "user.created", &email, issuer).await;
            user
        }
    };
    Ok(user)
}

/// The admin page's section.
pub async fn settings(state: &AppState, actor: &Actor) -> Result<SsoView> {
    if actor.role != Role::Admin {
        return Err(SsoError::Forbidden);
    }
    Ok(SsoView {
        name: state.sso.as_ref().map(|s| s.name().to_string()),
        issuer: state.sso.as_ref().map(|s| s.issuer().to_string()),
        link_by_email: state.store.setting_flag(SSO_LINK_BY_EMAIL, false).await?,
        password_login: accounts::password_login(state).await?,
    })
}

/// Sets whether a first sign-in links an account by verified email, and
/// whether passwords still sign in (only with single sign-on set up: it
/// must stay possible to sign in).
pub async fn set(
    state: &AppState,
    actor: &Actor,
    link_by_email: bool,
    password_login: bool,
) -> Result<SsoView> {
    if actor.role != Role::Admin {
        return Err(SsoError::Forbidden);
    }
    state
        .invite_limiter
        .check(actor.id)
        .map_err(SsoError::SlowDown)?;
    if !password_login && state.sso.is_none() {
        return Err(SsoError::Off);
    }
    let flag = |on: bool| if on { "1" } else { "0" };
    state
        .store
        .set_settings(
            &[
                (SSO_LINK_BY_EMAIL, flag(link_by_email)),
                (SSO_PASSWORD_LOGIN, flag(password_login)),
            ],
            now_ms(),
        )
        .await?;
    let detail = format!(
        "link by email {}, password sign-in {}",
        if link_by_email { "on" } else { "off" },
        if password_login { "on" } else { "off" }
    );
    audit::record(
        &state.store,
        &Who::from(actor),
        "sso.changed",
        "single sign-on",
        &detail,
    )
    .await;
    settings(state, actor).await
}
