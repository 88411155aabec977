use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::rooms::history;
use crate::components::chat_client::{ChatClient, OutboxStatus};
use crate::realtime::protocol::{MessageKind, MessageView};

const HISTORY_PAGE: i64 = 50;

/// The right pane: the selected room's messages and the composer.
#[component]
pub fn MessagePane() -> impl IntoView {
    let client = expect_context::<ChatClient>();
    view! {
        <main class="glass-panel hidden flex-1 flex-col md:flex md:rounded-2xl" aria-label="Messages">
            {move || match client.selected.get() {
                Some(room) => view! { <RoomView room/> }.into_any(),
                None => view! {
                    <div class="flex flex-1 flex-col items-center justify-center">
                        <p class="text-lg font-medium text-slate-200">"Pick a conversation"</p>
                        <p class="mt-1 text-sm text-slate-400">"Messages you send and receive appear here."</p>
                    </div>
                }
                .into_any(),
            }}
        </main>
    }
}

#[component]
fn RoomView(room: i64) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let older_done = RwSignal::new(false);

    let load_older = move || {
        let before = client.state.with_untracked(|s| {
            s.rooms.get(&room).map(|r| {
                r.messages
                    .keys()
                    .next()
                    .copied()
                    .unwrap_or(r.summary.last_seq + 1)
            })
        });
        let Some(before) = before else { return };
        spawn_local(async move {
            if let Ok(page) = history(room, before, HISTORY_PAGE).await {
                if (page.len() as i64) < HISTORY_PAGE {
                    older_done.set(true);
                }
                client.state.update(|s| s.add_history(room, &page));
            }
        });
    };
    // Opening a room loads its latest page.
    Effect::new(move |_| load_older());

    // Reading: whenever this room shows unread messages, mark them read.
    Effect::new(move |_| {
        let latest = client.state.with(|s| {
            s.rooms
                .get(&room)
                .filter(|r| r.summary.unread > 0)
                .map(|r| r.summary.last_seq)
        });
        if let Some(seq) = latest {
            client.mark_read(room, seq);
        }
    });

    let title = move || {
        client.state.with(|s| {
            s.rooms
                .get(&room)
                .map(|r| r.summary.name.clone())
                .unwrap_or_default()
        })
    };
    let messages = move || {
        client.state.with(|s| {
            s.rooms
                .get(&room)
                .map(|r| r.messages.values().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })
    };
    let pending = move || {
        client.outbox.with(|o| {
            o.iter()
                .filter(|i| i.room == room && !matches!(i.status, OutboxStatus::Sent(_)))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let draft = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = draft.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        client.send(room, body);
        draft.set(String::new());
    };

    view! {
        <header class="border-b border-white/10 px-6 py-4">
            <h2 id="room-title" class="text-lg font-semibold">{title}</h2>
        </header>
        <div class="flex-1 space-y-2 overflow-y-auto px-6 py-4" id="messages" aria-live="polite">
            <Show when=move || !older_done.get()>
                <button type="button" on:click=move |_| load_older() class="text-xs text-sky-300 hover:underline">"Load older messages"</button>
            </Show>
            <For each=messages key=|m| m.seq let:message>
                <MessageRow message/>
            </For>
            <For each=pending key=|i| (i.client_id.clone(), i.status.clone()) let:item>
                {
                    let id = item.client_id.clone();
                    view! {
                        <div class="outbox ml-auto max-w-[75%] rounded-2xl bg-sky-500/30 px-4 py-2 opacity-80">
                            <p class="whitespace-pre-wrap break-words">{item.body.clone()}</p>
                            {match item.status {
                                OutboxStatus::Failed(why) => view! {
                                    <p class="mt-1 text-xs text-rose-200">
                                        {format!("Failed: {why} ")}
                                        <button type="button" class="underline" on:click=move |_| client.retry(&id)>"Retry"</button>
                                    </p>
                                }.into_any(),
                                _ => view! { <p class="mt-1 text-xs text-slate-300">"Sending…"</p> }.into_any(),
                            }}
                        </div>
                    }
                }
            </For>
        </div>
        <form id="composer" on:submit=submit class="flex gap-2 border-t border-white/10 p-4">
            <label class="sr-only" for="composer-input">"Message"</label>
            <input id="composer-input" autocomplete="off" maxlength=10000 placeholder="Write a message" bind:value=draft
                class="flex-1 rounded-xl border border-white/15 bg-white/5 px-4 py-2 outline-none focus:border-sky-400"/>
            <button type="submit" class="rounded-xl bg-gradient-to-r from-sky-500 to-violet-500 px-4 py-2 font-semibold text-white">"Send"</button>
        </form>
    }
}

#[component]
fn MessageRow(message: MessageView) -> impl IntoView {
    let system = message.kind == MessageKind::System;
    view! {
        <article class=if system { "message text-center text-xs text-slate-400" } else { "message rounded-2xl bg-white/5 px-4 py-2" } data-seq=message.seq>
            <Show when=move || !system>
                <p class="text-xs text-slate-400">
                    <span class="font-semibold text-slate-200">{message.sender_name.clone()}</span>
                    " · "
                    {clock(message.created_at)}
                </p>
            </Show>
            <p class="body whitespace-pre-wrap break-words">{message.body.clone()}</p>
        </article>
    }
}

/// `HH:MM` in the viewer's local time (UTC while rendering on the server).
fn clock(ms: i64) -> String {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let minutes = ms.div_euclid(60_000);
        format!(
            "{:02}:{:02}",
            minutes.div_euclid(60).rem_euclid(24),
            minutes.rem_euclid(60)
        )
    }
}
