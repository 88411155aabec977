//! The composer: Enter sends, Shift+Enter is a new line, the box grows with
//! the text, a counter appears near the limit, and the draft of each room
//! survives switching rooms. A reply shows its quote above the box until it
//! is sent or cancelled (the × or Esc). Editing a message ("Edit" on it, or
//! the Up arrow in an empty box for your last one) puts its text in the box:
//! Enter saves, Esc cancels, and an emptied text asks whether to delete.
//! Typing `@` opens the list of people to mention (`mention_list`), and
//! staff of a support conversation pick canned replies with `/` at the
//! start (`canned_list`); while
//! a new message is written, the others see "typing" (`ChatClient::typed`).
//! Files
//! come from the attach button, a paste (a screenshot) or a drop on the
//! conversation (`message_pane`), and wait
//! above the box while they upload (`attachments`); the message goes once
//! they are all up.

use leptos::html::Textarea;
use leptos::prelude::*;

use crate::components::attachments::{AttachmentTray, Attachments};
use crate::components::canned_list::{CannedList, CannedPicker};
use crate::components::chat_client::{ChatClient, ComposerMode};
use crate::components::mention_list::{MentionList, MentionPicker};
use crate::components::open_flags::Dialogs;
use crate::components::text::now_ms;
use crate::realtime::protocol::{RoomKind, MAX_MESSAGE_CHARS};

/// The counter shows from this share of the limit on.
const COUNTER_FROM: usize = MAX_MESSAGE_CHARS * 9 / 10;
/// The box grows up to this height, then scrolls.
#[cfg(feature = "hydrate")]
const MAX_HEIGHT_PX: i32 = 200;

