//! The error every server function returns. It is what the user reads, so each
//! variant carries a fixed, user-facing message and never a raw database or
//! I/O error: those are logged on the server and become `Internal` here.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

pub use crate::validate::Field;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ApiError {
    /// Deliberately the same for an unknown email and a wrong password.
    #[error("Invalid email or password.")]
    InvalidCredentials,
    #[error("The current password is not right.")]
    WrongPassword,
    #[error("An account with this email already exists. Log in instead.")]
    EmailTaken,
    #[error("{}", invalid_message(*.0))]
    Invalid(Field),
    /// The reason is zxcvbn's (a fixed English text, never user input).
    #[error("This password is too easy to guess. {reason}")]
    WeakPassword { reason: String },
    #[error("Too many attempts. Try again in {retry_after_secs} s.")]
    RateLimited { retry_after_secs: u64 },
    #[error(
        "Sign-up here is by invitation only. Ask a member or an admin for an invitation link."
    )]
    InviteOnly,
    #[error("Sign-up here is open to the organisation's email addresses only. Use your work address, or ask an admin for an invitation link.")]
    DomainNotAllowed,
    #[error("This invitation link has expired or was used already. Ask for a new one.")]
    InviteExpired,
    #[error("List at least one email domain for this mode.")]
    NoDomains,
    #[error("Some of those emails have no account yet.")]
    UnknownMembers,
    #[error("That is your own email: start a chat with someone else.")]
    InviteSelf,
    #[error("Slow down: try again in a moment.")]
    SlowDown,
    #[error("The request was not understood. Reload the page and try again.")]
    BadRequest,
    #[error("Please log in.")]
    Unauthenticated,
    #[error("You are not allowed to do that.")]
    Forbidden,
    #[error("That no longer exists. Reload the page.")]
    NotFound,
    #[error("This department takes no new conversations.")]
    DepartmentClosed,
    #[error("The member already has a conversation with that department, so this one was not moved (nothing is merged).")]
    TransferConflict,
    #[error("Only staff of this department can take the conversation.")]
    NotStaff,
    #[error("At least one admin must remain.")]
    LastAdmin,
    #[error("You cannot deactivate your own account; another admin can.")]
    DeactivateSelf,
    #[error("This account is deactivated. Ask an admin to reactivate it.")]
    AccountDeactivated,
    /// Single sign-on did not complete (a refused, expired or replayed
    /// sign-in, or the provider did not answer); the log says which.
    #[error("Single sign-on did not complete. Try again.")]
    SsoFailed,
    #[error("An account with this email exists already. Sign in with your password, or ask an admin to link accounts by email.")]
    SsoEmailTaken,
    #[error("The identity provider gave no email address for this account.")]
    SsoNoEmail,
    #[error("Single sign-on is not set up on this server.")]
    SsoOff,
    #[error("Sign-in with a password is turned off here. Use single sign-on.")]
    PasswordLoginOff,
    #[error("Make this person an agent first.")]
    NotAnAgent,
    #[error("A department with this name exists already.")]
    DepartmentTaken,
    /// A search that cannot be run as typed; the reason says why (a fixed
    /// text, at most quoting the filter that was not understood).
    #[error("{reason}")]
    BadSearch { reason: String },
    /// A file that cannot be uploaded; the reason says why (a fixed text
    /// with the file's name, size and the limit).
    #[error("{reason}")]
    BadFile { reason: String },
    #[error("This department has a canned reply with that title already.")]
    CannedTaken,
    #[error("You rated this already. Thank you!")]
    AlreadyRated,
    #[error("Pick a range of real dates, at most a year long.")]
    BadRange,
    /// A website's identity token that is forged, expired, too long-lived
    /// or not for this site (which of these is not said).
    #[error("Your sign-in on this site could not be checked. Reload the page and try again.")]
    IdentityRefused,
    /// The site's chat is for its signed-in customers only.
    #[error("Sign in on the site to chat with us.")]
    SignInOnSite,
    /// A password reset link that is unknown, used or expired (which of
    /// these is not said).
    #[error("This reset link is not valid any more: it was used already or is older than 30 minutes. Ask for a new one.")]
    ResetLinkInvalid,
    #[error("This server cannot send email. Ask an admin to reset your password.")]
    EmailOff,
    /// A push subscription that cannot be used; the reason says why (a
    /// fixed text: not https, a private address, malformed keys…).
    #[error("{reason}")]
    BadPushDevice { reason: String },
    #[error("This browser receives notifications for another account. Turn them off there first, or sign in to that account.")]
    PushDeviceTaken,
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The request never got a proper answer (offline, server down, bad reply).
    #[error("Could not reach Glasschat. Check your connection and try again.")]
    Transport,
}

