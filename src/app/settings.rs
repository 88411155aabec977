//! `/settings` (a member's notifications: email, and pushes to devices) and `/unsubscribe?token=…`
//! (the digest's one-click way out, no sign-in needed): lazy routes the
//! chat page never loads.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::api::notifications::{email_settings, SetEmailDelay};
use crate::api::ApiError;
use crate::components::auth_card::{AuthCard, AuthMode, FormError, SubmitButton};
use crate::components::push_devices::PushDevices;

/// The choices, in minutes, with what the page calls them.
const DELAYS: [(i64, &str); 3] = [
    (60, "When a message for me waits unread for an hour"),
    (15, "When a message for me waits unread for 15 minutes"),
    (0, "Never"),
];

#[component]
pub fn SettingsPage() -> impl IntoView {
    let settings = Resource::new_blocking(|| (), |_| email_settings());
    let save = ServerAction::<SetEmailDelay>::new();
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let saved = move || matches!(save.value().get(), Some(Ok(())));
    view! {
        <Title text="Notifications · Glasschat"/>
        <main class="mx-auto max-w-xl p-6">
            <a href="/" rel="external" class="text-sm text-sky-300 underline">"← Back to chats"</a>
            <h1 class="mt-4 text-2xl font-semibold">"Notifications"</h1>
            <h2 id="email" class="mt-6 text-xl font-semibold">"Email"</h2>
            <p class="mt-2 text-sm text-slate-300">
                "A direct message, a mention or a support conversation that waits for you can be emailed to you: one email listing what you missed, never while you are reading."
            </p>
            <Suspense fallback=|| view! { <p class="mt-6 text-slate-400">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Err(ApiError::Unauthenticated) => Either::Left(view! { <Redirect path="/login"/> }),
                        Err(err) => Either::Right(view! { <p role="alert" class="mt-6 text-rose-300">{err.to_string()}</p> }.into_any()),
                        Ok(view) if !view.available => Either::Right(view! {
                            <p id="email-off" role="note" class="mt-6 rounded-lg border border-amber-300/40 bg-amber-300/10 px-3 py-2 text-sm text-amber-100">
                                "This server does not send email. An admin turns it on by setting GLASSCHAT_SMTP_HOST and GLASSCHAT_SMTP_FROM (and the port, security and login if the mail server needs them; see the README) and restarting Glasschat."
                            </p>
                        }.into_any()),
                        Ok(view) => Either::Right(view! {
                            <ActionForm action=save attr:id="email-settings" attr:class="mt-6 space-y-4">
                                <fieldset class="space-y-2">
                                    <legend class="mb-2 text-sm font-medium text-slate-200">"Email me"</legend>
                                    {DELAYS.iter().map(|&(minutes, label)| view! {
                                        <label class="flex items-center gap-2 text-sm text-slate-100">
                                            <input type="radio" name="minutes" value=minutes.to_string() checked=view.delay_minutes == minutes
                                                id=format!("email-delay-{minutes}")/>
                                            {label}
                                        </label>
                                    }).collect_view()}
                                </fieldset>
                                <FormError error/>
                                <SubmitButton pending=save.pending() idle="Save" busy="Saving…"/>
                                <Show when=saved>
                                    <p id="email-saved" role="status" class="text-sm text-emerald-200">"Saved."</p>
                                </Show>
                            </ActionForm>
                        }.into_any()),
                    }
                })}
            </Suspense>
            <PushDevices/>
        </main>
    }
}

#[component]
pub fn UnsubscribePage() -> impl IntoView {
    let query = use_query_map();
    let (token, done, failed) = query.with_untracked(|q| {
        (
            q.get("token")
                .filter(|t| crate::validate::url_token(t).is_some()),
            q.get("done").is_some(),
            q.get("error").is_some(),
        )
    });
    let body = if done {
        view! {
            <p id="unsubscribed" role="status" class="rounded-lg border border-emerald-300/30 bg-emerald-400/10 px-3 py-2 text-sm text-emerald-100">
                "Done: you will get no more missed-message emails. You can turn them on again in your settings."
            </p>
        }
        .into_any()
    } else if failed || token.is_none() {
        view! {
            <p id="form-error" role="alert" class="rounded-lg border border-rose-400/30 bg-rose-500/10 px-3 py-2 text-sm text-rose-200">
                "This unsubscribe link is not valid. Sign in and change your email notifications in the settings instead."
            </p>
        }
        .into_any()
    } else {
        // A plain form: the same address a mail program posts to in one
        // click, so it works before (or without) the app's code.
        let action = format!("/api/email/unsubscribe?token={}", token.unwrap_or_default());
        view! {
            <form method="post" action=action id="unsubscribe-form" class="space-y-4">
                <input type="hidden" name="List-Unsubscribe" value="One-Click"/>
                <p class="text-sm text-slate-300">"Stop the emails that list messages you missed?"</p>
                <SubmitButton pending=Signal::stored(false) idle="Stop these emails" busy="…"/>
            </form>
        }
        .into_any()
    };
    view! {
        <Title text="Unsubscribe · Glasschat"/>
        <AuthCard mode=AuthMode::Email>
            {body}
            <p class="mt-6 text-center text-sm text-slate-400">
                <a href="/settings" rel="external" class="underline hover:text-white">"Email settings"</a>
            </p>
        </AuthCard>
    }
}

lazy_page! {
    SettingsRoute => SettingsPage
}

lazy_page! {
    UnsubscribeRoute => UnsubscribePage
}
