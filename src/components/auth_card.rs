use leptos::prelude::*;

use crate::api::ApiError;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    Login,
    Signup,
    /// "Forgot password?" and the reset link's page: no tabs.
    Recover,
    /// The unsubscribe page: no tabs.
    Email,
}

/// The frosted card over the dark gradient, with the switch between logging
/// in and signing up.
#[component]
pub fn AuthCard(mode: AuthMode, children: Children) -> impl IntoView {
    let tab = move |this: AuthMode, href: &'static str, label: &'static str| {
        let active = this == mode;
        view! {
            <a
                href=href
                aria-current=if active { Some("page") } else { None }
                class=if active {
                    "flex-1 rounded-lg bg-white/15 px-3 py-2 text-center text-sm font-semibold text-white shadow"
                } else {
                    "flex-1 rounded-lg px-3 py-2 text-center text-sm text-slate-300 hover:bg-white/5 hover:text-white"
                }
            >
                {label}
            </a>
        }
    };
    view! {
        <main class="flex min-h-screen items-center justify-center p-4">
            <section class="glass-panel w-full max-w-sm rounded-2xl p-8" aria-labelledby="auth-title">
                <div class="mb-6 text-center">
                    <div class="mx-auto mb-3 flex h-12 w-12 items-center justify-center rounded-2xl bg-gradient-to-br from-sky-400 to-violet-500 text-xl font-bold text-white shadow-lg" aria-hidden="true">
                        "G"
                    </div>
                    <h1 id="auth-title" class="text-2xl font-semibold tracking-tight">
                        {match mode {
                            AuthMode::Login => "Welcome back",
                            AuthMode::Signup => "Create your account",
                            AuthMode::Recover => "Reset your password",
                            AuthMode::Email => "Email notifications",
                        }}
                    </h1>
                    <p class="mt-1 text-sm text-slate-400">"Glasschat: team and support chat"</p>
                </div>
                {matches!(mode, AuthMode::Login | AuthMode::Signup).then(|| view! {
                    <nav class="mb-6 flex gap-1 rounded-xl bg-black/20 p-1" aria-label="Log in or sign up">
                        {tab(AuthMode::Login, "/login", "Log in")}
                        {tab(AuthMode::Signup, "/signup", "Sign up")}
                    </nav>
                })}
                {children()}
            </section>
        </main>
    }
}

#[component]
pub fn TextField(
    label: &'static str,
    name: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    max_len: usize,
    #[prop(optional)] min_len: Option<usize>,
    /// A value to start with (an invitation link fills in the email).
    #[prop(optional, into)]
    value: Option<String>,
) -> impl IntoView {
    let id = format!("field-{name}");
    view! {
        <div>
            <label for=id.clone() class="mb-1 block text-sm font-medium text-slate-200">{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                required=true
                maxlength=max_len
                minlength=min_len
                value=value
                class="w-full rounded-lg border border-white/15 bg-white/5 px-3 py-2 text-slate-100 placeholder-slate-500 transition focus:border-sky-400 focus:ring-2 focus:ring-sky-400/40"
            />
        </div>
    }
}

/// The form's error, announced to screen readers.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<ApiError>>) -> impl IntoView {
    move || {
        error.get().map(|err| {
            view! {
                <p id="form-error" role="alert" class="rounded-lg border border-rose-400/30 bg-rose-500/10 px-3 py-2 text-sm text-rose-200">
                    {err.to_string()}
                </p>
            }
        })
    }
}

#[component]
pub fn SubmitButton(
    #[prop(into)] pending: Signal<bool>,
    idle: &'static str,
    busy: &'static str,
) -> impl IntoView {
    view! {
        <button
            type="submit"
            disabled=move || pending.get()
            class="w-full rounded-lg bg-gradient-to-r from-sky-500 to-violet-500 px-4 py-2 font-semibold text-white shadow-lg transition hover:brightness-110 disabled:opacity-60"
        >
            {move || if pending.get() { busy } else { idle }}
        </button>
    }
}