/// What a weak password's message says when the reason did not travel (a
/// form posted without JavaScript carries only the error's code).
pub const WEAK_PASSWORD_HINT: &str = "Add another word or two. Uncommon words are better.";

fn invalid_message(field: Field) -> &'static str {
    match field {
        Field::Email => "Enter a valid email address.",
        Field::Password => "The password must be 8 to 128 characters long.",
        Field::DisplayName => "The display name must be 1 to 64 characters long.",
        Field::RoomName => "The room name must be 1 to 80 characters long.",
        Field::DepartmentName => "The department name must be 1 to 60 characters long.",
        Field::SiteName => "The site name must be 1 to 60 characters long.",
        Field::CannedTitle => "The reply's title must be 1 to 60 characters long.",
        Field::CannedBody => "Write the reply's text (at most 10,000 characters).",
        Field::SiteOrigins => "List the site's origins exactly, like https://shop.example.com (scheme, host and port only; at most 20).",
        Field::SiteDepartments => "Pick at least one open department for the site.",
        Field::RatingScore => "Pick from 1 to 5 stars.",
        Field::RatingComment => "The comment can be at most 1,000 characters long.",
        Field::RetentionDays => {
            "Keep messages for 0 to 36,500 days (0 keeps them for ever), or leave it empty."
        }
        Field::EmailDomains => {
            "List email domains like example.com, separated by commas (at most 50)."
        }
    }
}

impl From<Field> for ApiError {
    fn from(field: Field) -> ApiError {
        ApiError::Invalid(field)
    }
}

