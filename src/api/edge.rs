//! What every server function needs from the request it runs in: the app
//! state, the request headers, and a way to shape the response (status,
//! cookies, and the redirect that lets forms work without JavaScript).

use std::net::IpAddr;

use http::header::{ACCEPT, RETRY_AFTER, SET_COOKIE};
use http::request::Parts;
use http::{HeaderValue, StatusCode};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use super::error::ApiError;
use crate::server::http::{client, cookie};
use crate::server::services::accounts::{self, AuthError};
use crate::server::services::actor::Actor;
use crate::server::services::admin::AdminError;
use crate::server::services::canned::CannedError;
use crate::server::services::conversations::ConversationError;
use crate::server::services::digests::DigestError;
use crate::server::services::files::FileError;
use crate::server::services::messages::MessageError;
use crate::server::services::password_reset::ResetError;
use crate::server::services::push::DeviceError;
use crate::server::services::registration::RegistrationError;
use crate::server::services::reports::ReportError;
use crate::server::services::retention::RetentionError;
use crate::server::services::satisfaction::RatingError;
use crate::server::services::search::SearchError;
use crate::server::services::sites::SiteError;
use crate::server::services::sso::SsoError;
use crate::server::services::support::SupportError;
use crate::server::services::widget::WidgetError;
use crate::server::state::AppState;
use crate::server::store::{StoreError, UserRow};

pub(crate) struct Edge {
    pub state: AppState,
    pub parts: Parts,
    response: ResponseOptions,
}

impl Edge {
    pub fn get() -> Result<Edge, ApiError> {
        match (
            use_context::<AppState>(),
            use_context::<Parts>(),
            use_context::<ResponseOptions>(),
        ) {
            (Some(state), Some(parts), Some(response)) => Ok(Edge {
                state,
                parts,
                response,
            }),
            _ => {
                tracing::error!("server function called without request context");
                Err(ApiError::Internal)
            }
        }
    }

    /// The client's address: the TCP peer, or behind a reverse proxy
    /// (GLASSCHAT_BEHIND_PROXY) the last `X-Forwarded-For` entry, which our
    /// proxy appended (earlier entries are whatever the client claimed).
    pub fn peer_ip(&self) -> Option<IpAddr> {
        client::client_ip(
            &self.state.config,
            &self.parts.headers,
            &self.parts.extensions,
        )
    }

    pub fn session_cookie(&self) -> Option<String> {
        cookie::read(&self.state.config, &self.parts.headers)
    }

    /// The signed-in member, or `Unauthenticated` (401). A website
    /// visitor's session is no member's, wherever its token is put.
    pub async fn require_user(&self) -> Result<UserRow, ApiError> {
        let Some(value) = self.session_cookie() else {
            return Err(self.fail(ApiError::Unauthenticated, "/login"));
        };
        match accounts::authenticate(&self.state, &value).await {
            Ok(Some(found)) if found.user.site_id.is_none() => Ok(found.user),
            Ok(_) => Err(self.fail(ApiError::Unauthenticated, "/login")),
            Err(err) => Err(self.fail(err.into(), "/login")),
        }
    }

    pub fn visitor_cookie(&self) -> Option<String> {
        cookie::read_visitor(&self.parts.headers)
    }

