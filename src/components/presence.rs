//! Other people, live: a dot for who is online or away (with "last seen"),
//! the "Ada is typing…" line above the composer, and read receipts under
//! messages. The data is `realtime::awareness`, filled by the socket; this
//! tab tells the server whether it is in use (`track_activity`).

use leptos::prelude::*;

use crate::api::presence::{my_privacy, room_readers, set_privacy};
use crate::components::chat_client::{ChatClient, ConnState};
use crate::components::text::now_ms;
use crate::model::Privacy;
use crate::realtime::awareness::{presence_label, Receipt};
use crate::realtime::protocol::Presence;

/// A person's presence dot, named for screen readers ("Online", "Last
/// seen 5 min ago"). `name` is who it is about.
#[component]
pub fn PresenceDot(user: i64, #[prop(into)] name: String) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let view_of = move || client.awareness.with(|a| a.presence(user));
    let label = move || presence_label(view_of(), now_ms() as f64);
    let state = move || view_of().map_or(Presence::Offline, |v| v.state);
    view! {
        <span role="img" data-user=user
            data-presence=move || match state() { Presence::Online => "online", Presence::Away => "away", Presence::Offline => "offline" }
            aria-label=move || format!("{name}: {}", label())
            title=label
            class=move || format!("presence inline-block h-2.5 w-2.5 shrink-0 rounded-full ring-2 ring-slate-900 {}", match state() {
                Presence::Online => "bg-emerald-400",
                Presence::Away => "bg-amber-300",
                Presence::Offline => "border border-slate-400 bg-transparent",
            })></span>
    }
}

/// "Online", "Away" or "Last seen 2 h ago" for a conversation's header.
pub fn presence_text(client: ChatClient, user: i64) -> String {
    presence_label(client.awareness.with(|a| a.presence(user)), now_ms() as f64)
}

/// "Ada is typing…" above the composer of `room` (a polite live region).
#[component]
pub fn TypingLine(room: i64) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let line = move || client.awareness.with(|a| a.typing_line(room));
    view! {
        <p id="typing" aria-live="polite" class="h-5 px-4 text-xs italic text-slate-300 md:px-6">
            {move || line().unwrap_or_default()}
        </p>
    }
}

/// Which message of the open conversation shows a receipt, and what; one
/// memo per conversation, shared by its rows.
#[derive(Clone, Copy)]
pub struct RoomReceipt(pub Memo<Option<(i64, Receipt)>>);

/// Makes the open conversation's receipt (asking the server how far its
/// members have read) for the rows under it to read.
pub fn provide_receipt(room: i64) {
    let client = expect_context::<ChatClient>();
    let me = client.my_id();
    let receipt = Memo::new(move |_| {
        client.state.with(|s| {
            let r = s.rooms.get(&room)?;
            client
                .awareness
                .with(|a| a.receipt(me, &r.summary, &r.messages))
        })
    });
    provide_context(RoomReceipt(receipt));
    // On opening, and again after each reconnect (reads made meanwhile
    // were not heard).
    let online = Memo::new(move |_| client.conn.get() == ConnState::Online);
    Effect::new(move |_| {
        if online.get() {
            leptos::task::spawn_local(async move {
                if let Ok(readers) = room_readers(room).await {
                    client.awareness.try_update(|a| {
                        a.add_readers(&readers);
                    });
                }
            });
        }
    });
}

/// Under message `seq`: "Seen", or "Seen by 3" with the names on click.
#[component]
pub fn ReceiptLine(seq: i64) -> impl IntoView {
    let receipt = use_context::<RoomReceipt>();
    let open = RwSignal::new(false);
    let mine = move || {
        receipt
            .and_then(|r| r.0.get())
            .and_then(|(at, receipt)| (at == seq).then_some(receipt))
    };
    move || {
        mine().map(|receipt| match receipt {
            Receipt::Seen => view! { <p class="receipt mt-0.5 text-right text-xs text-slate-300">"Seen"</p> }.into_any(),
            Receipt::SeenBy(names) => {
                let count = names.len();
                view! {
                    <div class="receipt mt-0.5 text-right text-xs text-slate-300">
                        <button type="button" class="underline-offset-2 hover:underline" aria-expanded=move || open.get().to_string()
                            on:click=move |_| open.update(|o| *o = !*o)>{format!("Seen by {count}")}</button>
                        <Show when=move || open.get()>
                            <ul class="seen-by mt-1 rounded-lg bg-slate-900/90 px-3 py-1 text-left">
                                {names.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}
                            </ul>
                        </Show>
                    </div>
                }
                .into_any()
            }
        })
    }
}

