//! Search across the user's conversations, in the sidebar: results as
//! they type (after a short pause), newest first, grouped by conversation,
//! each with its author, time and a snippet with the matching words
//! marked. A result opens its conversation at that message. Its code is a
//! file of its own, fetched the first time search opens (Ctrl+Shift+F, the
//! sidebar's search button, or "/" in an empty composer).

use leptos::html::Input;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use leptos_router::NavigateOptions;

use crate::api::search::search_messages;
use crate::components::text::{now_ms, short_time};
use crate::model::{SearchHit, SearchResults};

/// How long typing must pause before the search runs.
const PAUSE_MS: u32 = 250;

#[leptos::lazy]
pub fn search_panel(open: RwSignal<bool>) -> AnyView {
    view! {
        <Show when=move || open.get()>
            <SearchPanel open/>
        </Show>
    }
    .into_any()
}

/// What the panel shows under the field.
#[derive(Clone, Debug, PartialEq)]
enum Shown {
    /// Nothing typed yet (or too little).
    Nothing,
    Searching,
    Found {
        asked: String,
        results: SearchResults,
    },
    Failed(String),
}

#[component]
fn SearchPanel(open: RwSignal<bool>) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let shown = RwSignal::new(Shown::Nothing);
    let loading_more = RwSignal::new(false);
    let field = NodeRef::<Input>::new();
    // Each keystroke starts a new generation; an answer to an older one is dropped.
    let generation = StoredValue::new(0_u64);
    Effect::new(move |_| {
        if let Some(input) = field.get() {
            let _ = input.focus();
        }
    });
    Effect::new(move |_| {
        let text = query.get();
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        if text.trim().chars().count() < 2 {
            shown.set(Shown::Nothing);
            return;
        }
        spawn_local(async move {
            #[cfg(feature = "hydrate")]
            gloo_timers::future::TimeoutFuture::new(PAUSE_MS).await;
            #[cfg(not(feature = "hydrate"))]
            let _ = PAUSE_MS;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            shown.set(Shown::Searching);
            let answer = search_messages(text.clone(), None).await;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            shown.set(match answer {
                Ok(results) => Shown::Found {
                    asked: text,
                    results,
                },
                Err(err) => Shown::Failed(err.to_string()),
            });
        });
    });
    let load_more = move |_| {
        let Shown::Found { asked, results } = shown.get_untracked() else {
            return;
        };
        let Some(before) = results.more else {
            return;
        };
        let mine = generation.get_value();
        loading_more.set(true);
        spawn_local(async move {
            let answer = search_messages(asked, Some(before)).await;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            loading_more.set(false);
            match answer {
                Ok(page) => shown.update(|s| {
                    if let Shown::Found { results, .. } = s {
                        results.hits.extend(page.hits);
                        results.more = page.more;
                    }
                }),
                Err(err) => shown.set(Shown::Failed(err.to_string())),
            }
        });
    };
    let close = move || {
        open.set(false);
        // The search button is drawn again in place of the panel: then focus it.
        #[cfg(feature = "hydrate")]
        request_animation_frame(|| focus_by_id("search-open"));
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            close();
        }
        "ArrowDown" => {
            ev.prevent_default();
            move_focus(0, 1);
        }
        _ => {}
    };
    view! {
        <div id="search-panel" role="search" class="flex min-h-0 flex-1 flex-col px-4 pt-3">
            <div class="flex items-center gap-2">
                <label for="search-input" class="sr-only">"Search messages"</label>
                <input id="search-input" type="search" node_ref=field bind:value=query on:keydown=on_keydown
                    placeholder="Search messages" autocomplete="off" aria-controls="search-results"
                    aria-describedby="search-help"
                    class="min-w-0 flex-1 rounded-lg border border-sky-400/60 bg-slate-900/60 px-3 py-1.5 text-sm text-slate-100 placeholder:text-slate-400 focus:border-sky-400"/>
                <button id="search-close" type="button" on:click=move |_| close()
                    class="rounded-lg px-2 py-1 text-sm text-slate-300 hover:bg-white/10">"Close"</button>
            </div>
            <p id="search-help" class="mt-1 text-xs text-slate-400">
                "Words, \"a phrase\", from:name, in:conversation, before:2026-12-01, after:…, has:link, has:file"
            </p>
            <div id="search-results" class="mt-2 min-h-0 flex-1 overflow-y-auto pb-4" aria-live="polite"
                on:keydown=on_results_key>
                {move || match shown.get() {
                    Shown::Nothing => view! {
                        <p class="text-sm text-slate-400">"Type two letters or more to search your conversations."</p>
                    }.into_any(),
                    Shown::Searching => view! {
                        <p class="text-sm text-slate-400">"Searching…"</p>
                    }.into_any(),
                    Shown::Failed(reason) => view! {
                        <p id="search-error" role="alert" class="text-sm text-rose-300">{reason}</p>
                    }.into_any(),
                    Shown::Found { asked, results } => view! {
                        <Results asked results load_more loading_more/>
                    }.into_any(),
                }}
            </div>
        </div>
    }
}

