//! Accounts and sessions: the rules, on top of the store. Server functions
//! (src/api/auth.rs) and the socket handshake call these; they never touch SQL.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::registration::{self, RegistrationError};
use crate::model::UserView;
use crate::realtime::protocol::close;
use crate::server::auth::password::{self, Verdict};
use crate::server::auth::strength;
use crate::server::auth::token::{self, NewToken};
use crate::server::cluster::Event;
use crate::server::state::AppState;
use crate::server::store::{now_ms, NewUser, StoreError, UserRow, SSO_PASSWORD_LOGIN};
use crate::validate::{self, Field};

pub const SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// A session's expiry is pushed forward at most this often (sliding expiry
/// without a write on every request).
const SESSION_REFRESH_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The right password, but an admin deactivated the account.
    #[error("account deactivated")]
    Deactivated,
    #[error("wrong current password")]
    WrongPassword,
    #[error("not signed in")]
    SignedOut,
    #[error("email already registered")]
    EmailTaken,
    #[error("invalid input: {0:?}")]
    Invalid(Field),
    #[error("password too easy to guess: {0}")]
    WeakPassword(String),
    #[error("too many failed logins, retry in {0:?}")]
    RateLimited(Duration),
    /// Admins turned password sign-in off (single sign-on only).
    #[error("password sign-in is off")]
    PasswordOff,
    #[error(transparent)]
    Registration(#[from] RegistrationError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
}

pub fn user_view(row: &UserRow) -> UserView {
    UserView {
        id: row.id,
        email: row.email.clone(),
        display_name: row.display_name.clone(),
        role: row.role(),
    }
}

/// Whether people may sign in (and sign up) with a password: always,
/// unless single sign-on is set up and admins turned passwords off.
pub async fn password_login(state: &AppState) -> Result<bool, StoreError> {
    if state.sso.is_none() {
        return Ok(true);
    }
    state.store.setting_flag(SSO_PASSWORD_LOGIN, true).await
}

/// A signed-in user and the cookie value that now identifies the new session.
pub struct SignedIn {
    pub user: UserRow,
    pub token: NewToken,
}

/// Creates an account (the first one is the admin) and signs it in. New
/// accounts are budgeted per client address and in total, checked after
/// the form's own checks and before any hashing; then the registration
/// mode decides (`registration::admit`). `invite` is the token of the
/// invitation link the person came through, if any.
pub async fn sign_up(
    state: &AppState,
    ip: Option<IpAddr>,
    email: &str,
    display_name: &str,
    password: &str,
    invite: Option<&str>,
) -> Result<SignedIn, AuthError> {
    if !password_login(state).await? {
        return Err(AuthError::PasswordOff);
    }
    let email = validate::email(email).map_err(AuthError::Invalid)?;
    let display_name = validate::display_name(display_name).map_err(AuthError::Invalid)?;
    let password = validate::password(password).map_err(AuthError::Invalid)?;
    require_strong(password, &email, &display_name)?;
    // After the cheap checks (a mistyped form costs no sign-up), before the
    // hash (what the budget protects).
    state
        .signup_rate
        .check(ip)
        .map_err(AuthError::RateLimited)?;
    let admission = registration::admit(state, &email, invite).await?;
    let created = create_account(state, &email, &display_name, password).await;
    let user = match created {
        Ok(user) => user,
        Err(err) => {
            registration::give_back(state, admission).await;
            return Err(err);
        }
    };
    tracing::info!(user_id = user.id, role = %user.role, "account created");
    registration::welcome(state, &user, admission).await;
    let token = start_session(state, user.id, SESSION_TTL).await?;
    Ok(SignedIn { user, token })
}

/// A new password must be hard to guess, the person's email and name
/// counted as guessable (`auth::strength`).
pub(super) fn require_strong(
    password: &str,
    email: &str,
    display_name: &str,
) -> Result<(), AuthError> {
    strength::check(password, &[email, display_name])
        .map_err(|weak| AuthError::WeakPassword(weak.0))
}

pub(super) async fn create_account(
    state: &AppState,
    email: &str,
    display_name: &str,
    password: &str,
) -> Result<UserRow, AuthError> {
    let hash = password::hash(password.to_string()).await?;
    state
        .store
        .create_user(NewUser {
            email,
            display_name,
            password_hash: &hash,
            now: now_ms(),
        })
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                AuthError::EmailTaken
            } else {
                e.into()
            }
        })
}

