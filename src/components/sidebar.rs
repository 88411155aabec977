use leptos::prelude::*;

use crate::api::auth::LogOut;
use crate::components::chat_client::{ChatClient, ConnState};
use crate::components::copy_button::CopyButton;
use crate::components::dialogs::Dialogs;
use crate::components::notify::NotificationToggle;
use crate::components::on_demand::OnDemand;
use crate::components::presence::{privacy_toggles, PresenceDot};
use crate::components::search_panel::search_panel;
use crate::components::support::support_queue;
use crate::components::text::{initial, now_ms, short_time, DELETED};
use crate::model::{Role, UserView};
use crate::realtime::protocol::{MessageKind, RoomKind, RoomSummary};

/// The left pane: who is signed in, the connection, the conversations.
#[component]
pub fn Sidebar(user: UserView) -> impl IntoView {
    let dialogs = expect_context::<Dialogs>();
    let client = expect_context::<ChatClient>();
    let filter = RwSignal::new(String::new());
    // Agents and admins switch between their chats and the support queue.
    let tab = RwSignal::new(Tab::Chats);
    let queue_shown = Signal::derive(move || client.is_staff() && tab.get() == Tab::Queue);
    let queue_calls = move || {
        let me = client.my_id();
        client.state.with(|s| {
            s.rooms
                .values()
                .map(|r| &r.summary)
                .filter(|r| {
                    s.conversation_of(r)
                        .is_some_and(|c| c.staffed_by(me) && c.calls(me))
                })
                .map(|r| r.unread)
                .sum::<i64>()
        })
    };
    view! {
        <header class="flex items-center gap-3 border-b border-white/10 p-4">
            <div class="flex h-10 w-10 shrink-0 items-center justify-center rounded-full bg-gradient-to-br from-sky-400 to-violet-500 font-semibold text-white" aria-hidden="true">
                {initial(&user.display_name)}
            </div>
            <div class="min-w-0 flex-1">
                <p id="me-name" class="truncate font-semibold">{user.display_name.clone()}</p>
                <p id="me-role" class="text-xs text-slate-300">{move || client.role.get().label()}</p>
            </div>
            <UserMenu/>
        </header>
        <ConnectionBadge/>
        <div class="flex gap-2 px-4 pt-3">
            <button id="new-chat-open" type="button" on:click=move |_| dialogs.new_chat.set(true)
                class="flex-1 rounded-lg bg-gradient-to-r from-sky-500 to-violet-500 px-3 py-1.5 text-sm font-semibold text-white">
                "New chat"
            </button>
            <button id="new-group-open" type="button" on:click=move |_| dialogs.new_group.set(true)
                class="flex-1 rounded-lg border border-white/20 px-3 py-1.5 text-sm text-slate-100 hover:bg-white/10">
                "New group"
            </button>
        </div>
        <button id="contact-support-open" type="button" on:click=move |_| dialogs.contact.set(true)
            class="mx-4 mt-2 rounded-lg border border-white/15 px-3 py-1.5 text-sm text-slate-100 hover:bg-white/10">
            "Contact support"
        </button>
        <Show when=move || client.is_staff()>
            <div class="mx-4 mt-3 grid grid-cols-2 gap-1 rounded-lg bg-slate-900/50 p-1" role="tablist" aria-label="Lists">
                <button id="tab-chats" type="button" role="tab" aria-selected=move || (tab.get() == Tab::Chats).to_string()
                    on:click=move |_| tab.set(Tab::Chats)
                    class=move || tab_class(tab.get() == Tab::Chats)>"Chats"</button>
                <button id="tab-queue" type="button" role="tab" aria-selected=move || (tab.get() == Tab::Queue).to_string()
                    on:click=move |_| tab.set(Tab::Queue)
                    class=move || tab_class(tab.get() == Tab::Queue)>
                    "Queue"
                    {move || (queue_calls() > 0).then(|| view! {
                        <span id="queue-badge" class="ml-2 rounded-full bg-amber-500 px-2 text-xs font-semibold text-slate-950">{queue_calls()}</span>
                    })}
                </button>
            </div>
        </Show>
        <Show when=move || !dialogs.search.get()>
            <div class="px-4 pt-3">
                <button id="search-open" type="button" aria-keyshortcuts="Control+Shift+F"
                    on:click=move |_| dialogs.search.set(true)
                    class="flex w-full items-center justify-between rounded-lg border border-white/15 bg-slate-900/50 px-3 py-1.5 text-left text-sm text-slate-400 hover:border-sky-400/60">
                    <span>"Search messages"</span>
                    <kbd class="text-xs text-slate-500">"Ctrl+Shift+F"</kbd>
                </button>
            </div>
        </Show>
        // Search's code comes the first time it opens; meanwhile the lists wait.
        <OnDemand wanted=dialogs.search load=move || search_panel(dialogs.search)/>
        <Show when=move || !queue_shown.get() && !dialogs.search.get()>
            <ChatsList filter/>
        </Show>
        // The queue's code comes the first time an agent opens the tab.
        <OnDemand wanted=Signal::derive(move || queue_shown.get() && !dialogs.search.get()) load=move || support_queue(queue_shown)/>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Chats,
    Queue,
}

fn tab_class(active: bool) -> &'static str {
    if active {
        "rounded-md bg-white/15 px-3 py-1 text-sm font-medium text-white"
    } else {
        "rounded-md px-3 py-1 text-sm text-slate-300 hover:bg-white/5"
    }
}