#[component]
pub fn Composer(room: i64) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let dialogs = expect_context::<Dialogs>();
    let attachments = expect_context::<Attachments>();
    let picker_input = NodeRef::<leptos::html::Input>::new();
    let draft = RwSignal::new(
        client
            .drafts
            .with_untracked(|d| d.get(&room).cloned())
            .unwrap_or_default(),
    );
    let field = NodeRef::<Textarea>::new();
    let picker = MentionPicker::new(room, draft, field);
    let canned = CannedPicker::new(room, draft);
    // What the composer does besides writing a new message.
    let mode = move || client.composing.with(|c| c.get(&room).cloned());
    let editing = move || {
        client
            .composing
            .with(|c| c.get(&room).and_then(ComposerMode::edited))
    };
    Effect::new(move |_| {
        let text = draft.get();
        // A message being edited is not a draft.
        if editing().is_none() {
            client.drafts.update(|d| {
                if text.is_empty() {
                    d.remove(&room);
                } else {
                    d.insert(room, text);
                }
            });
        }
        grow(field);
    });
    // Editing: the message's text replaces the draft, which comes back
    // after (the effect keeps it, with the seq being edited).
    Effect::new(
        move |before: Option<Option<(i64, String)>>| match (before.flatten(), editing()) {
            (None, None) => None,
            (None, Some((seq, original))) => {
                let kept = draft.get_untracked();
                draft.set(original);
                Some((seq, kept))
            }
            (Some((was, kept)), Some((seq, original))) if seq != was => {
                draft.set(original);
                Some((seq, kept))
            }
            (Some(same), Some(_)) => Some(same),
            (Some((_, kept)), None) => {
                draft.set(kept);
                None
            }
        },
    );
    let end_mode = move || {
        client.composing.update(|c| {
            c.remove(&room);
        })
    };
    // A conversation's notes room takes internal notes (staff only).
    let noting = client
        .summary(room)
        .is_some_and(|s| s.kind == RoomKind::Notes);
    let placeholder = if noting {
        "Write an internal note: only staff see it"
    } else {
        "Write a message"
    };
    let length = move || draft.with(|d| d.chars().count());
    let too_long = move || length() > MAX_MESSAGE_CHARS;
    let send = move || {
        let body = draft.get_untracked();
        if body.chars().count() > MAX_MESSAGE_CHARS {
            return;
        }
        match client.composing.with_untracked(|c| c.get(&room).cloned()) {
            Some(ComposerMode::Edit { seq, original }) => {
                if body.trim().is_empty() {
                    // An emptied message: ask whether to delete it.
                    client.deleting.set(Some((room, seq)));
                } else if body != original {
                    client.edit(room, seq, body);
                }
                end_mode();
            }
            mode => {
                let files = match attachments.ready(room) {
                    Ok(files) => files,
                    Err(not_ready) => {
                        client.notice.set(Some(not_ready.notice().into()));
                        return;
                    }
                };
                if body.trim().is_empty() && files.is_empty() {
                    return;
                }
                let reply = match mode {
                    Some(ComposerMode::Reply(quote)) => Some(quote),
                    _ => None,
                };
                end_mode();
                client.notice.set(None);
                client.send(room, body, reply, files);
                attachments.sent(room);
                draft.set(String::new());
                client.typed(room, "", now_ms() as f64, true);
            }
        }
    };
    // Files from the picker or a paste (a screenshot).
    #[cfg(feature = "hydrate")]
    let attach = move |files: Vec<web_sys::File>| {
        if !files.is_empty() {
            attachments.add(client, room, files);
        }
    };
    let on_picked = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        if let Some(input) = picker_input.get_untracked() {
            attach(crate::components::attachments::files_of(input.files()));
            input.set_value(""); // the same file can be picked again
        }
    };
    let on_paste = move |_ev: leptos::ev::ClipboardEvent| {
        #[cfg(feature = "hydrate")]
        {
            let files = crate::components::attachments::files_of(
                _ev.clipboard_data().and_then(|d| d.files()),
            );
            if !files.is_empty() {
                _ev.prevent_default(); // not the file's name as text
                attach(files);
            }
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        // While the `@` list or the canned replies are open, their keys
        // are their own.
        if picker.on_key(&ev) || canned.on_key(&ev) {
            return;
        }
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        } else if ev.key() == "Escape" && client.composing.with_untracked(|c| c.contains_key(&room))
        {
            ev.prevent_default();
            end_mode();
        } else if ev.key() == "/"
            && draft.with_untracked(String::is_empty)
            && !ev.ctrl_key()
            && !ev.meta_key()
            && !canned.applies()
        {
            // "/" in an empty box opens search, as in Slack (staff of a
            // support conversation get its canned replies instead).
            ev.prevent_default();
            dialogs.search.set(true);
        } else if ev.key() == "ArrowUp"
            && draft.with_untracked(String::is_empty)
            && client.composing.with_untracked(|c| !c.contains_key(&room))
        {
            // Up in an empty box edits your last message, as in Slack.
            if let Some(mine) = client.my_last_message(room) {
                ev.prevent_default();
                client.start_edit(&mine);
            }
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send();
    };
    view! {
        <form id="composer" on:submit=on_submit data-note=noting.to_string()
            class=if noting { "flex items-end gap-2 bg-amber-400/10 p-3 md:p-4" } else { "flex items-end gap-2 border-t border-white/10 p-3 md:p-4" }>
            <input type="file" multiple id="attach-input" class="sr-only" tabindex="-1" aria-hidden="true"
                node_ref=picker_input on:change=on_picked/>
            <button type="button" id="attach" aria-label="Attach files" title="Attach files"
                on:click=move |_| { if let Some(input) = picker_input.get_untracked() { input.click(); } }
                class="rounded-xl border border-white/15 px-3 py-2 text-slate-200 hover:bg-white/10">"📎"</button>
            <label class="sr-only" for="composer-input">"Message"</label>
            <div class="relative min-w-0 flex-1">
                <MentionList picker/>
                <CannedList picker=canned/>
                <AttachmentTray room/>
                {move || match mode() {
                    Some(ComposerMode::Reply(quote)) => Some(view! {
                        <div id="replying" class="mb-2 flex items-start gap-2 rounded-lg border-l-2 border-sky-300/70 bg-white/5 px-3 py-1.5 text-xs text-slate-300">
                            <p class="min-w-0 flex-1 truncate">
                                "Replying to "<span class="font-semibold text-slate-100">{quote.sender_name.clone()}</span>": "{quote.text.clone()}
                            </p>
                            <button type="button" aria-label="Cancel reply" on:click=move |_| end_mode()
                                class="rounded px-1 text-slate-200 hover:bg-white/10">"×"</button>
                        </div>
                    }.into_any()),
                    Some(ComposerMode::Edit { .. }) => Some(view! {
                        <div id="editing" class="mb-2 flex items-center gap-2 rounded-lg border-l-2 border-amber-300/70 bg-white/5 px-3 py-1.5 text-xs text-slate-300">
                            <p class="min-w-0 flex-1">"Editing your message: Enter saves, Esc cancels"</p>
                            <button type="button" aria-label="Cancel editing" on:click=move |_| end_mode()
                                class="rounded px-1 text-slate-200 hover:bg-white/10">"×"</button>
                        </div>
                    }.into_any()),
                    None => None,
                }}
                {move || client.notice.get().map(|why| view! {
                    <div id="notice" role="alert" class="mb-2 flex items-center gap-2 rounded-lg bg-rose-500/15 px-3 py-1.5 text-xs text-rose-100">
                        <p class="min-w-0 flex-1">{why}</p>
                        <button type="button" aria-label="Dismiss" on:click=move |_| client.notice.set(None)
                            class="rounded px-1 hover:bg-white/10">"×"</button>
                    </div>
                })}
                <textarea id="composer-input" rows=1 node_ref=field bind:value=draft on:keydown=on_keydown on:paste=on_paste
                    on:input=move |ev| {
                        picker.track_caret();
                        // Others see "typing" while a new message is written.
                        if editing().is_none() {
                            client.typed(room, &event_target_value(&ev), now_ms() as f64, false);
                        }
                    }
                    on:keyup=move |_| picker.track_caret()
                    on:click=move |_| picker.track_caret()
                    aria-autocomplete="list"
                    aria-controls=move || picker.active_id().map(|_| "mention-list").or_else(|| canned.active_id().map(|_| "canned-list"))
                    aria-activedescendant=move || picker.active_id().or_else(|| canned.active_id())
                    placeholder=placeholder aria-describedby="composer-help"
                    class="block max-h-[200px] w-full resize-none rounded-xl border border-white/15 bg-slate-900/50 px-4 py-2 text-slate-100 placeholder:text-slate-400 focus:border-sky-400"></textarea>
                <p id="composer-help" class="sr-only">"Enter sends, Shift+Enter starts a new line, @ mentions someone. Paste or drop files to attach them."</p>
                <Show when=move || { length() >= COUNTER_FROM }>
                    <p id="composer-counter" aria-live="polite"
                        class=move || if too_long() { "mt-1 text-right text-xs text-rose-300" } else { "mt-1 text-right text-xs text-slate-300" }>
                        {move || format!("{} / {}", length(), MAX_MESSAGE_CHARS)}
                    </p>
                </Show>
            </div>
            <button type="submit" disabled=too_long
                class="rounded-xl bg-gradient-to-r from-sky-500 to-violet-500 px-4 py-2 font-semibold text-white disabled:opacity-50">
                {move || if editing().is_some() { "Save" } else { "Send" }}
            </button>
        </form>
    }
}

/// Fits the box to its text, up to `MAX_HEIGHT_PX`. Measured in the next
/// frame: the draft's new text (emptied after a send) reaches the box after
/// this runs, and measuring the old text left it tall. By then the composer
/// may be gone (another conversation opened within the frame), and its
/// reference with it: a `try_`, or the app panicked.
fn grow(field: NodeRef<Textarea>) {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        if let Some(el) = field.try_get_untracked().flatten() {
            let style = web_sys::HtmlElement::style(&el);
            let _ = style.set_property("height", "auto");
            let height = el.scroll_height().min(MAX_HEIGHT_PX);
            let _ = style.set_property("height", &format!("{height}px"));
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = field;
}

/// Puts the focus in the composer once the open conversation is drawn
/// (after a jump with Ctrl/Cmd+K).
pub fn focus_composer() {
    #[cfg(feature = "hydrate")]
    request_animation_frame(|| {
        use wasm_bindgen::JsCast;
        let field = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("composer-input"))
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(field) = field {
            let _ = field.focus();
        }
    });
}
