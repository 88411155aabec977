//! The right pane: the open conversation's header and actions, its
//! messages (grouped by day and sender, older pages on scroll-up without a
//! jump, a "N new messages" button when scrolled up), members and composer.

use leptos::html::Div;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::rooms::{clear_room, hide_room, history, leave_room, mute_room};
use crate::components::attachments::{Attachments, FileList};
use crate::components::chat_client::{spawn_call, ChatClient, OutboxStatus};
use crate::components::composer::Composer;
use crate::components::dialogs::ConfirmDialog;
use crate::components::emoji_picker::emoji_picker;
use crate::components::file_viewer::file_viewer;
use crate::components::members::members_panel;
use crate::components::message_row::{delete_confirmation, rows_of, MessageRow};
use crate::components::notify::page_visible;
use crate::components::on_demand::OnDemand;
use crate::components::presence::{presence_text, provide_receipt, PresenceDot, TypingLine};
use crate::components::satisfaction::RatingPrompt;
use crate::components::support::{support_actions, support_subtitle};
use crate::components::text::now_ms;
use crate::realtime::protocol::{MessageView, RoomKind};

const HISTORY_PAGE: i64 = 50;
/// Rows drawn when a room opens, and how many more each scroll to the top
/// reveals. The DOM holds a window of what the reader is looking at (at
/// most `MAX_DRAWN` rows), not everything the client holds: a room with
/// 10,000 messages opens and scrolls like one with 100. (`content-visibility`
/// on the rows was tried and dropped: rows changing from their estimated
/// to their real height moved the reader's place.)
const WINDOW: usize = 100;
/// At most this many rows are in the DOM: scrolling further drops rows at
/// the far end, so a long scroll-back costs what one screenful does.
const MAX_DRAWN: usize = 300;

#[component]
pub fn MessagePane() -> impl IntoView {
    let client = expect_context::<ChatClient>();
    // A room that disappears (left, removed) closes. A chat just started is
    // selected when its server function answers, which may be before its
    // `room_added` frame arrives: only a room that was there and went away
    // counts as gone.
    let present_once = StoredValue::new(None::<i64>);
    Effect::new(move |_| {
        let Some(room) = client.selected.get() else {
            present_once.set_value(None);
            return;
        };
        let (present, notes_of) = client.state.with(|s| {
            let summary = s.rooms.get(&room).map(|r| &r.summary);
            (summary.is_some(), summary.and_then(|s| s.notes_of))
        });
        if let Some(conversation) = notes_of {
            // Notes are read inside their conversation (a link or a search
            // hit names the notes room).
            client.target.set(None);
            client.selected.set(Some(conversation));
            return;
        }
        if present {
            present_once.set_value(Some(room));
        } else if present_once.get_value() == Some(room) {
            client.selected.set(None);
        }
    });
    view! {
        {move || match client.selected.get() {
            Some(room) => view! { <OpenRoom room/> }.into_any(),
            None => view! {
                <div class="flex flex-1 flex-col items-center justify-center p-6 text-center">
                    <p class="text-lg font-medium text-slate-100">"Pick a conversation"</p>
                    <p class="mt-1 text-sm text-slate-300">"Or start one with New chat. Ctrl+K jumps to any conversation."</p>
                </div>
            }
            .into_any(),
        }}
    }
}

/// Whether the open address is one of the user's conversations.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Presence {
    /// Not known yet (the socket has not welcomed us).
    Unknown,
    Here,
    /// Not among the user's conversations: it does not exist, or they may
    /// not see it (the same answer for both).
    Missing,
}

#[component]
fn OpenRoom(room: i64) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    // A chat just started is opened when its server function answers,
    // which may be a moment before its `room_added` frame: "not found" only
    // after a grace period.
    let patient = RwSignal::new(false);
    // In the browser only: the server renders "Loading…" (and has no timers).
    #[cfg(feature = "hydrate")]
    set_timeout(
        move || {
            patient.try_set(true);
        },
        std::time::Duration::from_millis(1500),
    );
    let presence = Memo::new(move |_| {
        client.state.with(|s| {
            if s.rooms.contains_key(&room) {
                Presence::Here
            } else if s.user_id != 0 && patient.get() {
                Presence::Missing
            } else {
                Presence::Unknown
            }
        })
    });
    move || {
        match presence.get() {
        Presence::Here => view! { <RoomView room/> }.into_any(),
        Presence::Unknown => view! {
            <p class="flex flex-1 items-center justify-center p-6 text-sm text-slate-300">"Loading…"</p>
        }
        .into_any(),
        Presence::Missing => view! {
            <div id="room-not-found" class="flex flex-1 flex-col items-center justify-center p-6 text-center">
                <h2 class="text-lg font-medium text-slate-100">"Conversation not found"</h2>
                <p class="mt-1 text-sm text-slate-300">"It does not exist, or you are not in it."</p>
                <a href="/" class="mt-4 rounded-lg border border-white/20 px-3 py-1.5 text-sm text-slate-100 hover:bg-white/10">"Back to your conversations"</a>
            </div>
        }
        .into_any(),
    }
    }
}

