use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{current_user, sign_in_options, signup_policy, LogIn, SignUp};
use crate::api::ApiError;
use crate::components::auth_card::{AuthCard, AuthMode, FormError, SubmitButton, TextField};
use crate::model::RegistrationMode;
use crate::validate::{DISPLAY_NAME_MAX, PASSWORD_MAX, PASSWORD_MIN};

/// An error to show: the action's own result once the client has submitted,
/// or, after a form post without JavaScript, the code the server put in the URL.
pub(super) fn form_error<T: Clone + Send + Sync + 'static>(
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
pub(super) fn RedirectIfSignedIn() -> impl IntoView {
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
    let options = Resource::new_blocking(|| (), |_| sign_in_options());
    view! {
        <Title text="Log in · Glasschat"/>
        <RedirectIfSignedIn/>
        <AuthCard mode=AuthMode::Login>
            <Suspense>
                {move || Suspend::new(async move {
                    let options = options.await.ok();
                    let password = options.as_ref().is_none_or(|o| o.password);
                    let sso = options.as_ref().and_then(|o| o.sso.clone());
                    let email = options.as_ref().is_some_and(|o| o.email);
                    view! {
                        // A real link: the provider's page is a top-level navigation.
                        {sso.map(|name| view! {
                            <a id="sso-link" href="/auth/sso" rel="external"
                                class="mb-4 block w-full rounded-xl border border-sky-300/50 bg-sky-400/10 px-4 py-2.5 text-center font-medium text-sky-100 hover:bg-sky-400/20">
                                {format!("Sign in with {name}")}
                            </a>
                        })}
                        {(!password).then(|| view! { <FormError error/> })}
                        {password.then(|| view! {
                            <ActionForm action=login attr:class="space-y-4" attr:id="login-form">
                                <TextField label="Email" name="email" kind="email" autocomplete="email" max_len=254/>
                                <TextField label="Password" name="password" kind="password" autocomplete="current-password" max_len=PASSWORD_MAX/>
                                <FormError error/>
                                <SubmitButton pending=login.pending() idle="Log in" busy="Logging in…"/>
                            </ActionForm>
                        })}
                        // Offered only when this server can send the link.
                        {email.then(|| view! {
                            <p class="mt-4 text-center text-sm">
                                <a id="forgot-link" href="/forgot" class="text-slate-300 underline hover:text-white">"Forgot password?"</a>
                            </p>
                        })}
                    }
                })}
            </Suspense>
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
        q.get("invite")
            .filter(|t| crate::validate::url_token(t).is_some())
    });
    let policy = Resource::new_blocking(|| (), |_| signup_policy());
    let has_invite = invite.is_some();
    view! {
        <Title text="Sign up · Glasschat"/>
        <RedirectIfSignedIn/>
        <AuthCard mode=AuthMode::Signup>
            <Suspense>
                {move || {
                    let (invited, invite) = (invited.clone(), invite.clone());
                    Suspend::new(async move {
                        let policy = policy.await.ok();
                        let mode = policy.as_ref().map(|p| p.mode);
                        // Without an invitation, an invite-only server shows why
                        // there is no form (the server refuses such a sign-up anyway).
                        let closed = mode == Some(RegistrationMode::Invite) && !has_invite;
                        let note = match policy {
                            Some(_) if closed => Some(view! {
                                <p id="signup-policy" role="note" class="rounded-lg border border-amber-300/40 bg-amber-300/10 px-3 py-2 text-sm text-amber-100">
                                    "Sign-up here is by invitation only. Ask a member or an admin for an invitation link, or "
                                    <a href="/login" class="underline">"log in"</a>"."
                                </p>
                            }.into_any()),
                            Some(p) if p.mode == RegistrationMode::Domains => Some(view! {
                                <p id="signup-policy" role="note" class="mb-4 text-sm text-slate-300">
                                    {format!("Open to addresses at {}{}.", p.domains.join(", "), if has_invite { " (or through your invitation)" } else { "" })}
                                </p>
                            }.into_any()),
                            _ => None,
                        };
                        view! {
                            {note}
                            {(!closed).then(|| view! { <SignupForm signup error invited invite/> })}
                        }
                    })
                }}
            </Suspense>
        </AuthCard>
    }
}

#[component]
fn SignupForm(
    signup: ServerAction<SignUp>,
    error: Signal<Option<ApiError>>,
    invited: Option<String>,
    invite: Option<String>,
) -> impl IntoView {
    view! {
        <ActionForm action=signup attr:class="space-y-4" attr:id="signup-form">
            <TextField label="Email" name="email" kind="email" autocomplete="email" max_len=254 value=invited.unwrap_or_default()/>
            {invite.map(|token| view! { <input type="hidden" name="invite" value=token/> })}
            <TextField label="Display name" name="display_name" kind="text" autocomplete="name" max_len=DISPLAY_NAME_MAX/>
            <TextField label="Password" name="password" kind="password" autocomplete="new-password" max_len=PASSWORD_MAX min_len=PASSWORD_MIN/>
            <p class="text-xs text-slate-400">{format!("At least {PASSWORD_MIN} characters and hard to guess: a few uncommon words work well.")}</p>
            <FormError error/>
            <SubmitButton pending=signup.pending() idle="Create account" busy="Creating account…"/>
        </ActionForm>
    }
}

lazy_page! {
    /// `/login` and `/signup` as routes whose code is its own WASM file: the
    /// chat page, which most visits open, does not carry the auth forms.
    LoginRoute => LoginPage
}

lazy_page! {
    SignupRoute => SignupPage
}