/// The user menu's "Appear offline" and "Send read receipts": their code
/// comes the first time the menu opens (see `on_demand`).
#[leptos::lazy]
pub fn privacy_toggles() -> AnyView {
    view! { <PrivacyToggles/> }.into_any()
}

#[component]
fn PrivacyToggles() -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let privacy = RwSignal::new(None::<Privacy>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if privacy.get_untracked().is_none() {
            leptos::task::spawn_local(async move {
                match my_privacy().await {
                    Ok(found) => {
                        privacy.try_set(Some(found));
                    }
                    Err(err) => {
                        error.try_set(Some(err.to_string()));
                    }
                }
            });
        }
    });
    let change = move |next: Privacy| {
        let before = privacy.get_untracked();
        privacy.set(Some(next));
        leptos::task::spawn_local(async move {
            match set_privacy(next.invisible, next.receipts).await {
                Ok(()) => {
                    error.try_set(None);
                    if !next.receipts {
                        // Off: others' reads are no longer shown here either.
                        client.awareness.update(|a| a.readers.clear());
                    } else if let Some(room) = client.selected.get_untracked() {
                        if let Ok(readers) = room_readers(room).await {
                            client.awareness.update(|a| {
                                a.add_readers(&readers);
                            });
                        }
                    }
                }
                Err(err) => {
                    privacy.try_set(before);
                    error.try_set(Some(err.to_string()));
                }
            }
        });
    };
    let current = move || privacy.get().unwrap_or_default();
    // One checkbox per setting: how to read it, how to set it.
    let toggle = move |id: &'static str,
                       label: &'static str,
                       read: fn(Privacy) -> bool,
                       write: fn(Privacy, bool) -> Privacy| {
        view! {
            <label class="flex w-full items-center gap-2 rounded-lg px-3 py-2 text-left text-sm text-slate-100 hover:bg-white/10">
                <input id=id type="checkbox" disabled=move || privacy.get().is_none()
                    prop:checked=move || read(current())
                    on:change=move |ev| change(write(current(), event_target_checked(&ev)))/>
                {label}
            </label>
        }
    };
    view! {
        {toggle("appear-offline", "Appear offline", |p| p.invisible, |p, on| Privacy { invisible: on, ..p })}
        {toggle("send-receipts", "Send read receipts", |p| p.receipts, |p, on| Privacy { receipts: on, ..p })}
        {move || error.get().map(|e| view! { <p role="alert" class="px-3 text-xs text-rose-300">{e}</p> })}
    }
}

/// Tells the server whether this tab is in use: visible, and touched (a
/// key, a click, the pointer, a scroll, the focus) in the last
/// `IDLE_AFTER_MS`. Checked when something happens and every 15 s.
pub fn track_activity(client: ChatClient) {
    #[cfg(feature = "hydrate")]
    {
        use crate::realtime::protocol::IDLE_AFTER_MS;
        let last_touch = StoredValue::new(js_sys::Date::now());
        let check = move || {
            let visible = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| !d.hidden());
            let recent = js_sys::Date::now() - last_touch.get_value() < IDLE_AFTER_MS as f64;
            client.set_active(visible && recent);
        };
        let touched = move || {
            last_touch.set_value(js_sys::Date::now());
            check();
        };
        // Never removed: the chat page lives as long as the tab.
        for name in ["keydown", "pointerdown", "pointermove", "wheel", "focus"] {
            let _ = window_event_listener_untyped(name, move |_| touched());
        }
        let _ = window_event_listener_untyped("visibilitychange", move |_| check());
        // The tab going idle is noticed by the clock alone.
        #[cfg(feature = "hydrate")]
        let _ = set_interval_with_handle(check, std::time::Duration::from_secs(15));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = client;
}
