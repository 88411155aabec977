//! `/forgot` ("Forgot password?") and `/reset?token=…` (the emailed link's
//! page): lazy routes, like the login page, that the chat page never loads.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::auth::{form_error, RedirectIfSignedIn};
use crate::api::auth::{ForgotPassword, ResetPassword};
use crate::components::auth_card::{AuthCard, AuthMode, FormError, SubmitButton, TextField};
use crate::validate::{PASSWORD_MAX, PASSWORD_MIN};

#[component]
pub fn ForgotPage() -> impl IntoView {
    let forgot = ServerAction::<ForgotPassword>::new();
    let error = form_error(forgot);
    // Sent: the action succeeded here, or (a form posted without
    // JavaScript) the server's redirect says so.
    let query = use_query_map();
    let sent = move || {
        matches!(forgot.value().get(), Some(Ok(())))
            || query.with(|q| q.get("sent").as_deref() == Some("1"))
    };
    view! {
        <Title text="Reset your password · Glasschat"/>
        <RedirectIfSignedIn/>
        <AuthCard mode=AuthMode::Recover>
            <Show
                when=sent
                fallback=move || view! {
                    <ActionForm action=forgot attr:class="space-y-4" attr:id="forgot-form">
                        <p class="text-sm text-slate-300">"Enter your account's email address and we will send you a link to choose a new password."</p>
                        <TextField label="Email" name="email" kind="email" autocomplete="email" max_len=254/>
                        <FormError error/>
                        <SubmitButton pending=forgot.pending() idle="Send the link" busy="Sending…"/>
                    </ActionForm>
                }
            >
                <p id="forgot-sent" role="status" class="rounded-lg border border-emerald-300/30 bg-emerald-400/10 px-3 py-2 text-sm text-emerald-100">
                    "If an account uses that address, a link to reset its password is on its way. It works once, for 30 minutes."
                </p>
            </Show>
            <p class="mt-6 text-center text-sm text-slate-400">
                <a href="/login" class="underline hover:text-white">"Back to log in"</a>
            </p>
        </AuthCard>
    }
}

#[component]
pub fn ResetPage() -> impl IntoView {
    let reset = ServerAction::<ResetPassword>::new();
    let error = form_error(reset);
    // Only URL-safe text of a plausible length goes into the form.
    let token = use_query_map().with_untracked(|q| {
        q.get("token")
            .filter(|t| crate::validate::url_token(t).is_some())
    });
    view! {
        <Title text="Choose a new password · Glasschat"/>
        <AuthCard mode=AuthMode::Recover>
            {match token {
                Some(token) => view! {
                    <ActionForm action=reset attr:class="space-y-4" attr:id="reset-form">
                        <input type="hidden" name="token" value=token/>
                        <TextField label="New password" name="password" kind="password" autocomplete="new-password" max_len=PASSWORD_MAX min_len=PASSWORD_MIN/>
                        <p class="text-xs text-slate-400">{format!("At least {PASSWORD_MIN} characters and hard to guess. Setting it signs you out on every other device.")}</p>
                        <FormError error/>
                        <SubmitButton pending=reset.pending() idle="Set the new password" busy="Saving…"/>
                    </ActionForm>
                }.into_any(),
                None => view! {
                    <p id="form-error" role="alert" class="rounded-lg border border-rose-400/30 bg-rose-500/10 px-3 py-2 text-sm text-rose-200">
                        "This page needs the link from the email. "
                        <a href="/forgot" class="underline">"Ask for a new one"</a>"."
                    </p>
                }.into_any(),
            }}
            <p class="mt-6 text-center text-sm text-slate-400">
                <a href="/forgot" class="underline hover:text-white">"Ask for a new link"</a>
                " · "
                <a href="/login" class="underline hover:text-white">"Log in"</a>
            </p>
        </AuthCard>
    }
}

lazy_page! {
    /// The two pages as routes whose code is its own WASM file.
    ForgotRoute => ForgotPage
}

lazy_page! {
    ResetRoute => ResetPage
}