#[component]
fn RoomView(room: i64) -> impl IntoView {
    let members_open = RwSignal::new(false);
    view! {
        <RoomHeader room members_open/>
        <div class="flex min-h-0 flex-1">
            <ConversationBody room/>
            // The panel's code comes the first time it opens.
            <OnDemand wanted=members_open load=move || members_panel(room, members_open)/>
        </div>
    }
}

/// A conversation's messages, who is typing and the composer (which takes
/// files dropped anywhere on it), with what the messages' actions open.
/// Also all a website visitor's panel shows of its conversation.
#[component]
pub fn ConversationBody(room: i64) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    provide_receipt(room);
    // Staff of a support conversation write either to its member or, with
    // "Internal note", into its notes room (made on the first note).
    let noting = RwSignal::new(false);
    let notes = Memo::new(move |_| client.state.with(|s| s.notes_room(room)));
    let writes_to = Memo::new(move |_| {
        if noting.get() {
            notes.get()
        } else {
            Some(room)
        }
    });
    // Files dropped anywhere on the conversation go with its next message
    // (or note).
    let attachments = expect_context::<Attachments>();
    let dragging = RwSignal::new(false);
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        #[cfg(feature = "hydrate")]
        if let Some(target) = writes_to.get_untracked() {
            attachments.add(
                client,
                target,
                crate::components::attachments::files_of(
                    ev.data_transfer().and_then(|d| d.files()),
                ),
            );
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = attachments;
    };
    view! {
        <div class="relative flex min-w-0 flex-1 flex-col"
            on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop>
            <Show when=move || dragging.get()>
                <div class="pointer-events-none absolute inset-2 z-20 flex items-center justify-center rounded-2xl border-2 border-dashed border-sky-300/70 bg-slate-950/60 text-sm text-slate-100">
                    "Drop files to send them here"
                </div>
            </Show>
            <MessageList room/>
            <TypingLine room/>
            <RatingPrompt room/>
            <NoteSwitch room noting/>
            {move || match writes_to.get() {
                Some(target) => view! { <Composer room=target/> }.into_any(),
                None => view! {
                    <p class="border-t border-white/10 p-4 text-sm text-slate-300" role="status">"Opening the notes…"</p>
                }
                .into_any(),
            }}
        </div>
        // The delete question, the emoji picker and the image viewer come
        // the first time they open.
        <OnDemand wanted=Signal::derive(move || client.deleting.get().is_some()) load=delete_confirmation/>
        <OnDemand wanted=Signal::derive(move || client.picking.get().is_some()) load=emoji_picker/>
        <OnDemand wanted=Signal::derive(move || client.viewing.get().is_some()) load=file_viewer/>
    }
}

/// "Reply" or "Internal note", over a support conversation's composer for
/// its staff. The first note makes the conversation's notes room.
#[component]
fn NoteSwitch(room: i64, noting: RwSignal<bool>) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let staffed = move || {
        client
            .summary(room)
            .is_some_and(|s| s.staffed_by(client.my_id()))
    };
    let error = RwSignal::new(None::<String>);
    let pick = move |note: bool| {
        noting.set(note);
        let missing = client
            .state
            .with_untracked(|s| s.notes_room(room).is_none());
        if note && missing {
            spawn_call(
                async move { crate::api::support::open_notes(room).await.map(|_| ()) },
                error,
            );
        }
        crate::components::composer::focus_composer();
    };
    let tab = move |on: bool| {
        if on {
            "rounded-lg bg-white/15 px-3 py-1 text-xs font-semibold text-white"
        } else {
            "rounded-lg px-3 py-1 text-xs text-slate-300 hover:bg-white/10"
        }
    };
    view! {
        <Show when=staffed>
            <div class="flex items-center gap-1 border-t border-white/10 px-3 pt-2 md:px-4" role="group" aria-label="Write to">
                <button type="button" id="write-reply" aria-pressed=move || (!noting.get()).to_string()
                    class=move || tab(!noting.get()) on:click=move |_| pick(false)>"Reply"</button>
                <button type="button" id="write-note" aria-pressed=move || noting.get().to_string()
                    class=move || {
                        if noting.get() {
                            "rounded-lg bg-amber-400/25 px-3 py-1 text-xs font-semibold text-amber-100"
                        } else {
                            tab(false)
                        }
                    }
                    on:click=move |_| pick(true)>"Internal note"</button>
                <Show when=move || noting.get()>
                    <span class="ml-2 text-xs text-amber-200">"Only staff see notes"</span>
                </Show>
                {move || error.get().map(|e| view! { <span class="ml-2 text-xs text-rose-200" role="alert">{e}</span> })}
            </div>
        </Show>
    }
}

