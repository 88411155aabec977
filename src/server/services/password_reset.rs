//! "Forgot password?": a link by email with a single-use token (256 random
//! bits, only its SHA-256 stored, valid 30 minutes). Asking gives the same
//! answer, in the same time, whether the email has an account or not: the
//! token is made and the mail sent after the answer. Using the link sets
//! the new password, ends every session of the account (their sockets
//! close) and signs this browser in.

use std::net::IpAddr;
use std::time::Duration;

use super::accounts::{self, require_strong, start_session, SignedIn, SESSION_TTL};
use crate::realtime::protocol::close;
use crate::server::auth::password;
use crate::server::auth::token;
use crate::server::mail::{Mail, MailError, Mailer};
use crate::server::state::AppState;
use crate::server::store::{now_ms, Store, StoreError, UserRow};
use crate::validate::{self, Field};

/// How long a reset link works.
pub const RESET_TTL: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("invalid input: {0:?}")]
    Invalid(Field),
    #[error("too many reset requests, retry in {0:?}")]
    RateLimited(Duration),
    /// Unknown, used or expired: which of these is not said.
    #[error("the reset link is not valid")]
    BadLink,
    #[error("email is not set up on this server")]
    EmailOff,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] accounts::AuthError),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error(transparent)]
    Mail(#[from] MailError),
}

/// Sends a reset link to `email` if it has an account. The answer is `Ok`
/// either way; only a malformed email, a spent budget or email being off
/// is refused.
pub async fn request(state: &AppState, ip: Option<IpAddr>, email: &str) -> Result<(), ResetError> {
    let Some(mailer) = state.mailer.clone() else {
        return Err(ResetError::EmailOff);
    };
    let email = validate::email(email)
        .map_err(ResetError::Invalid)?
        .to_lowercase();
    state
        .reset_rate
        .check_address(ip)
        .map_err(ResetError::RateLimited)?;
    state
        .reset_rate
        .check_email(&email)
        .map_err(ResetError::RateLimited)?;
    let state = state.clone();
    // After the answer: its timing says nothing about the account.
    tokio::spawn(async move {
        if let Err(e) = send_link(&state, &mailer, &email).await {
            tracing::warn!(error = %e, "password reset link not sent");
        }
    });
    Ok(())
}

async fn send_link(state: &AppState, mailer: &Mailer, email: &str) -> Result<(), ResetError> {
    // A deactivated account gets no link: the answer was the same anyway.
    let Some(user) = state
        .store
        .user_by_email(email)
        .await?
        .filter(|user| user.deactivated_at.is_none())
    else {
        return Ok(());
    };
    let link = new_link(&state.store, &state.config.public_origin, &user).await?;
    let text = format!(
        "Hello {name},\n\n\
         someone (we hope you) asked to reset the password of your Glasschat account.\n\
         Open this link within 30 minutes to choose a new one:\n\n{link}\n\n\
         The link works once. Setting a new password signs you out everywhere else.\n\
         If you did not ask for this, ignore this email: your password stays as it is.\n",
        name = user.display_name,
    );
    mailer
        .send(Mail {
            to_name: &user.display_name,
            to_email: &user.email,
            subject: "Reset your Glasschat password",
            text,
            unsubscribe: None,
        })
        .await?;
    tracing::info!(user_id = user.id, "password reset link sent");
    Ok(())
}

/// A new single-use link for `user` (also what `glasschat admin
/// reset-password` prints when there is no SMTP).
pub async fn new_link(store: &Store, origin: &str, user: &UserRow) -> Result<String, ResetError> {
    let token = token::generate();
    let now = now_ms();
    store
        .create_password_reset(
            &token.hash,
            user.id,
            now,
            now + RESET_TTL.as_millis() as i64,
        )
        .await?;
    Ok(format!("{origin}/reset?token={}", token.cookie_value))
}

/// `glasschat admin reset-password EMAIL`: a one-time link for the
/// account, printed for the admin to hand over.
pub async fn link_for_email(store: &Store, origin: &str, email: &str) -> Result<String, String> {
    let email = email.trim().to_lowercase();
    let user = store
        .user_by_email(&email)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no account has the email {email:?}"))?;
    if user.deactivated_at.is_some() {
        return Err(format!(
            "{email} is deactivated: reactivate it first (glasschat admin reactivate {email})"
        ));
    }
    new_link(store, origin, &user)
        .await
        .map_err(|e| e.to_string())
}

/// Sets `new` as the password of the link's account and signs this
/// browser in; every other session of the account ends.
pub async fn complete(
    state: &AppState,
    ip: Option<IpAddr>,
    token_text: &str,
    new: &str,
) -> Result<SignedIn, ResetError> {
    state
        .reset_rate
        .check_address(ip)
        .map_err(ResetError::RateLimited)?;
    let new = validate::password(new).map_err(ResetError::Invalid)?;
    // A token is 43 characters of URL-safe base64; anything else is no link
    // of ours (and is not hashed).
    if token_text.len() != 43 || validate::url_token(token_text).is_none() {
        return Err(ResetError::BadLink);
    }
    let hash = token::hash_cookie_value(token_text);
    let now = now_ms();
    let Some(user_id) = state.store.password_reset_user(&hash, now).await? else {
        return Err(ResetError::BadLink);
    };
    // A link made before the account was deactivated opens nothing.
    let Some(user) = state
        .store
        .user_by_id(user_id)
        .await?
        .filter(|user| user.deactivated_at.is_none())
    else {
        return Err(ResetError::BadLink);
    };
    // A weak one is refused with zxcvbn's reason, as at sign-up.
    require_strong(new, &user.email, &user.display_name)?;
    let password_hash = password::hash(new.to_string()).await?;
    let Some((user_id, ended)) = state
        .store
        .reset_password(&hash, now_ms(), &password_hash)
        .await?
    else {
        return Err(ResetError::BadLink); // used by a racing request meanwhile
    };
    accounts::close_sockets_of(state, &ended, close::REVOKED);
    let token = start_session(state, user_id, SESSION_TTL).await?;
    tracing::info!(user_id, ended = ended.len(), "password reset");
    Ok(SignedIn { user, token })
}