/// The filter box, pending invitations and the conversation list.
#[component]
fn ChatsList(filter: RwSignal<String>) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let invited = Signal::derive(move || client.invitations.with(|i| !i.is_empty()));
    view! {
        <div class="px-4 pt-3">
            <label for="room-filter" class="sr-only">"Filter conversations"</label>
            <input id="room-filter" type="search" bind:value=filter placeholder="Filter conversations  (Ctrl+K to jump)"
                class="w-full rounded-lg border border-white/15 bg-slate-900/50 px-3 py-1.5 text-sm text-slate-100 placeholder:text-slate-400 focus:border-sky-400"/>
        </div>
        // Only someone who invited people needs this list's code.
        <OnDemand wanted=invited load=invitations/>
        <RoomList filter/>
    }
}

/// The avatar-side menu: notifications, password, the admin page, log out.
#[component]
fn UserMenu() -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let dialogs = expect_context::<Dialogs>();
    let logout = ServerAction::<LogOut>::new();
    let opened = RwSignal::new(false);
    view! {
        <details class="relative" on:toggle=move |_| opened.set(true)>
            <summary id="user-menu" class="cursor-pointer list-none rounded-lg border border-white/15 px-2 py-1.5 text-sm text-slate-100 hover:bg-white/10" aria-label="User menu">
                "⋯"
            </summary>
            <div class="glass-panel absolute right-0 z-30 mt-2 w-56 space-y-1 rounded-xl bg-slate-900/90 p-2">
                <NotificationToggle/>
                <OnDemand wanted=opened load=privacy_toggles/>
                <button id="change-password-open" type="button" on:click=move |_| dialogs.password.set(true)
                    class="w-full rounded-lg px-3 py-2 text-left text-sm text-slate-100 hover:bg-white/10">
                    "Change password"
                </button>
                <a id="push-settings-link" href="/settings#push" rel="external" class="block w-full rounded-lg px-3 py-2 text-left text-sm text-slate-100 hover:bg-white/10">"Notifications on this device"</a>
                <a id="settings-link" href="/settings#email" rel="external" class="block w-full rounded-lg px-3 py-2 text-left text-sm text-slate-100 hover:bg-white/10">"Email notifications"</a>
                <a id="export-link" href="/export/me" download rel="external" class="block w-full rounded-lg px-3 py-2 text-left text-sm text-slate-100 hover:bg-white/10">"Download my data"</a>
                <Show when=move || client.role.get() != Role::Member>
                    <a id="reports-link" href="/reports" rel="external" class="block w-full rounded-lg px-3 py-2 text-left text-sm text-slate-100 hover:bg-white/10">"Reports"</a>
                </Show>
                <Show when=move || client.role.get() == Role::Admin>
                    <a id="admin-link" href="/admin" rel="external" class="block w-full rounded-lg px-3 py-2 text-left text-sm text-slate-100 hover:bg-white/10">"Admin"</a>
                </Show>
                <ActionForm action=logout>
                    <button id="logout" type="submit" class="w-full rounded-lg px-3 py-2 text-left text-sm text-slate-100 hover:bg-white/10">
                        "Log out"
                    </button>
                </ActionForm>
            </div>
        </details>
    }
}

#[component]
fn ConnectionBadge() -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let label = move || match client.conn.get() {
        ConnState::Online => ("online", "Connected", "bg-emerald-400"),
        ConnState::Connecting => ("connecting", "Connecting…", "bg-amber-400"),
        ConnState::Offline { .. } => ("offline", "Offline: reconnecting…", "bg-rose-400"),
    };
    view! {
        <p id="connection" data-state=move || label().0 class="flex items-center gap-2 px-4 pt-3 text-xs text-slate-300" role="status">
            <span class=move || format!("inline-block h-2 w-2 rounded-full {}", label().2) aria-hidden="true"></span>
            {move || label().1}
        </p>
    }
}

/// The list's code, fetched the first time there is an invitation to show.
#[leptos::lazy]
fn invitations() -> AnyView {
    view! { <Invitations/> }.into_any()
}

/// Invitations still waiting for a sign-up, each with its link to copy.
#[component]
fn Invitations() -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let items = move || client.invitations.get();
    view! {
        <Show when=move || !items().is_empty()>
            <section class="mx-4 mt-3 rounded-xl border border-white/10 p-3" aria-label="Invitations">
                <p class="text-xs font-semibold uppercase tracking-wide text-slate-300">"Invited, waiting for sign-up"</p>
                <ul class="mt-2 space-y-2">
                    <For each=items key=|i| i.email.clone() let:invite>
                        <li class="invitation text-sm">
                            <p class="truncate text-slate-100">{invite.email.clone()}</p>
                            <div class="flex items-center gap-2">
                                <label class="sr-only" for=format!("invite-{}", invite.email)>"Sign-up link"</label>
                                <input id=format!("invite-{}", invite.email) readonly value=invite.signup_link.clone()
                                    class="invite-link min-w-0 flex-1 rounded border border-white/10 bg-slate-900/60 px-2 py-1 text-xs text-slate-200"/>
                                <CopyButton text=invite.signup_link.clone()/>
                            </div>
                        </li>
                    </For>
                </ul>
            </section>
        </Show>
    }
}

