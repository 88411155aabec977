//! The admin page's "Single sign-on" section: the organisation's OpenID
//! Provider (set up in the server's settings, shown here), whether a first
//! sign-in takes over an account by its verified email, and whether
//! passwords still sign in.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::admin_shared::{Console, SaveRow};
use crate::api::admin;
use crate::model::SsoView;

#[component]
pub(super) fn SingleSignOn() -> impl IntoView {
    let console = expect_context::<Console>();
    let shown = RwSignal::new(None::<SsoView>);
    let link = RwSignal::new(false);
    let password = RwSignal::new(true);
    let status = RwSignal::new(None::<Result<&'static str, String>>);
    let show = move |view: SsoView| {
        link.try_set(view.link_by_email);
        password.try_set(view.password_login);
        shown.try_set(Some(view));
    };
    Effect::new(move |_| {
        spawn_local(async move {
            match admin::sso_settings().await {
                Ok(view) => show(view),
                Err(err) => drop(console.error.try_set(Some(err.to_string()))),
            }
        });
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (l, p) = (link.get_untracked(), password.get_untracked());
        spawn_local(async move {
            match admin::set_sso(l, p).await {
                Ok(view) => {
                    show(view);
                    status.try_set(Some(Ok("Saved.")));
                    console.reload();
                }
                Err(err) => drop(status.try_set(Some(Err(err.to_string())))),
            }
        });
    };
    let configured = move || shown.with(|v| v.as_ref().is_some_and(|v| v.name.is_some()));
    view! {
        <section id="sso-section" class="glass-panel rounded-2xl p-4 md:p-6" aria-labelledby="sso-title">
            <h2 id="sso-title" class="mb-3 text-lg font-semibold">"Single sign-on"</h2>
            <p id="sso-provider" class="mb-3 text-sm text-slate-300">
                {move || shown.get().map(|v| match (v.name, v.issuer) {
                    (Some(name), Some(issuer)) => format!("People sign in with {name} ({issuer}). A first sign-in makes an account, whatever the sign-up rule."),
                    _ => "Not set up. Set GLASSCHAT_OIDC_ISSUER, GLASSCHAT_OIDC_CLIENT_ID and GLASSCHAT_OIDC_CLIENT_SECRET on the server to offer it.".to_string(),
                })}
            </p>
            <Show when=configured>
                <form id="sso-form" on:submit=save class="space-y-2">
                    <Toggle id="sso-link-by-email" on=link label="Link existing accounts by email"
                        hint="A first sign-in takes over the account with the same address, when the provider says it is verified. Off: such a sign-in is refused."/>
                    <Toggle id="sso-password-login" on=password label="Allow sign-in with a password"
                        hint="Off: the login page offers single sign-on only, and passwords are refused. If the provider is ever down: glasschat admin password-login on."/>
                    <SaveRow status/>
                </form>
            </Show>
        </section>
    }
}

/// A checkbox with its label and a line saying what it does.
#[component]
fn Toggle(
    id: &'static str,
    on: RwSignal<bool>,
    label: &'static str,
    hint: &'static str,
) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    view! {
        <div class="flex items-start gap-2">
            <input type="checkbox" id=id class="mt-1" aria-describedby=hint_id.clone()
                prop:checked=move || on.get() on:change=move |ev| on.set(event_target_checked(&ev))/>
            <div>
                <label for=id class="block text-sm text-slate-100">{label}</label>
                <p id=hint_id class="text-xs text-slate-300">{hint}</p>
            </div>
        </div>
    }
}
