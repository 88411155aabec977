//! Sign up, log in, log out, and "who am I". The session lives in an
//! HttpOnly cookie; these functions are the only ones that set it.

use leptos::prelude::*;

use super::error::ApiError;
use crate::model::{LoginOptions, RegistrationPolicy, UserView};

/// Creates an account and signs it in. The first account becomes admin.
/// `invite` is the token from an invitation link (the sign-up page passes
/// it on): that invitation becomes a direct chat with its inviter.
#[server(endpoint = "signup")]
pub async fn sign_up(
    email: String,
    display_name: String,
    password: String,
    #[server(default)] invite: Option<String>,
) -> Result<UserView, ApiError> {
    use super::edge::Edge;
    use crate::server::services::accounts;

    let edge = Edge::get()?;
    let signed_up = accounts::sign_up(
        &edge.state,
        edge.peer_ip(),
        &email,
        &display_name,
        &password,
        invite.as_deref(),
    )
    .await;
    match signed_up {
        Ok(signed_in) => Ok(edge.signed_in(&signed_in)),
        Err(err) => Err(edge.fail(err.into(), "/signup")),
    }
}

/// Wrong email and wrong password get the same answer, in the same time.
#[server(endpoint = "login")]
pub async fn log_in(email: String, password: String) -> Result<UserView, ApiError> {
    use super::edge::Edge;
    use crate::server::services::accounts;

    let edge = Edge::get()?;
    match accounts::log_in(&edge.state, edge.peer_ip(), &email, &password).await {
        Ok(signed_in) => Ok(edge.signed_in(&signed_in)),
        Err(err) => Err(edge.fail(err.into(), "/login")),
    }
}

/// Ends the session on the server, so the old cookie is refused from now on.
#[server(endpoint = "logout")]
pub async fn log_out() -> Result<(), ApiError> {
    use super::edge::Edge;
    use crate::server::services::accounts;

    let edge = Edge::get()?;
    if let Some(value) = edge.session_cookie() {
        accounts::log_out(&edge.state, &value)
            .await
            .map_err(|err| edge.fail(err.into(), "/"))?;
    }
    edge.clear_session_cookie();
    edge.redirect("/login");
    Ok(())
}

/// Changes the signed-in user's password; every other session of theirs
/// ends (their tabs go to the login page), this one stays signed in.
#[server(endpoint = "password")]
pub async fn change_password(current: String, new: String) -> Result<(), ApiError> {
    use super::edge::Edge;
    use crate::server::services::accounts;

    let edge = Edge::get()?;
    let Some(value) = edge.session_cookie() else {
        return Err(edge.fail(ApiError::Unauthenticated, "/login"));
    };
    accounts::change_password(&edge.state, edge.peer_ip(), &value, &current, &new)
        .await
        .map_err(|err| edge.fail(err.into(), "/"))
}

/// "Forgot password?": emails a reset link if the address has an account.
/// The answer is the same either way (`?sent=1` on the page).
#[server(endpoint = "password/forgot")]
pub async fn forgot_password(email: String) -> Result<(), ApiError> {
    use super::edge::Edge;
    use crate::server::services::password_reset;

    let edge = Edge::get()?;
    password_reset::request(&edge.state, edge.peer_ip(), &email)
        .await
        .map_err(|err| edge.fail(err.into(), "/forgot"))?;
    edge.redirect("/forgot?sent=1");
    Ok(())
}

/// Sets a new password through a reset link's token, ends every session of
/// the account and signs this browser in.
#[server(endpoint = "password/reset")]
pub async fn reset_password(token: String, password: String) -> Result<UserView, ApiError> {
    use super::edge::Edge;
    use crate::server::services::password_reset;

    let edge = Edge::get()?;
    match password_reset::complete(&edge.state, edge.peer_ip(), &token, &password).await {
        Ok(signed_in) => Ok(edge.signed_in(&signed_in)),
        // The token goes back into the page's address (it is the visitor's
        // own) so a form posted without JavaScript can be tried again.
        Err(err) => {
            let page = match crate::validate::url_token(&token) {
                Some(token) => format!("/reset?token={token}"),
                None => "/reset".to_string(),
            };
            Err(edge.fail(err.into(), &page))
        }
    }
}

/// What the login page offers: the password form (unless admins turned
/// it off for single sign-on), a reset link when this server can send
/// email, "Sign in with …" when single sign-on is set up.
#[server(endpoint = "login/options")]
pub async fn sign_in_options() -> Result<LoginOptions, ApiError> {
    use super::edge::Edge;

    let edge = Edge::get()?;
    edge.answer(crate::server::services::sso::login_options(&edge.state).await)
}

/// The signed-in user, or `None`. Keeps the session alive (sliding expiry).
#[server(endpoint = "me")]
pub async fn current_user() -> Result<Option<UserView>, ApiError> {
    use super::edge::Edge;
    use crate::server::services::accounts;

    let edge = Edge::get()?;
    let Some(value) = edge.session_cookie() else {
        return Ok(None);
    };
    match accounts::authenticate(&edge.state, &value).await {
        // A website visitor's session is nobody here (it is the widget's).
        Ok(Some(found)) if found.user.site_id.is_some() => Ok(None),
        Ok(Some(found)) => {
            if found.refreshed {
                edge.set_session_cookie(&value);
            }
            Ok(Some(accounts::user_view(&found.user)))
        }
        Ok(None) => Ok(None),
        Err(err) => Err(edge.fail(err.into(), "/login")),
    }
}

/// What the sign-up page tells a visitor before they fill it in: the mode,
/// and in the domains mode the domains that may sign up (public anyway: the
/// refusal would reveal them one guess at a time).
#[server(endpoint = "signup/policy")]
pub async fn signup_policy() -> Result<RegistrationPolicy, ApiError> {
    use super::edge::Edge;
    use crate::model::RegistrationMode;
    use crate::server::services::registration;

    let edge = Edge::get()?;
    let mut policy = edge.answer(registration::policy(&edge.state).await)?;
    if policy.mode != RegistrationMode::Domains {
        policy.domains.clear();
    }
    Ok(policy)
}