/// One row's worth of what the list shows, so rows re-render when it changes.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Row {
    room: i64,
    name: String,
    kind: RoomKind,
    preview: String,
    time: String,
    unread: i64,
    mentions: i64,
    muted: bool,
    /// Whom a direct chat is with (their presence shows on the avatar).
    person: Option<i64>,
}

impl Row {
    fn of(summary: &RoomSummary, my_id: i64, now: i64) -> Row {
        let preview = match &summary.last {
            None => String::from("No messages yet"),
            Some(m) if m.kind == MessageKind::System => m.body.clone(),
            Some(m) if m.deleted => String::from(DELETED),
            Some(m) if m.sender_id == Some(my_id) => format!("You: {}", m.body),
            Some(m) if summary.kind == RoomKind::Direct => m.body.clone(),
            Some(m) => format!("{}: {}", m.sender_name, m.body),
        };
        Row {
            room: summary.room,
            name: summary.name.clone(),
            kind: summary.kind,
            preview,
            time: short_time(summary.last_activity, now),
            unread: summary.unread,
            mentions: summary.mentions,
            muted: summary.muted,
            person: summary.person_for(my_id),
        }
    }
}

#[component]
fn RoomList(filter: RwSignal<String>) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let my_id = client.my_id();
    let rows = move || {
        let needle = filter.get().trim().to_lowercase();
        let now = now_ms();
        client.state.with(|s| {
            s.sidebar()
                .into_iter()
                .filter(|r| needle.is_empty() || r.name.to_lowercase().contains(&needle))
                .map(|r| Row::of(r, my_id, now))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <nav class="mt-2 min-h-0 flex-1 overflow-y-auto p-2" aria-label="Conversation list">
            <Show
                when=move || !rows().is_empty()
                fallback=move || view! {
                    <p class="p-2 text-sm text-slate-300">
                        {move || if filter.get().is_empty() { "No conversations yet. Start one with New chat." } else { "No conversation matches." }}
                    </p>
                }
            >
                <ul class="space-y-1">
                    <For each=rows key=|r| r.clone() let:row>
                        <RoomRow row/>
                    </For>
                </ul>
            </Show>
        </nav>
    }
}

#[component]
fn RoomRow(row: Row) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let id = row.room;
    let selected = move || client.selected.get() == Some(id);
    let unread = row.unread;
    let mentions = row.mentions;
    let avatar = if row.kind == RoomKind::Group {
        "#".to_string()
    } else {
        initial(&row.name)
    };
    view! {
        <li>
            <button
                type="button"
                data-room=id
                aria-current=move || selected().then_some("true")
                on:click=move |_| client.open(id)
                class=move || {
                    let base = "room-link flex w-full items-center gap-3 rounded-xl px-3 py-2 text-left";
                    if selected() { format!("{base} bg-white/15") } else { format!("{base} hover:bg-white/5") }
                }
            >
                <span class="relative flex h-9 w-9 shrink-0 items-center justify-center rounded-full bg-white/10 text-sm font-semibold">
                    <span aria-hidden="true">{avatar}</span>
                    {row.person.map(|user| view! {
                        <span class="absolute -bottom-0.5 -right-0.5 flex"><PresenceDot user name=row.name.clone()/></span>
                    })}
                </span>
                <span class="min-w-0 flex-1">
                    <span class="flex items-baseline gap-2">
                        <span class="room-name min-w-0 flex-1 truncate font-medium">{row.name.clone()}</span>
                        <span class="shrink-0 text-xs text-slate-300">{row.time.clone()}</span>
                    </span>
                    <span class="flex items-center gap-2">
                        <span class="preview min-w-0 flex-1 truncate text-xs text-slate-300">{row.preview.clone()}</span>
                        {row.muted.then(|| view! { <span class="text-xs text-slate-400" title="Muted">"muted"</span> })}
                        // The button's name is what it shows (WCAG 2.5.3), with the
                        // count spelled out for screen readers. Mentions have a
                        // badge of their own, shown in a muted room too.
                        {(mentions > 0).then(|| view! {
                            <span class="mentions rounded-full bg-amber-300 px-1.5 text-xs font-bold text-slate-900" aria-hidden="true">{format!("@{mentions}")}</span>
                            <span class="sr-only">{if mentions == 1 { ", 1 mention".to_string() } else { format!(", {mentions} mentions") }}</span>
                        })}
                        {(unread > 0).then(|| view! {
                            <span class="unread rounded-full bg-sky-500 px-2 text-xs font-semibold text-white" aria-hidden="true">{unread}</span>
                            <span class="sr-only">{format!(", {unread} unread")}</span>
                        })}
                    </span>
                </span>
            </button>
        </li>
    }
}
