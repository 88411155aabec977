//! Who may create an account. An admin picks the mode on the admin page:
//! open, by invitation only, or limited to email domains. Invitations are
//! links carrying a single-use token: an admin's link (anyone who opens it,
//! one account, until it expires) or a member's invitation to a direct chat.
//! The first account, the admin, is always admitted.
//!
//! A sign-up claims its invitation before the account is created (so two
//! sign-ups racing on one link admit one account), gives it back if the
//! account cannot be created, and finishes it afterwards.

use std::time::Duration;

use super::actor::Actor;
use super::audit::{self, Who};
use crate::model::{InviteLinkView, NewInviteLink, RegistrationMode, RegistrationPolicy, Role};
use crate::server::auth::token;
use crate::server::state::AppState;
use crate::server::store::{
    now_ms, ClaimedLink, StoreError, UserRow, REGISTRATION_DOMAINS, REGISTRATION_MODE,
};
use crate::validate::{self, Field};

/// How long an admin's link may stay unused: 1 to 30 days (7 by default).
pub const LINK_DAYS_MAX: u32 = 30;
pub const LINK_DAYS_DEFAULT: u32 = 7;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("sign-up is by invitation only")]
    InviteOnly,
    #[error("that email domain may not sign up")]
    DomainNotAllowed,
    #[error("the invitation link has expired or was used")]
    InviteExpired,
    #[error("the domains mode needs at least one domain")]
    NoDomains,
    #[error("invalid input: {0:?}")]
    Invalid(Field),
    #[error("admins only")]
    Forbidden,
    #[error("no such invitation link")]
    NotFound,
    #[error("too many invitations, retry in {0:?}")]
    SlowDown(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, RegistrationError>;

/// The rule in force: read from the database each time, so a change on one
/// node holds on every node at once. Never set means open.
pub async fn policy(state: &AppState) -> Result<RegistrationPolicy> {
    let mode = state
        .store
        .setting(REGISTRATION_MODE)
        .await?
        .and_then(|m| RegistrationMode::parse(&m))
        .unwrap_or(RegistrationMode::Open);
    let domains = state
        .store
        .setting(REGISTRATION_DOMAINS)
        .await?
        .map(|d| d.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    Ok(RegistrationPolicy { mode, domains })
}

/// The rule with its domain list kept for the other modes, for the admin
/// page (the public `policy` is what the sign-up page shows).
pub async fn settings(state: &AppState, actor: &Actor) -> Result<RegistrationPolicy> {
    require_admin(actor)?;
    policy(state).await
}

fn require_admin(actor: &Actor) -> Result<()> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(RegistrationError::Forbidden)
    }
}

fn spend_budget(state: &AppState, actor: &Actor) -> Result<()> {
    state
        .invite_limiter
        .check(actor.id)
        .map_err(RegistrationError::SlowDown)
}

/// Sets the mode and the domain list (kept while another mode is on, so
/// switching back finds it). The domains mode needs at least one.
pub async fn set_policy(
    state: &AppState,
    actor: &Actor,
    mode: RegistrationMode,
    domains: &str,
) -> Result<RegistrationPolicy> {
    require_admin(actor)?;
    let domains = validate::email_domains(domains).map_err(RegistrationError::Invalid)?;
    if mode == RegistrationMode::Domains && domains.is_empty() {
        return Err(RegistrationError::NoDomains);
    }
    spend_budget(state, actor)?;
    let joined = domains.join(" ");
    state
        .store
        .set_settings(
            &[
                (REGISTRATION_MODE, mode.as_str()),
                (REGISTRATION_DOMAINS, &joined),
            ],
            now_ms(),
        )
        .await?;
    let detail = format!("{} {joined}", mode.as_str());
    audit::record(
        &state.store,
        &Who::from(actor),
        "signup.policy",
        "sign-up",
        detail.trim(),
    )
    .await;
    tracing::info!(by = actor.id, mode = mode.as_str(), domains = %joined, "registration mode set");
    Ok(RegistrationPolicy { mode, domains })
}

pub async fn links(state: &AppState, actor: &Actor) -> Result<Vec<InviteLinkView>> {
    require_admin(actor)?;
    Ok(state.store.pending_invite_links(now_ms()).await?)
}

/// A new single-use link, valid for `days`. Its token is in the answer and
/// nowhere else (the database keeps its hash).
pub async fn create_link(state: &AppState, actor: &Actor, days: u32) -> Result<NewInviteLink> {
    require_admin(actor)?;
    spend_budget(state, actor)?;
    let days = days.clamp(1, LINK_DAYS_MAX);
    let token = token::generate();
    let now = now_ms();
    let expires_at = now + i64::from(days) * DAY_MS;
    let id = state
        .store
        .create_invite_link(&token.hash, actor.id, now, expires_at)
        .await?;
    let detail = format!("valid {days} days");
    audit::record(
        &state.store,
        &Who::from(actor),
        "invite_link.created",
        &format!("link {id}"),
        &detail,
    )
    .await;
    Ok(NewInviteLink {
        link: InviteLinkView {
            id,
            created_by: actor.name.clone(),
            created_at: now,
            expires_at,
        },
        signup_link: format!(
            "{}/signup?invite={}",
            state.config.public_origin, token.cookie_value
        ),
    })
}