#[component]
fn RoomHeader(room: i64, members_open: RwSignal<bool>) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let summary = move || client.summary(room);
    let confirm_clear = RwSignal::new(false);
    let confirm_leave = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let menu_button = NodeRef::<leptos::html::Button>::new();
    let menu_open = RwSignal::new(false);
    // Esc closes the menu wherever the focus is (in the menu, on its
    // button, or on the page's body, where drawing a menu whose code has
    // just arrived can leave it for a frame before `OnDemand` gives it back).
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && menu_open.get_untracked() {
            menu_open.set(false);
            if let Some(button) = menu_button.get_untracked() {
                let _ = button.focus();
            }
        }
    });
    on_cleanup(move || escape.remove());

    // The person a direct chat (or, for staff, a support conversation) is with.
    let person = Memo::new(move |_| {
        summary().and_then(|s| s.person_for(client.my_id()).map(|p| (p, s.name.clone())))
    });
    let subtitle = move || {
        summary().map(|s| match s.kind {
            RoomKind::Direct => {
                let email = s.peer_email.unwrap_or_default();
                match person.get() {
                    Some((p, _)) => format!("{} · {email}", presence_text(client, p)),
                    None => email,
                }
            }
            RoomKind::Group => "Group".to_string(),
            RoomKind::Notes => "Internal notes: staff only".to_string(),
            RoomKind::Support => s
                .support
                .as_ref()
                .map(|info| {
                    let line = support_subtitle(info, client.my_id());
                    match person.get() {
                        Some((p, _)) => format!("{} · {line}", presence_text(client, p)),
                        None => line,
                    }
                })
                .unwrap_or_default(),
        })
    };
    let staffed = move || summary().is_some_and(|s| s.staffed_by(client.my_id()));
    let is_group = move || summary().is_some_and(|s| s.kind == RoomKind::Group);

    view! {
        <header class="flex items-center gap-3 border-b border-white/10 px-4 py-3 md:px-6">
            <button id="back" type="button" class="rounded-lg px-2 py-1 text-slate-100 hover:bg-white/10 md:hidden"
                aria-label="Back to conversations" on:click=move |_| client.selected.set(None)>"←"</button>
            {move || person.get().map(|(user, name)| view! { <PresenceDot user name/> })}
            <div class="min-w-0 flex-1">
                <h2 id="room-title" class="truncate text-lg font-semibold">{move || summary().map(|s| s.name).unwrap_or_default()}</h2>
                <p class="truncate text-xs text-slate-300">{subtitle}</p>
            </div>
            <Show when=is_group>
                <button id="members-toggle" type="button" aria-pressed=move || members_open.get().to_string()
                    class="rounded-lg border border-white/15 px-3 py-1.5 text-sm hover:bg-white/10"
                    on:click=move |_| members_open.update(|o| *o = !*o)>"Members"</button>
            </Show>
            // Esc closes the menu (`escape` above) and gives the focus back
            // to the button.
            <div class="relative">
                <button id="room-menu" node_ref=menu_button type="button" aria-haspopup="menu" aria-expanded=move || menu_open.get().to_string()
                    aria-label="Conversation menu" on:click=move |_| menu_open.update(|o| *o = !*o)
                    class="rounded-lg border border-white/15 px-3 py-1.5 text-sm hover:bg-white/10">"⋯"</button>
                // The menu's code comes the first time it opens.
                <OnDemand wanted=menu_open load=move || room_menu(room, menu_open, confirm_clear, confirm_leave, error)/>
            </div>
        </header>
        {move || error.get().map(|e| view! { <p role="alert" class="border-b border-white/10 px-6 py-2 text-sm text-rose-300">{e}</p> })}
        // Staff's support actions: their code comes with the first support
        // conversation they open.
        <OnDemand wanted=Signal::derive(staffed) load=move || support_actions(room)/>
        <OnDemand wanted=Signal::derive(move || confirm_clear.get() || confirm_leave.get())
            load=move || room_confirmations(room, confirm_clear, confirm_leave, error)/>
    }
}

