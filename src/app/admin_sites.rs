//! The admin page's "Websites" section: the sites that embed the chat
//! widget, their snippet, and their identity secret (shown once).

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::admin_shared::{BUTTON, FIELD};
use crate::api::sites;
use crate::components::copy_button::CopyButton;
use crate::model::{DepartmentView, SiteSecret, SiteView};
use crate::validate::id_text;

/// What the form holds: a new site, or the one being edited.
#[derive(Clone, Default)]
struct Draft {
    editing: Option<i64>,
    name: String,
    origins: String,
    departments: Vec<i64>,
    anonymous: bool,
}

#[component]
pub fn Sites(departments: RwSignal<Vec<DepartmentView>>) -> impl IntoView {
    let list = RwSignal::new(Vec::<SiteView>::new());
    let secret = RwSignal::new(None::<SiteSecret>);
    let error = RwSignal::new(None::<String>);
    let draft = RwSignal::new(Draft {
        anonymous: true,
        ..Draft::default()
    });
    let reload = move || {
        spawn_local(async move {
            match sites::sites().await {
                Ok(found) => drop(list.try_set(found)),
                Err(err) => drop(error.try_set(Some(err.to_string()))),
            }
        });
    };
    Effect::new(move |_| reload());
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let d = draft.get_untracked();
        spawn_local(async move {
            let saved = match d.editing {
                Some(id) => {
                    sites::update_site(id, d.name, d.origins, id_text(&d.departments), d.anonymous)
                        .await
                        .map(|_| None)
                }
                None => sites::create_site(d.name, d.origins, id_text(&d.departments), d.anonymous)
                    .await
                    .map(Some),
            };
            match saved {
                Ok(made) => {
                    secret.try_set(made);
                    error.try_set(None);
                    draft.try_set(Draft {
                        anonymous: true,
                        ..Draft::default()
                    });
                    reload();
                }
                Err(err) => drop(error.try_set(Some(err.to_string()))),
            }
        });
    };
    let rotate = move |id: i64| {
        spawn_local(async move {
            match sites::rotate_site_secret(id).await {
                Ok(made) => drop(secret.try_set(Some(made))),
                Err(err) => drop(error.try_set(Some(err.to_string()))),
            }
        });
    };
    let edit = move |site: SiteView| {
        draft.set(Draft {
            editing: Some(site.id),
            name: site.name,
            origins: site.origins.join("\n"),
            departments: site.departments,
            anonymous: site.anonymous,
        });
    };
    let toggle_department = move |id: i64, on: bool| {
        draft.update(|d| {
            d.departments.retain(|x| *x != id);
            if on {
                d.departments.push(id);
            }
        });
    };
    view! {
        <section id="sites-section" class="glass-panel rounded-2xl p-4 md:p-6" aria-labelledby="sites-title">
            <h2 id="sites-title" class="mb-1 text-lg font-semibold">"Websites"</h2>
            <p class="mb-3 text-sm text-slate-300">"A chat button on your own website: its visitors talk to a department here. The first department ticked is the default; with several, visitors pick."</p>
            <form id="site-form" on:submit=save class="space-y-3">
                <div class="grid gap-3 md:grid-cols-2">
                    <div>
                        <label for="site-name" class="mb-1 block text-sm text-slate-300">"Name"</label>
                        <input id="site-name" required=true maxlength="60" class=format!("{FIELD} w-full")
                            prop:value=move || draft.with(|d| d.name.clone())
                            on:input=move |ev| draft.update(|d| d.name = event_target_value(&ev))/>
                    </div>
                    <div>
                        <label for="site-origins" class="mb-1 block text-sm text-slate-300">"Allowed origins"</label>
                        <textarea id="site-origins" required=true rows="2" maxlength="4000" aria-describedby="site-origins-hint"
                            class=format!("{FIELD} w-full") placeholder="https://shop.example.com"
                            prop:value=move || draft.with(|d| d.origins.clone())
                            on:input=move |ev| draft.update(|d| d.origins = event_target_value(&ev))></textarea>
                        <p id="site-origins-hint" class="text-xs text-slate-400">"Exactly as the browser shows them: scheme, host and port. Only these pages may embed the chat."</p>
                    </div>
                </div>
                <fieldset class="flex flex-wrap gap-3">
                    <legend class="mb-1 text-sm text-slate-300">"Departments"</legend>
                    <For each=move || departments.get().into_iter().filter(|d| !d.archived) key=|d| d.id let:department>
                        {
                            let id = department.id;
                            view! {
                                <label class="flex items-center gap-2 text-sm">
                                    <input id=format!("site-department-{id}") type="checkbox"
                                        prop:checked=move || draft.with(|d| d.departments.contains(&id))
                                        on:change=move |ev| toggle_department(id, event_target_checked(&ev))/>
                                    {department.name.clone()}
                                </label>
                            }
                        }
                    </For>
                </fieldset>
                <label for="site-anonymous" class="flex items-center gap-2 text-sm">
                    <input id="site-anonymous" type="checkbox" prop:checked=move || draft.with(|d| d.anonymous)
                        on:change=move |ev| draft.update(|d| d.anonymous = event_target_checked(&ev))/>
                    "Anonymous visitors may chat (name and email). Off: only visitors your site signs in with a token."
                </label>
                <div class="flex gap-2">
                    <button type="submit" id="site-save" class=BUTTON>
                        {move || if draft.with(|d| d.editing.is_some()) { "Save changes" } else { "Add website" }}
                    </button>
                    <Show when=move || draft.with(|d| d.editing.is_some())>
                        <button type="button" class=BUTTON on:click=move |_| draft.set(Draft { anonymous: true, ..Draft::default() })>"Cancel"</button>
                    </Show>
                </div>
            </form>
            {move || error.get().map(|e| view! { <p role="alert" class="mt-2 text-sm text-rose-300">{e}</p> })}
            {move || secret.get().map(|made| view! { <NewSecret made/> })}
            <ul class="mt-4 space-y-3" aria-label="Websites">
                <For each=move || list.get() key=|s| (s.id, s.name.clone(), s.origins.clone(), s.departments.clone(), s.anonymous) let:site>
                    {
                        let id = site.id;
                        let snippet = snippet(&site.key);
                        let shown = site.clone();
                        view! {
                            <li class="site-row rounded-lg border border-white/10 p-3 text-sm" data-site=site.key.clone()>
                                <div class="flex flex-wrap items-center justify-between gap-2">
                                    <span class="font-medium">{site.name.clone()}</span>
                                    <span class="text-slate-300">{site.origins.join(", ")}</span>
                                    <span class="text-slate-300">{if site.anonymous { "Anyone may chat" } else { "Verified visitors only" }}</span>
                                    <div class="flex gap-2">
                                        <button type="button" class=BUTTON aria-label=format!("Edit {}", site.name) on:click=move |_| edit(shown.clone())>"Edit"</button>
                                        <button type="button" class=BUTTON aria-label=format!("New secret for {}", site.name) on:click=move |_| rotate(id)>"New secret"</button>
                                    </div>
                                </div>
                                <div class="mt-2 flex items-center gap-2">
                                    <code class="site-snippet min-w-0 flex-1 truncate rounded bg-black/30 px-2 py-1 text-xs">{snippet.clone()}</code>
                                    <CopyButton text=snippet/>
                                </div>
                            </li>
                        }
                    }
                </For>
            </ul>
        </section>
    }
}