pub async fn log_in(
    state: &AppState,
    ip: Option<IpAddr>,
    email: &str,
    password: &str,
) -> Result<SignedIn, AuthError> {
    // Normalise like sign-up so "Ada@X.com " and "ada@x.com" share one limit;
    // a malformed email is just a failed login (no hint).
    if !password_login(state).await? {
        return Err(AuthError::PasswordOff);
    }
    let email = email.trim().to_lowercase();
    // Who may try now: see `limits::logins` (a stranger's failures lock
    // only the stranger).
    if let Some(wait) = state.login_guard.wait_for(&email, ip, Instant::now()) {
        return Err(AuthError::RateLimited(wait));
    }

    let user = state.store.user_by_email(&email).await?;
    let verdict = password::verify(
        password.to_string(),
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
    let user = match (user, verdict) {
        (Some(user), Verdict::Right) => user,
        (Some(user), Verdict::RightRehashed(new_hash)) => {
            state.store.set_password_hash(user.id, &new_hash).await?;
            user
        }
        _ => {
            state.login_guard.failed(&email, ip, Instant::now());
            crate::server::metrics::get().login_failures.inc();
            return Err(AuthError::InvalidCredentials);
        }
    };
    // Said only to whoever knows the password, so it tells nobody else
    // that the account exists.
    if user.deactivated_at.is_some() {
        return Err(AuthError::Deactivated);
    }
    state.login_guard.succeeded(&email, ip);
    let token = start_session(state, user.id, SESSION_TTL).await?;
    Ok(SignedIn { user, token })
}

/// Always a brand-new token: a session id planted before login is never
/// promoted. A member's session lives `SESSION_TTL` (sliding); a website
/// visitor's for the `ttl` its widget gives it (`services::widget`).
pub(super) async fn start_session(
    state: &AppState,
    user_id: i64,
    ttl: Duration,
) -> Result<NewToken, AuthError> {
    let token = token::generate();
    let now = now_ms();
    state
        .store
        .create_session(&token.hash, user_id, now, now + ttl.as_millis() as i64)
        .await?;
    Ok(token)
}

/// Ends the session: its row goes, so the cookie is refused from now on, and
/// its open sockets are closed with `close::UNAUTHORIZED`.
pub async fn log_out(state: &AppState, cookie_value: &str) -> Result<(), AuthError> {
    let hash = token::hash_cookie_value(cookie_value);
    state.store.delete_session(&hash).await?;
    close_sockets_of(state, &[hash.to_vec()], close::UNAUTHORIZED);
    Ok(())
}

/// Closes, on every node, the sockets opened under these (already deleted)
/// sessions.
pub(super) fn close_sockets_of(state: &AppState, sessions: &[Vec<u8>], code: u16) {
    for hash in sessions {
        let Ok(session) = <[u8; 32]>::try_from(hash.as_slice()) else {
            continue;
        };
        state.hub.end_session(&session, code);
        state.fanout.announce(Event::EndSession { session, code });
    }
}

/// Changes the password of the signed-in user after checking the current
/// one. Every *other* session of theirs ends and its sockets close with
/// `close::REVOKED`; the session making the change stays signed in. Wrong
/// current passwords count as failed logins from `ip`, so this is no way
/// around the login limit.
pub async fn change_password(
    state: &AppState,
    ip: Option<IpAddr>,
    cookie_value: &str,
    current: &str,
    new: &str,
) -> Result<(), AuthError> {
    let Some(Authenticated { user, .. }) = authenticate(state, cookie_value).await? else {
        return Err(AuthError::SignedOut);
    };
    if let Some(wait) = state.login_guard.wait_for(&user.email, ip, Instant::now()) {
        return Err(AuthError::RateLimited(wait));
    }
    let new = validate::password(new).map_err(AuthError::Invalid)?;
    require_strong(new, &user.email, &user.display_name)?;
    let verdict = password::verify(current.to_string(), Some(user.password_hash.clone())).await?;
    if verdict == Verdict::Wrong {
        state.login_guard.failed(&user.email, ip, Instant::now());
        return Err(AuthError::WrongPassword);
    }
    let hash = password::hash(new.to_string()).await?;
    state.store.set_password_hash(user.id, &hash).await?;
    let keep = token::hash_cookie_value(cookie_value);
    let ended = state.store.delete_other_sessions(user.id, &keep).await?;
    close_sockets_of(state, &ended, close::REVOKED);
    tracing::info!(user_id = user.id, ended = ended.len(), "password changed");
    Ok(())
}

/// Removes expired sessions every `every` and closes the sockets that were
/// opened under them (OWASP: close sockets when sessions expire), so a tab
/// left open does not outlive its session.
pub fn spawn_session_sweeper(state: AppState, every: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            // Reset links a day past their expiry are no use to anyone.
            let day = 24 * 60 * 60 * 1000;
            if let Err(e) = state.store.delete_old_password_resets(now_ms() - day).await {
                tracing::warn!(error = %e, "could not remove old reset links");
            }
            match state.store.delete_expired_sessions(now_ms()).await {
                Ok(ended) if ended.is_empty() => {}
                Ok(ended) => {
                    close_sockets_of(&state, &ended, close::UNAUTHORIZED);
                    tracing::info!(removed = ended.len(), "expired sessions removed");
                }
                Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
            }
        }
    });
}

/// The session a cookie belongs to, if it is live. `refreshed` says the expiry
/// moved forward and the cookie should be sent again with a new Max-Age.
pub struct Authenticated {
    pub user: UserRow,
    pub refreshed: bool,
}

pub async fn authenticate(
    state: &AppState,
    cookie_value: &str,
) -> Result<Option<Authenticated>, AuthError> {
    let hash = token::hash_cookie_value(cookie_value);
    let now = now_ms();
    let Some(session) = state.store.session(&hash, now).await? else {
        return Ok(None);
    };
    let ttl = SESSION_TTL.as_millis() as i64;
    // A visitor's session ends when its widget said (a verified visitor's
    // identity is only as good as the host's last token); a member's slides.
    let refreshed = session.user.site_id.is_none()
        && session.expires_at - now < ttl - SESSION_REFRESH_EVERY.as_millis() as i64;
    if refreshed {
        state.store.extend_session(&hash, now + ttl).await?;
    }
    Ok(Some(Authenticated {
        user: session.user,
        refreshed,
    }))
}