/// The ⋯ menu of a conversation, fetched the first time it opens (see
/// `on_demand`).
#[leptos::lazy]
fn room_menu(
    room: i64,
    menu_open: RwSignal<bool>,
    confirm_clear: RwSignal<bool>,
    confirm_leave: RwSignal<bool>,
    error: RwSignal<Option<String>>,
) -> AnyView {
    let client = expect_context::<ChatClient>();
    let summary = move || client.summary(room);
    let staffed = move || summary().is_some_and(|s| s.staffed_by(client.my_id()));
    let is_group = move || summary().is_some_and(|s| s.kind == RoomKind::Group);
    let muted = move || summary().is_some_and(|s| s.muted);
    let can_clear = move || summary().is_some_and(|s| client.can_clear(&s));
    view! {
        <Show when=move || menu_open.get()>
        <div role="menu" class="glass-panel absolute right-0 z-30 mt-2 w-52 space-y-1 rounded-xl bg-slate-900/90 p-2">
            <button role="menuitem" type="button" id="mute-room" class="menu-item w-full rounded-lg px-3 py-2 text-left text-sm hover:bg-white/10"
                on:click=move |_| { let m = !muted(); menu_open.set(false); spawn_call(mute_room(room, m), error) }>
                {move || if muted() { "Unmute" } else { "Mute" }}
            </button>
            <Show when=move || !staffed()>
                <button role="menuitem" type="button" id="hide-room" class="menu-item w-full rounded-lg px-3 py-2 text-left text-sm hover:bg-white/10"
                    on:click=move |_| {
                        client.selected.set(None);
                        menu_open.set(false);
                        spawn_call(hide_room(room, true), error)
                    }>"Remove chat"</button>
            </Show>
            <Show when=can_clear>
                <button role="menuitem" type="button" id="clear-room" class="menu-item w-full rounded-lg px-3 py-2 text-left text-sm text-rose-200 hover:bg-white/10"
                    on:click=move |_| { menu_open.set(false); confirm_clear.set(true) }>"Clear history…"</button>
            </Show>
            <Show when=move || client.role.get() == crate::model::Role::Admin>
                <a role="menuitem" id="export-room" href=format!("/export/room/{room}") download rel="external"
                    class="menu-item block w-full rounded-lg px-3 py-2 text-left text-sm hover:bg-white/10"
                    on:click=move |_| menu_open.set(false)>"Export conversation (JSON)"</a>
                <a role="menuitem" id="room-retention" href=format!("/admin?room={room}#retention-section") rel="external"
                    class="menu-item block w-full rounded-lg px-3 py-2 text-left text-sm hover:bg-white/10">"Message retention…"</a>
            </Show>
            <Show when=is_group>
                <button role="menuitem" type="button" id="leave-room" class="menu-item w-full rounded-lg px-3 py-2 text-left text-sm text-rose-200 hover:bg-white/10"
                    on:click=move |_| { menu_open.set(false); confirm_leave.set(true) }>"Leave group…"</button>
            </Show>
        </div>
        </Show>
    }
    .into_any()
}

/// "Clear history?" and "Leave this group?", fetched the first time either
/// is asked.
#[leptos::lazy]
fn room_confirmations(
    room: i64,
    clear: RwSignal<bool>,
    leave: RwSignal<bool>,
    error: RwSignal<Option<String>>,
) -> AnyView {
    view! {
        <ConfirmDialog open=clear id="confirm-clear" title="Clear history?"
            message="Every message in this conversation is deleted for everyone. This cannot be undone."
            confirm_label="Clear history"
            on_confirm=Callback::new(move |_| spawn_call(clear_room(room), error))/>
        <ConfirmDialog open=leave id="confirm-leave" title="Leave this group?"
            message="You stop receiving its messages; someone who manages it can add you again."
            confirm_label="Leave group"
            on_confirm=Callback::new(move |_| spawn_call(leave_room(room), error))/>
    }
    .into_any()
}

