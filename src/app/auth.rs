use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{current_user, LogIn, SignUp};
use crate::api::ApiError;
use crate::components::auth_card::{AuthCard, AuthMode, FormError, SubmitButton, TextField};
use crate::validate::{DISPLAY_NAME_MAX, PASSWORD_MAX, PASSWORD_MIN};

/// An error to show: the action's own result once the client has submitted,
/// or, after a form post without JavaScript, the code the server put in the URL.
fn form_error<T: Clone + Send + Sync + 'static>(
    action: ServerAction<
        impl leptos::server_fn::ServerFn<Output = T, Error = ApiError> + Clone + Sync + 'static,
    >,
) -> Signal<Option<ApiError>> {
    let query = use_query_map();
    Signal::derive(move || match action.value().get() {
        Some(result) => result.err(),
        None => query.with(|q| {
            let retry = q.get("retry").and_then(|r| r.parse().ok());
            q.get("error")
                .and_then(|code| ApiError::from_code(&code, retry))
        }),
    })
}

/// Signed-in visitors have nothing to do on the auth pages.
#[component]
fn RedirectIfSignedIn() -> impl IntoView {
    let me = Resource::new_blocking(|| (), |_| current_user());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(_)) => Either::Left(view! { <Redirect path="/"/> }),
                    _ => Either::Right(()),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<LogIn>::new();
    let error = form_error(login);
    view! {
        <Title text="Log in · Glasschat"/>
        <RedirectIfSignedIn/>
        <AuthCard mode=AuthMode::Login>
            <ActionForm action=login attr:class="space-y-4" attr:id="login-form">
                <TextField label="Email" name="email" kind="email" autocomplete="email" max_len=254/>
                <TextField label="Password" name="password" kind="password" autocomplete="current-password" max_len=PASSWORD_MAX/>
                <FormError error/>
                <SubmitButton pending=login.pending() idle="Log in" busy="Logging in…"/>
            </ActionForm>
        </AuthCard>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let signup = ServerAction::<SignUp>::new();
    let error = form_error(signup);
    // An invitation link carries the invited email; only a plausible one is
    // used, and only as the field's value (escaped like any attribute).
    let invited = use_query_map().with_untracked(|q| {
        q.get("email")
            .filter(|e| e.len() <= 254 && crate::validate::email(e).is_ok())
    });
    // Its token goes back with the form: it is what proves the person came
    // through the link (typing the invited email proves nothing).
    let invite = use_query_map().with_untracked(|q| {
        q.get("invite").filter(|t| {
            (1..=128).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    });
    view! {
        <Title text="Sign up · Glasschat"/>
        <RedirectIfSignedIn/>
        <AuthCard mode=AuthMode::Signup>
            <ActionForm action=signup attr:class="space-y-4" attr:id="signup-form">
                <TextField label="Email" name="email" kind="email" autocomplete="email" max_len=254 value=invited.unwrap_or_default()/>
                {invite.map(|token| view! { <input type="hidden" name="invite" value=token/> })}
                <TextField label="Display name" name="display_name" kind="text" autocomplete="name" max_len=DISPLAY_NAME_MAX/>
                <TextField label="Password" name="password" kind="password" autocomplete="new-password" max_len=PASSWORD_MAX min_len=PASSWORD_MIN/>
                <p class="text-xs text-slate-400">{format!("At least {PASSWORD_MIN} characters.")}</p>
                <FormError error/>
                <SubmitButton pending=signup.pending() idle="Create account" busy="Creating account…"/>
            </ActionForm>
        </AuthCard>
    }
}