#[component]
fn Results(
    asked: String,
    results: SearchResults,
    load_more: impl Fn(leptos::ev::MouseEvent) + Copy + Send + Sync + 'static,
    loading_more: RwSignal<bool>,
) -> impl IntoView {
    let indexing = results.indexing.map(|percent| {
        view! {
            <p id="search-indexing" class="mb-2 text-xs text-amber-200">
                {format!("Older messages are still being indexed ({percent}% done): some may be missing.")}
            </p>
        }
    });
    if results.hits.is_empty() {
        return view! {
            {indexing}
            <p id="search-empty" class="text-sm text-slate-300">
                {format!("No messages match “{}” in your conversations.", asked.trim())}
            </p>
        }
        .into_any();
    }
    let now = now_ms();
    let more = results.more.is_some();
    let groups = group_by_room(results.hits);
    view! {
        {indexing}
        <p class="sr-only">{format!("Results for “{}”", asked.trim())}</p>
        {groups.into_iter().map(|(name, hits)| view! {
            <section class="mb-3">
                <h3 class="mb-1 truncate text-xs font-semibold uppercase tracking-wide text-slate-400">{name}</h3>
                <ul class="space-y-1">
                    {hits.into_iter().map(|hit| view! { <li><HitRow hit now/></li> }).collect_view()}
                </ul>
            </section>
        }).collect_view()}
        {more.then(|| view! {
            <button id="search-more" type="button" on:click=load_more disabled=move || loading_more.get()
                class="mt-1 w-full rounded-lg border border-white/15 px-3 py-1.5 text-sm text-slate-100 hover:bg-white/10">
                {move || if loading_more.get() { "Loading…" } else { "Older results" }}
            </button>
        })}
    }
    .into_any()
}

/// Hits in order, in runs by conversation: the newest hit's conversation
/// first, and each conversation's hits together, newest first.
fn group_by_room(hits: Vec<SearchHit>) -> Vec<(String, Vec<SearchHit>)> {
    let mut groups: Vec<(i64, String, Vec<SearchHit>)> = Vec::new();
    for hit in hits {
        match groups.iter_mut().find(|(room, _, _)| *room == hit.room) {
            Some((_, _, list)) => list.push(hit),
            None => groups.push((hit.room, hit.room_name.clone(), vec![hit])),
        }
    }
    groups
        .into_iter()
        .map(|(_, name, list)| (name, list))
        .collect()
}

#[component]
fn HitRow(hit: SearchHit, now: i64) -> impl IntoView {
    let navigate = use_navigate();
    let path = format!("/c/{}/{}", hit.room, hit.seq);
    let jump = move |_| navigate(&path, NavigateOptions::default());
    view! {
        <button type="button" class="search-hit w-full rounded-lg px-2 py-1.5 text-left hover:bg-white/10 focus:bg-white/10"
            data-room=hit.room data-seq=hit.seq on:click=jump>
            <span class="flex items-baseline gap-2 text-xs">
                <span class="truncate font-semibold text-slate-100">{hit.sender_name.clone()}</span>
                // Named by what it shows, with the conversation for a screen reader.
                <span class="sr-only">{format!(" in {},", hit.room_name)}</span>
                <span class="shrink-0 text-slate-400">{short_time(hit.created_at, now)}</span>
            </span>
            <span class="line-clamp-3 block text-sm text-slate-200">
                {hit.snippet.into_iter().map(|part| if part.hit {
                    view! { <mark class="rounded bg-amber-300/80 px-0.5 text-slate-950">{part.text}</mark> }.into_any()
                } else {
                    view! { <span>{part.text}</span> }.into_any()
                }).collect_view()}
            </span>
        </button>
    }
}

/// Up and Down move between results (and Up from the first goes back to
/// the field).
fn on_results_key(ev: leptos::ev::KeyboardEvent) {
    let step = match ev.key().as_str() {
        "ArrowDown" => 1,
        "ArrowUp" => -1,
        _ => return,
    };
    ev.prevent_default();
    let at = current_hit().unwrap_or(0);
    if step < 0 && at == 0 {
        focus_by_id("search-input");
    } else {
        move_focus(at, step);
    }
}

#[cfg(feature = "hydrate")]
fn hits() -> Vec<web_sys::HtmlElement> {
    use wasm_bindgen::JsCast;
    let Some(list) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector_all(".search-hit").ok())
    else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect()
}

/// Which result has the focus.
fn current_hit() -> Option<usize> {
    #[cfg(feature = "hydrate")]
    {
        let active = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())?;
        hits()
            .iter()
            .position(|h| AsRef::<web_sys::Element>::as_ref(h) == &active)
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

/// Focuses the result `step` away from `at` (from the field: the first).
fn move_focus(at: usize, step: i64) {
    #[cfg(feature = "hydrate")]
    {
        let all = hits();
        let next = if current_hit().is_none() {
            0
        } else {
            (at as i64 + step).clamp(0, all.len() as i64 - 1) as usize
        };
        if let Some(hit) = all.get(next) {
            let _ = hit.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (at, step);
}

fn focus_by_id(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}