/// A site's new secret, with how the site uses it: shown this once.
#[component]
fn NewSecret(made: SiteSecret) -> impl IntoView {
    view! {
        <div id="site-secret" class="mt-3 space-y-2 rounded-lg border border-emerald-300/30 p-3 text-sm">
            <label for="site-secret-value" class="block text-emerald-200">
                {format!("Identity secret of {}: copy it now, it is shown only once.", made.site.name)}
            </label>
            <div class="flex items-center gap-2">
                <input id="site-secret-value" readonly value=made.secret.clone() class=format!("{FIELD} min-w-0 flex-1")/>
                <CopyButton text=made.secret.clone()/>
            </div>
            <p class="text-slate-300">"Paste this on every page of the site:"</p>
            <code class="block rounded bg-black/30 px-2 py-1 text-xs">{snippet(&made.site.key)}</code>
            <p class="text-slate-300">"To let signed-in customers in as themselves, your backend signs an HS256 JWT with this secret (claims sub: your user id, email, name, exp: at most one hour ahead) and the page calls Glasschat.identify(token)."</p>
        </div>
    }
}

/// The tag a site pastes, pointing at this server.
fn snippet(key: &str) -> String {
    format!(
        "<script src=\"{}/widget.js\" data-site=\"{key}\" async></script>",
        here()
    )
}

/// This server's origin, as the admin's browser reaches it.
fn here() -> String {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    String::new()
}