    /// The signed-in website visitor (the widget's panel), or
    /// `Unauthenticated`.
    pub async fn require_visitor(&self) -> Result<UserRow, ApiError> {
        match self.visitor().await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(self.fail(ApiError::Unauthenticated, "/")),
            Err(err) => Err(self.fail(err, "/")),
        }
    }

    /// The signed-in website visitor, if any (nobody is no error).
    pub async fn visitor(&self) -> Result<Option<UserRow>, ApiError> {
        let Some(value) = self.visitor_cookie() else {
            return Ok(None);
        };
        match accounts::authenticate(&self.state, &value).await {
            Ok(Some(found)) if found.user.site_id.is_some() => Ok(Some(found.user)),
            Ok(_) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// A member, or else a website visitor: for what a conversation's
    /// members may do in it (history, receipts, files), which is then
    /// authorised by membership like any member's.
    pub async fn require_participant(&self) -> Result<UserRow, ApiError> {
        if self.session_cookie().is_some() {
            return self.require_user().await;
        }
        self.require_visitor().await
    }

    pub fn set_session_cookie(&self, value: &str) {
        self.set_cookie(cookie::set(&self.state.config, value));
    }

    /// A sign-in that worked (sign-up, login, a password reset): its
    /// session cookie is set, the browser is sent to the chats, and the
    /// account is the answer.
    pub fn signed_in(&self, signed_in: &accounts::SignedIn) -> crate::model::UserView {
        self.set_session_cookie(&signed_in.token.cookie_value);
        self.redirect("/");
        accounts::user_view(&signed_in.user)
    }

    pub fn clear_session_cookie(&self) {
        self.set_cookie(cookie::clear(&self.state.config));
    }

    pub fn set_visitor_cookie(&self, value: &str, max_age: std::time::Duration) {
        self.set_cookie(cookie::set_visitor(value, max_age.as_secs()));
    }

    pub fn clear_visitor_cookie(&self) {
        self.set_cookie(cookie::clear_visitor());
    }

    fn set_cookie(&self, header: String) {
        match HeaderValue::from_str(&header) {
            Ok(value) => self.response.append_header(SET_COOKIE, value),
            Err(e) => tracing::error!(error = %e, "could not build Set-Cookie header"),
        }
    }

    /// A plain HTML form post (no JavaScript) as opposed to the WASM client.
    fn is_form_post(&self) -> bool {
        self.parts
            .headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    }

    /// Sends a navigation to `path` (302 for a form post, a client-side
    /// navigation for the WASM client).
    pub fn redirect(&self, path: &str) {
        leptos_axum::redirect(path);
    }

    /// A service's result as the server function's answer: errors become
    /// their `ApiError`, shaped by `fail` (a failed form post goes back to `/`).
    pub fn answer<T, E: Into<ApiError>>(&self, result: Result<T, E>) -> Result<T, ApiError> {
        result.map_err(|err| self.fail(err.into(), "/"))
    }

    /// Shapes the response for `err` and hands it back for returning. A form
    /// posted without JavaScript is sent back to `form_page` with the error's
    /// code in the query, so the page can show the message.
    pub fn fail(&self, err: ApiError, form_page: &str) -> ApiError {
        let status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self.response.set_status(status);
        if let ApiError::RateLimited { retry_after_secs } = err {
            self.response
                .insert_header(RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        if self.is_form_post() {
            let retry = match err {
                ApiError::RateLimited { retry_after_secs } => format!("&retry={retry_after_secs}"),
                _ => String::new(),
            };
            let join = if form_page.contains('?') { '&' } else { '?' };
            self.redirect(&format!("{form_page}{join}error={}{retry}", err.code()));
        }
        err
    }
}

/// The request's context and the signed-in member as the services see them.
pub(crate) async fn actor() -> Result<(Edge, Actor), ApiError> {
    let edge = Edge::get()?;
    let user = edge.require_user().await?;
    let actor = Actor::from(&user).at(edge.peer_ip());
    Ok((edge, actor))
}

/// Like `actor`, but a website visitor too (see `Edge::require_participant`).
pub(crate) async fn participant() -> Result<(Edge, Actor), ApiError> {
    let edge = Edge::get()?;
    let user = edge.require_participant().await?;
    Ok((edge, Actor::from(&user)))
}

impl From<WidgetError> for ApiError {
    fn from(err: WidgetError) -> ApiError {
        match err {
            WidgetError::NoSuchSite => ApiError::NotFound,
            WidgetError::IdentityRefused => ApiError::IdentityRefused,
            WidgetError::SignInOnSite => ApiError::SignInOnSite,
            WidgetError::Forbidden => ApiError::Forbidden,
            WidgetError::Invalid(field) => ApiError::Invalid(field),
            WidgetError::RateLimited(wait) => ApiError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            },
            WidgetError::SlowDown(_) => ApiError::SlowDown,
            WidgetError::Support(e) => e.into(),
            WidgetError::Auth(e) => e.into(),
            WidgetError::Store(e) => e.into(),
        }
    }
}

impl From<CannedError> for ApiError {
    fn from(err: CannedError) -> ApiError {
        match err {
            CannedError::Forbidden => ApiError::Forbidden,
            CannedError::NotFound => ApiError::NotFound,
            CannedError::Invalid(field) => ApiError::Invalid(field),
            CannedError::Taken => ApiError::CannedTaken,
            CannedError::SlowDown(_) => ApiError::SlowDown,
            CannedError::Store(e) => e.into(),
        }
    }
}

impl From<SiteError> for ApiError {
    fn from(err: SiteError) -> ApiError {
        match err {
            SiteError::Forbidden => ApiError::Forbidden,
            SiteError::NotFound => ApiError::NotFound,
            SiteError::Invalid(field) => ApiError::Invalid(field),
            SiteError::Seal(e) => {
                tracing::error!(error = %e, "site secret could not be sealed");
                ApiError::Internal
            }
            SiteError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        tracing::error!(error = %err, "store failure");
        ApiError::Internal
    }
}

impl From<ConversationError> for ApiError {
    fn from(err: ConversationError) -> ApiError {
        match err {
            ConversationError::InviteSelf => ApiError::InviteSelf,
            ConversationError::UnknownMembers => ApiError::UnknownMembers,
            ConversationError::Forbidden => ApiError::Forbidden,
            ConversationError::SlowDown(_) => ApiError::SlowDown,
            ConversationError::Store(e) => e.into(),
        }
    }
}

impl From<ReportError> for ApiError {
    fn from(err: ReportError) -> ApiError {
        match err {
            ReportError::Forbidden => ApiError::Forbidden,
            ReportError::BadRange => ApiError::BadRange,
            ReportError::SlowDown(_) => ApiError::SlowDown,
            ReportError::Store(e) => e.into(),
        }
    }
}

impl From<RatingError> for ApiError {
    fn from(err: RatingError) -> ApiError {
        match err {
            RatingError::Forbidden => ApiError::Forbidden,
            RatingError::NotFound => ApiError::NotFound,
            RatingError::AlreadyRated => ApiError::AlreadyRated,
            RatingError::Invalid(field) => ApiError::Invalid(field),
            RatingError::SlowDown(_) => ApiError::SlowDown,
            RatingError::Store(e) => e.into(),
        }
    }
}

impl From<SupportError> for ApiError {
    fn from(err: SupportError) -> ApiError {
        match err {
            SupportError::Forbidden => ApiError::Forbidden,
            SupportError::NotFound => ApiError::NotFound,
            SupportError::DepartmentClosed => ApiError::DepartmentClosed,
            SupportError::TransferConflict => ApiError::TransferConflict,
            SupportError::NotStaff => ApiError::NotStaff,
            SupportError::SlowDown(_) => ApiError::SlowDown,
            SupportError::Store(e) => e.into(),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(err: AdminError) -> ApiError {
        match err {
            AdminError::Forbidden => ApiError::Forbidden,
            AdminError::NotFound => ApiError::NotFound,
            AdminError::LastAdmin => ApiError::LastAdmin,
            AdminError::Yourself => ApiError::DeactivateSelf,
            AdminError::SlowDown(_) => ApiError::SlowDown,
            AdminError::NotAnAgent => ApiError::NotAnAgent,
            AdminError::DepartmentTaken => ApiError::DepartmentTaken,
            AdminError::Store(e) => e.into(),
        }
    }
}

impl From<SsoError> for ApiError {
    fn from(err: SsoError) -> ApiError {
        match err {
            SsoError::Off => ApiError::SsoOff,
            SsoError::NoEmail => ApiError::SsoNoEmail,
            SsoError::EmailTaken => ApiError::SsoEmailTaken,
            SsoError::Deactivated => ApiError::AccountDeactivated,
            SsoError::Forbidden => ApiError::Forbidden,
            SsoError::SlowDown(_) => ApiError::SlowDown,
            SsoError::Refused(reason) => {
                tracing::warn!(reason, "single sign-on refused");
                ApiError::SsoFailed
            }
            SsoError::Oidc(e) => {
                tracing::warn!(error = %e, "single sign-on failed");
                ApiError::SsoFailed
            }
            SsoError::Auth(e) => e.into(),
            SsoError::Store(e) => e.into(),
        }
    }
}

impl From<RetentionError> for ApiError {
    fn from(err: RetentionError) -> ApiError {
        match err {
            RetentionError::Forbidden => ApiError::Forbidden,
            RetentionError::NotFound => ApiError::NotFound,
            RetentionError::Invalid => ApiError::Invalid(crate::validate::Field::RetentionDays),
            RetentionError::SlowDown(_) => ApiError::SlowDown,
            RetentionError::Store(e) => e.into(),
        }
    }
}

impl From<MessageError> for ApiError {
    fn from(err: MessageError) -> ApiError {
        match err {
            MessageError::Invalid(_) | MessageError::TooManyFiles(_) => ApiError::BadRequest,
            MessageError::Forbidden => ApiError::Forbidden,
            MessageError::SlowDown(_) => ApiError::SlowDown,
            // Changes are socket frames; no server function makes one.
            MessageError::Refused(_) => ApiError::Forbidden,
            MessageError::Store(e) => e.into(),
        }
    }
}

impl From<SearchError> for ApiError {
    fn from(err: SearchError) -> ApiError {
        match err {
            SearchError::Query(reason) => ApiError::BadSearch { reason },
            SearchError::SlowDown(_) => ApiError::SlowDown,
            SearchError::Store(e) => e.into(),
        }
    }
}

impl From<FileError> for ApiError {
    fn from(err: FileError) -> ApiError {
        match err {
            FileError::NotMember => ApiError::Forbidden,
            FileError::NotFound => ApiError::NotFound,
            FileError::SlowDown(_) => ApiError::SlowDown,
            FileError::Store(e) => e.into(),
            reason => ApiError::BadFile {
                reason: reason.sentence(),
            },
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> ApiError {
        match err {
            AuthError::InvalidCredentials => ApiError::InvalidCredentials,
            AuthError::Deactivated => ApiError::AccountDeactivated,
            AuthError::PasswordOff => ApiError::PasswordLoginOff,
            AuthError::WrongPassword => ApiError::WrongPassword,
            AuthError::SignedOut => ApiError::Unauthenticated,
            AuthError::EmailTaken => ApiError::EmailTaken,
            AuthError::Invalid(field) => ApiError::Invalid(field),
            AuthError::WeakPassword(reason) => ApiError::WeakPassword { reason },
            AuthError::RateLimited(wait) => ApiError::RateLimited {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            },
            AuthError::Registration(e) => e.into(),
            AuthError::Store(e) => {
                tracing::error!(error = %e, "auth: store failure");
                ApiError::Internal
            }
            AuthError::Password(e) => {
                tracing::error!(error = %e, "auth: password hashing failure");
                ApiError::Internal
            }
        }
    }
}

impl From<DeviceError> for ApiError {
    fn from(err: DeviceError) -> ApiError {
        match err {
            DeviceError::Endpoint(e) => ApiError::BadPushDevice {
                reason: format!("Notifications cannot be sent to this browser: {e}."),
            },
            DeviceError::Taken => ApiError::PushDeviceTaken,
            DeviceError::NotFound => ApiError::NotFound,
            DeviceError::Unavailable => ApiError::Internal,
            DeviceError::SlowDown(_) => ApiError::SlowDown,
            DeviceError::Store(e) => e.into(),
        }
    }
}

impl From<DigestError> for ApiError {
    fn from(err: DigestError) -> ApiError {
        match err {
            DigestError::BadDelay => ApiError::BadRequest,
            DigestError::BadLink => ApiError::NotFound,
            DigestError::SlowDown(_) => ApiError::SlowDown,
            DigestError::Store(e) => e.into(),
        }
    }
}

impl From<ResetError> for ApiError {
    fn from(err: ResetError) -> ApiError {
        match err {
            ResetError::Invalid(field) => ApiError::Invalid(field),
            ResetError::RateLimited(wait) => ApiError::RateLimited {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            },
            ResetError::BadLink => ApiError::ResetLinkInvalid,
            ResetError::EmailOff => ApiError::EmailOff,
            ResetError::Auth(e) => e.into(),
            ResetError::Store(e) => e.into(),
            ResetError::Password(e) => {
                tracing::error!(error = %e, "reset: password hashing failure");
                ApiError::Internal
            }
            // Mail goes out after the answer; this is never an answer.
            ResetError::Mail(e) => {
                tracing::error!(error = %e, "reset: mail failure");
                ApiError::Internal
            }
        }
    }
}

impl From<RegistrationError> for ApiError {
    fn from(err: RegistrationError) -> ApiError {
        match err {
            RegistrationError::InviteOnly => ApiError::InviteOnly,
            RegistrationError::DomainNotAllowed => ApiError::DomainNotAllowed,
            RegistrationError::InviteExpired => ApiError::InviteExpired,
            RegistrationError::NoDomains => ApiError::NoDomains,
            RegistrationError::Invalid(field) => ApiError::Invalid(field),
            RegistrationError::Forbidden => ApiError::Forbidden,
            RegistrationError::NotFound => ApiError::NotFound,
            RegistrationError::SlowDown(_) => ApiError::SlowDown,
            RegistrationError::Store(e) => e.into(),
        }
    }
}