impl ApiError {
    /// A short, stable code: used in the `?error=` query of a form that was
    /// posted without JavaScript, so the page can show the message after the
    /// redirect without echoing any text taken from the URL.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::WrongPassword => "wrong_password",
            ApiError::EmailTaken => "email_taken",
            ApiError::Invalid(Field::Email) => "invalid_email",
            ApiError::Invalid(Field::Password) => "invalid_password",
            ApiError::Invalid(Field::DisplayName) => "invalid_display_name",
            ApiError::Invalid(Field::RoomName) => "invalid_room_name",
            ApiError::Invalid(Field::DepartmentName) => "invalid_department_name",
            ApiError::Invalid(Field::EmailDomains) => "invalid_email_domains",
            ApiError::Invalid(Field::SiteName) => "invalid_site_name",
            ApiError::Invalid(Field::CannedTitle) => "invalid_canned_title",
            ApiError::Invalid(Field::CannedBody) => "invalid_canned_body",
            ApiError::CannedTaken => "canned_taken",
            ApiError::AlreadyRated => "already_rated",
            ApiError::BadRange => "bad_range",
            ApiError::Invalid(Field::RatingScore) => "invalid_rating_score",
            ApiError::Invalid(Field::RatingComment) => "invalid_rating_comment",
            ApiError::Invalid(Field::RetentionDays) => "invalid_retention_days",
            ApiError::Invalid(Field::SiteOrigins) => "invalid_site_origins",
            ApiError::Invalid(Field::SiteDepartments) => "invalid_site_departments",
            ApiError::IdentityRefused => "identity_refused",
            ApiError::SignInOnSite => "sign_in_on_site",
            ApiError::WeakPassword { .. } => "weak_password",
            ApiError::NotFound => "not_found",
            ApiError::DepartmentClosed => "department_closed",
            ApiError::TransferConflict => "transfer_conflict",
            ApiError::NotStaff => "not_staff",
            ApiError::LastAdmin => "last_admin",
            ApiError::DeactivateSelf => "deactivate_self",
            ApiError::AccountDeactivated => "account_deactivated",
            ApiError::SsoFailed => "sso_failed",
            ApiError::SsoEmailTaken => "sso_email_taken",
            ApiError::SsoNoEmail => "sso_no_email",
            ApiError::SsoOff => "sso_off",
            ApiError::PasswordLoginOff => "password_login_off",
            ApiError::NotAnAgent => "not_an_agent",
            ApiError::DepartmentTaken => "department_taken",
            ApiError::UnknownMembers => "unknown_members",
            ApiError::InviteOnly => "invite_only",
            ApiError::DomainNotAllowed => "domain_not_allowed",
            ApiError::InviteExpired => "invite_expired",
            ApiError::NoDomains => "no_domains",
            ApiError::InviteSelf => "invite_self",
            ApiError::SlowDown => "slow_down",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::BadRequest => "bad_request",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::Forbidden => "forbidden",
            ApiError::BadSearch { .. } => "bad_search",
            ApiError::BadFile { .. } => "bad_file",
            ApiError::ResetLinkInvalid => "reset_link_invalid",
            ApiError::EmailOff => "email_off",
            ApiError::BadPushDevice { .. } => "bad_push_device",
            ApiError::PushDeviceTaken => "push_device_taken",
            ApiError::Internal => "internal",
            ApiError::Transport => "transport",
        }
    }

    /// The inverse of [`ApiError::code`]; unknown codes give `None`.
    pub fn from_code(code: &str, retry_after_secs: Option<u64>) -> Option<ApiError> {
        Some(match code {
            "invalid_credentials" => ApiError::InvalidCredentials,
            "wrong_password" => ApiError::WrongPassword,
            "email_taken" => ApiError::EmailTaken,
            "invalid_email" => ApiError::Invalid(Field::Email),
            "invalid_password" => ApiError::Invalid(Field::Password),
            "invalid_display_name" => ApiError::Invalid(Field::DisplayName),
            "invalid_room_name" => ApiError::Invalid(Field::RoomName),
            "invalid_department_name" => ApiError::Invalid(Field::DepartmentName),
            "invalid_email_domains" => ApiError::Invalid(Field::EmailDomains),
            "invalid_site_name" => ApiError::Invalid(Field::SiteName),
            "invalid_canned_title" => ApiError::Invalid(Field::CannedTitle),
            "invalid_canned_body" => ApiError::Invalid(Field::CannedBody),
            "canned_taken" => ApiError::CannedTaken,
            "already_rated" => ApiError::AlreadyRated,
            "bad_range" => ApiError::BadRange,
            "invalid_rating_score" => ApiError::Invalid(Field::RatingScore),
            "invalid_rating_comment" => ApiError::Invalid(Field::RatingComment),
            "invalid_retention_days" => ApiError::Invalid(Field::RetentionDays),
            "invalid_site_origins" => ApiError::Invalid(Field::SiteOrigins),
            "invalid_site_departments" => ApiError::Invalid(Field::SiteDepartments),
            "identity_refused" => ApiError::IdentityRefused,
            "sign_in_on_site" => ApiError::SignInOnSite,
            "weak_password" => ApiError::WeakPassword {
                reason: WEAK_PASSWORD_HINT.to_string(),
            },
            "not_found" => ApiError::NotFound,
            "department_closed" => ApiError::DepartmentClosed,
            "transfer_conflict" => ApiError::TransferConflict,
            "not_staff" => ApiError::NotStaff,
            "last_admin" => ApiError::LastAdmin,
            "deactivate_self" => ApiError::DeactivateSelf,
            "account_deactivated" => ApiError::AccountDeactivated,
            "sso_failed" => ApiError::SsoFailed,
            "sso_email_taken" => ApiError::SsoEmailTaken,
            "sso_no_email" => ApiError::SsoNoEmail,
            "sso_off" => ApiError::SsoOff,
            "password_login_off" => ApiError::PasswordLoginOff,
            "not_an_agent" => ApiError::NotAnAgent,
            "department_taken" => ApiError::DepartmentTaken,
            "unknown_members" => ApiError::UnknownMembers,
            "invite_only" => ApiError::InviteOnly,
            "domain_not_allowed" => ApiError::DomainNotAllowed,
            "invite_expired" => ApiError::InviteExpired,
            "no_domains" => ApiError::NoDomains,
            "invite_self" => ApiError::InviteSelf,
            "slow_down" => ApiError::SlowDown,
            "rate_limited" => ApiError::RateLimited {
                retry_after_secs: retry_after_secs.unwrap_or(60),
            },
            "bad_request" => ApiError::BadRequest,
            "unauthenticated" => ApiError::Unauthenticated,
            "forbidden" => ApiError::Forbidden,
            "bad_search" => ApiError::BadSearch {
                reason: "That search could not be run.".to_string(),
            },
            "bad_file" => ApiError::BadFile {
                reason: "That file could not be uploaded.".to_string(),
            },
            "reset_link_invalid" => ApiError::ResetLinkInvalid,
            "email_off" => ApiError::EmailOff,
            "bad_push_device" => ApiError::BadPushDevice {
                reason: "This browser's notification settings could not be used.".to_string(),
            },
            "push_device_taken" => ApiError::PushDeviceTaken,
            "internal" => ApiError::Internal,
            "transport" => ApiError::Transport,
            _ => return None,
        })
    }

    /// The HTTP status the server answers with.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::InvalidCredentials | ApiError::Unauthenticated => 401,
            ApiError::IdentityRefused => 401,
            ApiError::SignInOnSite => 403,
            ApiError::EmailTaken => 409,
            ApiError::Invalid(_) | ApiError::UnknownMembers | ApiError::InviteSelf => 422,
            ApiError::WeakPassword { .. } | ApiError::BadSearch { .. } => 422,
            ApiError::BadFile { .. } | ApiError::BadRange => 422,
            ApiError::SlowDown => 429,
            ApiError::BadRequest => 400,
            ApiError::RateLimited { .. } => 429,
            ApiError::Forbidden | ApiError::NotStaff | ApiError::WrongPassword => 403,
            ApiError::InviteOnly | ApiError::DomainNotAllowed => 403,
            ApiError::InviteExpired => 410,
            ApiError::NoDomains => 422,
            ApiError::NotFound => 404,
            ApiError::TransferConflict | ApiError::DepartmentTaken | ApiError::LastAdmin => 409,
            ApiError::CannedTaken | ApiError::AlreadyRated => 409,
            ApiError::DepartmentClosed | ApiError::NotAnAgent | ApiError::DeactivateSelf => 422,
            ApiError::AccountDeactivated => 403,
            ApiError::SsoFailed | ApiError::SsoNoEmail => 400,
            ApiError::SsoEmailTaken => 409,
            ApiError::SsoOff => 404,
            ApiError::PasswordLoginOff => 403,
            ApiError::ResetLinkInvalid => 403,
            ApiError::EmailOff => 409,
            ApiError::BadPushDevice { .. } => 422,
            ApiError::PushDeviceTaken => 409,
            ApiError::Internal => 500,
            ApiError::Transport => 502,
        }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => ApiError::BadRequest,
            ServerFnErrorErr::ServerError(_) => ApiError::Internal,
            // On the server these mean the request itself could not be read
            // (a body that is not UTF-8 form data, a wrong method): the
            // caller's fault, not a transport failure. Found by the fuzz test.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::Request(_)
            | ServerFnErrorErr::UnsupportedRequestMethod(_) => ApiError::BadRequest,
            _ => ApiError::Transport,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        let all = [
            ApiError::InvalidCredentials,
            ApiError::WrongPassword,
            ApiError::EmailTaken,
            ApiError::Invalid(Field::Email),
            ApiError::Invalid(Field::Password),
            ApiError::Invalid(Field::DisplayName),
            ApiError::Invalid(Field::RoomName),
            ApiError::Invalid(Field::DepartmentName),
            ApiError::Invalid(Field::EmailDomains),
            ApiError::Invalid(Field::SiteName),
            ApiError::Invalid(Field::CannedTitle),
            ApiError::Invalid(Field::CannedBody),
            ApiError::CannedTaken,
            ApiError::AlreadyRated,
            ApiError::BadRange,
            ApiError::Invalid(Field::RatingScore),
            ApiError::Invalid(Field::RatingComment),
            ApiError::Invalid(Field::RetentionDays),
            ApiError::Invalid(Field::SiteOrigins),
            ApiError::Invalid(Field::SiteDepartments),
            ApiError::IdentityRefused,
            ApiError::SignInOnSite,
            ApiError::WeakPassword {
                reason: WEAK_PASSWORD_HINT.to_string(),
            },
            ApiError::InviteOnly,
            ApiError::DomainNotAllowed,
            ApiError::InviteExpired,
            ApiError::NoDomains,
            ApiError::NotFound,
            ApiError::DepartmentClosed,
            ApiError::TransferConflict,
            ApiError::NotStaff,
            ApiError::LastAdmin,
            ApiError::DeactivateSelf,
            ApiError::AccountDeactivated,
            ApiError::SsoFailed,
            ApiError::SsoEmailTaken,
            ApiError::SsoNoEmail,
            ApiError::SsoOff,
            ApiError::PasswordLoginOff,
            ApiError::NotAnAgent,
            ApiError::DepartmentTaken,
            ApiError::UnknownMembers,
            ApiError::InviteSelf,
            ApiError::SlowDown,
            ApiError::RateLimited {
                retry_after_secs: 42,
            },
            ApiError::BadRequest,
            ApiError::Unauthenticated,
            ApiError::Forbidden,
            ApiError::ResetLinkInvalid,
            ApiError::EmailOff,
            ApiError::PushDeviceTaken,
            ApiError::Internal,
            ApiError::Transport,
        ];
        for err in all {
            assert_eq!(ApiError::from_code(err.code(), Some(42)), Some(err));
        }
        assert_eq!(ApiError::from_code("<script>", None), None);
    }

    #[test]
    fn rate_limit_message_names_the_wait() {
        let err = ApiError::RateLimited {
            retry_after_secs: 37,
        };
        assert_eq!(err.to_string(), "Too many attempts. Try again in 37 s.");
        assert_eq!(err.status(), 429);
    }
}