/// How many pages of a conversation's notes a staff tab loads (of
/// `NOTES_PAGE` each, newest first).
const NOTES_PAGES: usize = 5;
const NOTES_PAGE: i64 = 200;

/// Fetches the newest notes of a notes room into the client's state.
async fn load_notes(client: ChatClient, notes: i64) {
    let mut before = i64::MAX;
    for _ in 0..NOTES_PAGES {
        let Ok(page) = history(notes, before, NOTES_PAGE).await else {
            return;
        };
        let oldest = page.first().map(|m| m.seq);
        let full = page.len() as i64 == NOTES_PAGE;
        if client
            .state
            .try_update(|s| s.add_history(notes, &page))
            .is_none()
        {
            return; // the page is gone
        }
        match oldest {
            Some(seq) if full && seq > 1 => before = seq,
            _ => return,
        }
    }
}

#[component]
fn MessageList(room: i64) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let my_id = client.my_id();
    let list = NodeRef::<Div>::new();
    let at_bottom = RwSignal::new(true);
    // The newest seq the user has had on screen at the bottom.
    let seen_seq = RwSignal::new(0_i64);
    let older_done = RwSignal::new(false);
    let loading = RwSignal::new(false);
    // The row at the top of the view and its distance below the list's
    // top, put back after rows are added or dropped around it.
    let anchor = StoredValue::new(None::<(i64, f64)>);

    // The drawn window: `shown` rows, after skipping the `skip` newest held.
    let shown = RwSignal::new(WINDOW);
    let skip = RwSignal::new(0_usize);
    let held = Memo::new(move |_| {
        client
            .state
            .with(|s| s.rooms.get(&room).map_or(0, |r| r.messages.len()))
    });
    // The drawn messages, plus the one above them (for grouping), oldest first.
    let messages = Memo::new(move |_| {
        let n = shown.get() + 1;
        let skipped = skip.get();
        client.state.with(|s| {
            s.rooms
                .get(&room)
                .map(|r| {
                    let mut tail: Vec<MessageView> = r
                        .messages
                        .values()
                        .rev()
                        .skip(skipped)
                        .take(n)
                        .cloned()
                        .collect();
                    tail.reverse();
                    tail
                })
                .unwrap_or_default()
        })
    });
    // Staff see the conversation's notes among its messages, by time (a
    // note written at the same moment as a message comes after it).
    let notes_room = Memo::new(move |_| client.state.with(|s| s.notes_room(room)));
    let lines = Memo::new(move |_| {
        let tail = messages.get();
        let Some(notes) = notes_room.get() else {
            return tail;
        };
        // Notes inside the drawn window only: from the row above it (when
        // there is one) to the newest drawn row (when newer are skipped).
        let above = tail.len() > shown.get();
        let from = tail.first().filter(|_| above).map(|m| m.created_at);
        let until = tail.last().filter(|_| skip.get() > 0).map(|m| m.created_at);
        client.state.with(|s| {
            let Some(held) = s.rooms.get(&notes) else {
                return tail.clone();
            };
            let mut pending = held
                .messages
                .values()
                .filter(|n| from.is_none_or(|t| n.created_at >= t))
                .filter(|n| until.is_none_or(|t| n.created_at < t))
                .peekable();
            let mut out = Vec::with_capacity(tail.len());
            for message in &tail {
                while let Some(note) = pending.next_if(|n| n.created_at < message.created_at) {
                    out.push(note.clone());
                }
                out.push(message.clone());
            }
            out.extend(pending.cloned());
            out
        })
    });
    // The notes are not in the conversation's history: their newest pages
    // come once the notes room is known (a fresh tab holds none of them).
    Effect::new(move |loaded: Option<Option<i64>>| {
        let notes = notes_room.get();
        if let Some(notes) = notes.filter(|n| loaded.flatten() != Some(*n)) {
            spawn_local(load_notes(client, notes));
        }
        notes
    });
    let latest = move || messages.with(|m| m.last().map(|m| m.seq).unwrap_or(0));
    let newest_held = move || {
        client.state.with(|s| {
            s.rooms
                .get(&room)
                .and_then(|r| r.messages.keys().next_back().copied())
                .unwrap_or(0)
        })
    };

    // Remembers which row is at the top of the view, and where.
    let capture = move || {
        #[cfg(feature = "hydrate")]
        if let Some(el) = list.get_untracked() {
            let top = el.get_bounding_client_rect().top();
            if let Ok(rows) = el.query_selector_all(".message[data-seq]") {
                for i in 0..rows.length() {
                    let Some(row) = rows
                        .item(i)
                        .and_then(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok())
                    else {
                        continue;
                    };
                    let rect = row.get_bounding_client_rect();
                    if rect.bottom() > top {
                        let seq = row
                            .get_attribute("data-seq")
                            .and_then(|s| s.parse::<i64>().ok());
                        if let Some(seq) = seq {
                            anchor.set_value(Some((seq, rect.top() - top)));
                        }
                        return;
                    }
                }
            }
        }
    };
    // Draws newer rows again after a scroll-back (the window slides down).
    let load_newer = move || {
        let skipped = skip.get_untracked();
        if skipped == 0 {
            return;
        }
        capture();
        // The rows on screen stay and newer ones come in below them (the
        // window grows, up to MAX_DRAWN, then drops its oldest): sliding
        // the whole window past them left the reader at the bottom with
        // nothing further to scroll, so no scroll event to slide again.
        let step = WINDOW.min(skipped);
        skip.set(skipped - step);
        shown.set((shown.get_untracked() + step).min(MAX_DRAWN));
    };

    let load_older = move || {
        if loading.get_untracked() {
            return;
        }
        if held.get_untracked() > skip.get_untracked() + shown.get_untracked() {
            // Already held: draw more of it, dropping the newest rows past
            // the window's size.
            capture();
            let more = shown.get_untracked() + WINDOW;
            if more > MAX_DRAWN {
                skip.update(|s| *s += more - MAX_DRAWN);
                shown.set(MAX_DRAWN);
            } else {
                shown.set(more);
            }
            return;
        }
        if older_done.get_untracked() {
            return;
        }
        let first = client.state.with_untracked(|s| {
            s.rooms
                .get(&room)
                .and_then(|r| r.messages.values().next().cloned())
        });
        if first.as_ref().is_some_and(|m| m.seq <= 1 || m.is_clear()) {
            older_done.set(true);
            return;
        }
        let before = match first {
            Some(m) => m.seq,
            None => client
                .summary(room)
                .map(|s| s.last_seq + 1)
                .unwrap_or(i64::MAX),
        };
        // On the way to a message (a search result, a link)?
        let jumping = client
            .target
            .get_untracked()
            .is_some_and(|(r, _)| r == room);
        loading.set(true);
        if jumping {
            // Where the reader was does not matter: the view goes to the
            // message once it is held (putting it back would undo that).
            anchor.set_value(None);
        } else {
            capture();
        }
        spawn_local(async move {
            let answer = history(room, before, HISTORY_PAGE).await;
            if let Ok(page) = &answer {
                client.state.update(|s| s.add_history(room, page));
            }
            // The list may be gone by now (another room was opened): the
            // page is kept in the client's state, and nothing else is left
            // to update.
            let Some(held_now) = held.try_get_untracked() else {
                return;
            };
            match answer {
                Ok(page) => {
                    let at_start = page.first().is_some_and(|m| m.seq <= 1 || m.is_clear());
                    if at_start || (page.len() as i64) < HISTORY_PAGE {
                        older_done.set(true);
                    }
                    if page.is_empty() {
                        anchor.set_value(None);
                    }
                    let skipped = skip.get_untracked();
                    let more = shown.get_untracked().max(
                        held_now
                            .saturating_sub(skipped)
                            .min(shown.get_untracked() + page.len()),
                    );
                    if more > MAX_DRAWN {
                        skip.update(|s| *s += more - MAX_DRAWN);
                        shown.set(MAX_DRAWN);
                    } else {
                        shown.set(more);
                    }
                }
                Err(_) => anchor.set_value(None),
            }
            loading.set(false);
        });
    };
    // Opening a room fetches its newest page unless it holds a window already.
    Effect::new(move |first: Option<()>| {
        if first.is_none() && held.get_untracked() < WINDOW {
            load_older();
        }
    });

    // After the list changes: keep the view where it was when older
    // messages came in above, or follow the bottom when already there.
    Effect::new(move |previous: Option<i64>| {
        let newest = latest();
        let count = messages.with(Vec::len);
        shown.track();
        let newest_now = newest_held();
        let Some(el) = list.get() else {
            return newest_now;
        };
        if let Some(before) = previous.filter(|p| newest_now > *p && !at_bottom.get_untracked()) {
            // Scrolled up: new messages below must not push the rows the
            // reader is looking at out of the window.
            let arrived = (newest_now - before) as usize;
            if skip.get_untracked() > 0 {
                skip.update(|s| *s += arrived);
            } else {
                shown.update(|n| *n += arrived);
            }
        }
        if let Some((seq, offset)) = anchor.get_value() {
            // Any change to the client's state runs this (a receipt, a
            // presence, a new message): while an older page is on its way,
            // the row is put back and the anchor kept for the page, or the
            // page would land unanchored and the view jump to its top.
            if !loading.get_untracked() {
                anchor.set_value(None);
            }
            #[cfg(feature = "hydrate")]
            if let Some(row) = el
                .query_selector(&format!(".message[data-seq=\"{seq}\"]"))
                .ok()
                .flatten()
            {
                let now =
                    row.get_bounding_client_rect().top() - el.get_bounding_client_rect().top();
                el.set_scroll_top(el.scroll_top() + (now - offset).round() as i32);
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (seq, offset);
        } else if at_bottom.get_untracked() {
            el.set_scroll_top(el.scroll_height());
            seen_seq.set(newest);
        }
        // A short first page leaves no scrollbar to pull: keep loading.
        if count > 0 && el.scroll_height() <= el.client_height() {
            load_older();
        }
        newest_now
    });

    // An address that names a message (`/c/ROOM/SEQ`): older pages are
    // loaded until it is held, then it is drawn, scrolled to and marked.
    let highlighted = RwSignal::new(None::<i64>);
    Effect::new(move |_| {
        let Some((target_room, seq)) = client.target.get() else {
            return;
        };
        if target_room != room {
            return;
        }
        let (held_it, oldest) = client.state.with(|s| {
            s.rooms.get(&room).map_or((false, None), |r| {
                (
                    r.messages.contains_key(&seq),
                    r.messages.keys().next().copied(),
                )
            })
        });
        messages.track();
        if !held_it {
            // Not loaded yet (or gone): load older pages while there are some.
            if oldest.is_none_or(|o| o > seq) && !older_done.get() && !loading.get() {
                load_older();
            }
            return;
        }
        let drawn = messages.with_untracked(|m| m.iter().any(|x| x.seq == seq));
        if !drawn {
            // Slide the window so the target sits in its middle.
            let newer = client.state.with_untracked(|s| {
                s.rooms
                    .get(&room)
                    .map_or(0, |r| r.messages.range(seq + 1..).count())
            });
            skip.set(newer.saturating_sub(WINDOW / 2));
            shown.set(WINDOW);
            return;
        }
        client.target.set(None);
        highlighted.set(Some(seq));
        #[cfg(feature = "hydrate")]
        request_animation_frame(move || {
            let found = list.try_get_untracked().flatten().and_then(|el| {
                el.query_selector(&format!("[data-seq=\"{seq}\"]"))
                    .ok()
                    .flatten()
            });
            if let Some(row) = found {
                row.scroll_into_view_with_bool(false);
                let _ = at_bottom.try_set(false);
            }
        });
    });

    let on_scroll = move |_| {
        let Some(el) = list.get_untracked() else {
            return;
        };
        let from_bottom = el.scroll_height() - el.scroll_top() - el.client_height();
        // At the bottom only when the window reaches the newest message.
        let bottom = from_bottom < 48 && skip.get_untracked() == 0;
        at_bottom.set(bottom);
        if bottom {
            seen_seq.set(latest());
        }
        // Fetch before the edge is reached, so the reader never waits at it.
        let margin = (el.client_height() * 3 / 2).max(120);
        // The reader moved while a page is on its way: it is put back where
        // they are now, not where they were when it was asked for.
        if loading.get_untracked() && anchor.get_value().is_some() {
            capture();
        }
        if el.scroll_top() < margin {
            load_older();
        } else if from_bottom < margin {
            load_newer();
        }
    };

    // Reading: when the newest messages (and notes) are on screen in a
    // visible tab.
    let unread_of = move |room: i64| {
        client
            .summary(room)
            .filter(|s| s.unread > 0)
            .map(|s| s.last_seq)
    };
    let read_all = move || {
        for room in std::iter::once(room).chain(notes_room.get()) {
            if let Some(seq) = unread_of(room) {
                client.mark_read(room, seq);
            }
        }
    };
    Effect::new(move |_| {
        if at_bottom.get() && page_visible() {
            read_all();
        }
    });
    let refocus = move || {
        if at_bottom.get_untracked() && page_visible() {
            untrack(read_all);
        }
    };
    let focus_listener = window_event_listener(leptos::ev::focus, move |_| refocus());
    let visible_listener = window_event_listener(leptos::ev::visibilitychange, move |_| refocus());
    on_cleanup(move || {
        focus_listener.remove();
        visible_listener.remove();
    });

    let new_count = move || {
        let seen = seen_seq.get();
        client.state.with(|s| {
            s.rooms.get(&room).map_or(0, |r| {
                r.messages
                    .range(seen + 1..)
                    .filter(|(_, m)| m.sender_id != Some(my_id))
                    .count()
            })
        })
    };
    let show_jump = move || !at_bottom.get() && new_count() > 0;
    let jump = move |_: ()| {
        skip.set(0);
        shown.set(WINDOW);
        at_bottom.set(true);
        if let Some(el) = list.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
        seen_seq.set(newest_held());
    };
    // Sending from far up the history jumps to the newest, where the
    // message being sent is drawn (as every chat does).
    let sending = Memo::new(move |_| {
        client
            .outbox
            .with(|o| o.iter().filter(|i| i.room == room).count())
    });
    Effect::new(move |before: Option<usize>| {
        let now = sending.get();
        if before.is_some_and(|b| now > b)
            && (skip.get_untracked() > 0 || !at_bottom.get_untracked())
        {
            jump(());
        }
        now
    });
    let rows = move || {
        let above = messages.with(Vec::len) > shown.get();
        lines.with(|m| rows_of(room, m, above, my_id, now_ms()))
    };
    let pending = move || {
        let notes = notes_room.get();
        client.outbox.with(|o| {
            o.iter()
                .filter(|i| i.room == room || Some(i.room) == notes)
                .filter(|i| !matches!(i.status, OutboxStatus::Sent(_)))
                .cloned()
                .collect::<Vec<_>>()
        })
    };

    view! {
        <div class="relative min-h-0 flex-1">
            <div node_ref=list on:scroll=on_scroll id="messages" role="log" aria-label="Messages"
                class="h-full space-y-0.5 overflow-y-auto px-4 py-4 md:px-6">
                // Always a line high (a no-break space when it has nothing to
                // say), so that its text coming and going moves no row.
                <p class="pb-2 text-center text-xs text-slate-400">
                    {move || if loading.get() { "Loading older messages…" } else if older_done.get() && held.get() <= skip.get() + shown.get() { "Start of the conversation" } else { "\u{a0}" }}
                </p>
                <For each=rows key=|r| r.key() let:row>
                    <MessageRow row highlighted/>
                </For>
                <For each=pending key=|i| (i.client_id.clone(), i.status.clone()) let:item>
                    {
                        let id = item.client_id.clone();
                        view! {
                            <div class=if item.room == room {
                                "outbox ml-auto mt-1 max-w-[80%] rounded-2xl bg-sky-500/25 px-4 py-2"
                            } else {
                                "outbox note ml-auto mt-1 max-w-[80%] rounded-2xl border border-dashed border-amber-300/70 bg-amber-400/15 px-4 py-2"
                            }>
                                {(!item.body.is_empty()).then(|| view! {
                                    <p class="whitespace-pre-wrap break-words wrap-anywhere">{item.body.clone()}</p>
                                })}
                                {(!item.files.is_empty()).then(|| view! { <FileList room files=item.files.clone()/> })}
                                {match item.status {
                                    OutboxStatus::Failed(why) => view! {
                                        <p class="mt-1 text-xs text-rose-200">
                                            {format!("Not sent: {why} ")}
                                            <button type="button" class="underline" on:click=move |_| client.retry(&id)>"Retry"</button>
                                        </p>
                                    }.into_any(),
                                    _ => view! { <p class="mt-1 text-xs text-slate-200">"Sending…"</p> }.into_any(),
                                }}
                            </div>
                        }
                    }
                </For>
            </div>
            <Show when=show_jump>
                <button id="new-messages" type="button" on:click=move |_| jump(())
                    class="absolute bottom-3 left-1/2 -translate-x-1/2 rounded-full bg-sky-500 px-4 py-1.5 text-sm font-semibold text-white shadow-lg">
                    {move || {
                        let n = new_count();
                        if n == 1 { "1 new message ↓".to_string() } else { format!("{n} new messages ↓") }
                    }}
                </button>
            </Show>
        </div>
    }
}