pub async fn revoke_link(state: &AppState, actor: &Actor, id: i64) -> Result<()> {
    require_admin(actor)?;
    if state.store.revoke_invite_link(id).await? {
        audit::record(
            &state.store,
            &Who::from(actor),
            "invite_link.revoked",
            &format!("link {id}"),
            "",
        )
        .await;
        Ok(())
    } else {
        Err(RegistrationError::NotFound)
    }
}

/// Why a sign-up was let in, held from before the account exists until
/// after: the invitation it claimed, if any.
#[derive(Debug)]
pub enum Admission {
    /// No invitation (or one that was not needed and not valid).
    Plain,
    /// An admin's link, claimed.
    Link(ClaimedLink),
    /// A member's invitation to a direct chat, taken out of the store.
    Invitation {
        inviter: i64,
        email: String,
        token: String,
        created_at: i64,
    },
}

/// Decides whether `email` (already validated) may create an account,
/// claiming the invitation `invite` names on the way. Call `give_back` if
/// the account is then not created, `welcome` once it is.
pub async fn admit(state: &AppState, email: &str, invite: Option<&str>) -> Result<Admission> {
    let invite = invite.filter(|t| !t.is_empty() && t.len() <= 128);
    let claimed = match invite {
        Some(token) => claim(state, token).await?,
        None => Admission::Plain,
    };
    if !state.store.has_users().await? {
        return Ok(claimed);
    }
    let policy = policy(state).await?;
    let admitted = match (policy.mode, &claimed) {
        (RegistrationMode::Open, _) | (_, Admission::Link(_)) => true,
        (RegistrationMode::Invite, admission) => matches!(admission, Admission::Invitation { .. }),
        // A member's invitation does not widen who may join; an admin's does.
        (RegistrationMode::Domains, _) => email
            .rsplit_once('@')
            .is_some_and(|(_, domain)| policy.domains.iter().any(|d| d == domain)),
    };
    if admitted {
        return Ok(claimed);
    }
    let unclaimed = matches!(claimed, Admission::Plain);
    give_back(state, claimed).await;
    Err(match policy.mode {
        _ if invite.is_some() && unclaimed => RegistrationError::InviteExpired,
        RegistrationMode::Domains => RegistrationError::DomainNotAllowed,
        _ => RegistrationError::InviteOnly,
    })
}

/// An admin's link if the token is one (live and unused), else a member's
/// invitation, else nothing.
async fn claim(state: &AppState, token: &str) -> Result<Admission> {
    let hash = token::hash_cookie_value(token);
    if let Some(link) = state.store.claim_invite_link(&hash, now_ms()).await? {
        return Ok(Admission::Link(link));
    }
    Ok(match state.store.take_invitation(token).await? {
        Some((inviter, email, created_at)) => Admission::Invitation {
            inviter,
            email,
            token: token.to_string(),
            created_at,
        },
        None => Admission::Plain,
    })
}

/// Puts a claimed invitation back (the account was not created). A failure
/// here is logged: the worst case is a link that must be made again.
pub async fn give_back(state: &AppState, admission: Admission) {
    let restored = match admission {
        Admission::Plain => return,
        Admission::Link(link) => state.store.release_invite_link(link).await,
        Admission::Invitation {
            inviter,
            email,
            token,
            created_at,
        } => state
            .store
            .invite(inviter, &email, &token, created_at)
            .await
            .map(drop),
    };
    if let Err(err) = restored {
        tracing::error!(error = %err, "could not give an invitation back");
    }
}

/// After the account exists: a link records whom it admitted; a member's
/// invitation becomes the direct chat with its inviter. The account stands
/// if this fails (the inviter can start the chat again).
pub async fn welcome(state: &AppState, user: &UserRow, admission: Admission) {
    let done = match admission {
        Admission::Plain => return,
        Admission::Link(link) => state
            .store
            .finish_invite_link(link, user.id)
            .await
            .map_err(|e| e.to_string()),
        Admission::Invitation { inviter, .. } => {
            super::conversations::complete_invitation(state, user, inviter)
                .await
                .map_err(|e| e.to_string())
        }
    };
    if let Err(err) = done {
        tracing::error!(user_id = user.id, error = %err, "could not complete the invitation");
    }
}
