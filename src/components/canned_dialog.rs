//! "Canned replies…" on a support conversation: its department's ready
//! answers, which its staff add, change and delete here (and pick with `/`
//! in the composer: `canned_list`).

use leptos::prelude::*;

use crate::api::canned::{canned_replies, create_canned, delete_canned, update_canned};
use crate::components::dialogs::Dialog;
use crate::model::CannedReply;
use crate::validate::{CANNED_BODY_MAX, CANNED_TITLE_MAX};

/// "Canned replies…": the conversation's department's replies, to add,
/// change and delete (its staff). Fetched the first time it opens.
#[leptos::lazy]
pub fn canned_dialog(room: i64, department: i64, open: RwSignal<bool>) -> AnyView {
    let list = RwSignal::new(Vec::<CannedReply>::new());
    let error = RwSignal::new(None::<String>);
    let editing = RwSignal::new(None::<i64>);
    let title = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let reload = move || {
        leptos::task::spawn_local(async move {
            match canned_replies(room).await {
                Ok(found) => drop(list.try_set(found)),
                Err(err) => drop(error.try_set(Some(err.to_string()))),
            }
        });
    };
    Effect::new(move |_| {
        if open.get() {
            reload();
        }
    });
    let clear = move || {
        editing.set(None);
        title.set(String::new());
        body.set(String::new());
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (t, b) = (title.get_untracked(), body.get_untracked());
        let id = editing.get_untracked();
        leptos::task::spawn_local(async move {
            let saved = match id {
                Some(id) => update_canned(id, t, b).await,
                None => create_canned(department, t, b).await.map(|_| ()),
            };
            match saved {
                Ok(()) => {
                    error.try_set(None);
                    clear();
                    reload();
                }
                Err(err) => drop(error.try_set(Some(err.to_string()))),
            }
        });
    };
    let remove = move |id: i64| {
        leptos::task::spawn_local(async move {
            if let Err(err) = delete_canned(id).await {
                error.try_set(Some(err.to_string()));
            }
            reload();
        });
    };
    const FIELD: &str = "w-full rounded-lg border border-white/15 bg-slate-900/60 px-3 py-1.5 text-sm text-slate-100 focus:border-sky-400";
    const BUTTON: &str = "rounded-lg border border-white/15 px-3 py-1.5 text-sm hover:bg-white/10";
    view! {
        <Dialog open id="canned-dialog" title="Canned replies">
            <p class="mb-3 text-sm text-slate-300">"Type / at the start of a message to use one. {name} is the customer's name, {agent} yours."</p>
            <ul class="mb-3 max-h-64 space-y-2 overflow-y-auto" aria-label="This department's canned replies">
                <For each=move || list.get() key=|r| r.clone() let:reply>
                    {
                        let id = reply.id;
                        let shown = reply.clone();
                        view! {
                            <li class="canned-row flex items-start gap-2 text-sm">
                                <div class="min-w-0 flex-1">
                                    <p class="font-medium">{reply.title.clone()}</p>
                                    <p class="truncate text-xs text-slate-300">{reply.body.clone()}</p>
                                </div>
                                <button type="button" class=BUTTON aria-label=format!("Edit {}", reply.title)
                                    on:click=move |_| { editing.set(Some(id)); title.set(shown.title.clone()); body.set(shown.body.clone()); }>"Edit"</button>
                                <button type="button" class=BUTTON aria-label=format!("Delete {}", reply.title) on:click=move |_| remove(id)>"Delete"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
            <form id="canned-form" class="space-y-2" on:submit=save>
                <label for="canned-title" class="block text-sm text-slate-300">"Title"</label>
                <input id="canned-title" required=true maxlength=CANNED_TITLE_MAX class=FIELD bind:value=title/>
                <label for="canned-body" class="block text-sm text-slate-300">"Text"</label>
                <textarea id="canned-body" required=true rows="3" maxlength=CANNED_BODY_MAX class=FIELD bind:value=body></textarea>
                {move || error.get().map(|e| view! { <p role="alert" class="text-sm text-rose-300">{e}</p> })}
                <div class="flex gap-2">
                    <button type="submit" id="canned-save" class=BUTTON>
                        {move || if editing.get().is_some() { "Save changes" } else { "Add reply" }}
                    </button>
                    <Show when=move || editing.get().is_some()>
                        <button type="button" class=BUTTON on:click=move |_| clear()>"Cancel"</button>
                    </Show>
                </div>
            </form>
        </Dialog>
    }
    .into_any()
}
