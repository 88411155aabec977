use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::auth::LogOut;
use crate::api::rooms::create_group;
use crate::components::chat_client::{ChatClient, ConnState};
use crate::model::UserView;

/// The left pane: who is signed in, the connection, the rooms, and log out.
#[component]
pub fn Sidebar(user: UserView) -> impl IntoView {
    let logout = ServerAction::<LogOut>::new();
    let initial = user
        .display_name
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    view! {
        <aside class="glass-panel flex w-full max-w-xs shrink-0 flex-col md:rounded-2xl" aria-label="Conversations">
            <header class="flex items-center gap-3 border-b border-white/10 p-4">
                <div class="flex h-10 w-10 shrink-0 items-center justify-center rounded-full bg-gradient-to-br from-sky-400 to-violet-500 font-semibold text-white" aria-hidden="true">
                    {initial}
                </div>
                <div class="min-w-0 flex-1">
                    <p id="me-name" class="truncate font-semibold">{user.display_name.clone()}</p>
                    <p id="me-role" class="text-xs text-slate-400">{user.role.label()}</p>
                </div>
                <ActionForm action=logout>
                    <button
                        id="logout"
                        type="submit"
                        class="rounded-lg border border-white/15 px-3 py-1.5 text-sm text-slate-200 hover:bg-white/10"
                    >
                        "Log out"
                    </button>
                </ActionForm>
            </header>
            <ConnectionBadge/>
            <RoomList/>
            <NewGroupForm/>
        </aside>
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
        <p id="connection" data-state=move || label().0 class="flex items-center gap-2 px-4 pt-3 text-xs text-slate-400" role="status">
            <span class=move || format!("inline-block h-2 w-2 rounded-full {}", label().2) aria-hidden="true"></span>
            {move || label().1}
        </p>
    }
}

#[component]
fn RoomList() -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let rooms = move || {
        client.state.with(|s| {
            s.rooms
                .values()
                .map(|r| (r.summary.room, r.summary.name.clone(), r.summary.unread))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <nav class="flex-1 overflow-y-auto p-2" aria-label="Conversation list">
            <Show
                when=move || !rooms().is_empty()
                fallback=|| view! { <p class="p-2 text-sm text-slate-400">"No conversations yet."</p> }
            >
                <ul class="space-y-1">
                    <For each=rooms key=|r| r.clone() let:room>
                        {
                            let (id, name, unread) = room;
                            let selected = move || client.selected.get() == Some(id);
                            view! {
                                <li>
                                    <button
                                        type="button"
                                        data-room=id
                                        aria-current=move || selected().then_some("true")
                                        on:click=move |_| client.selected.set(Some(id))
                                        class=move || {
                                            if selected() {
                                                "room-link flex w-full items-center gap-2 rounded-lg bg-white/15 px-3 py-2 text-left"
                                            } else {
                                                "room-link flex w-full items-center gap-2 rounded-lg px-3 py-2 text-left hover:bg-white/5"
                                            }
                                        }
                                    >
                                        <span class="min-w-0 flex-1 truncate">{name}</span>
                                        <Show when=move || { unread > 0 }>
                                            <span class="unread rounded-full bg-sky-500 px-2 text-xs font-semibold text-white" aria-label=format!("{unread} unread")>
                                                {unread}
                                            </span>
                                        </Show>
                                    </button>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </Show>
        </nav>
    }
}

/// A small "new group" form: a name and member emails.
#[component]
fn NewGroupForm() -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let name = RwSignal::new(String::new());
    let members = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (n, m) = (name.get_untracked(), members.get_untracked());
        spawn_local(async move {
            match create_group(n, m).await {
                Ok(room) => {
                    name.set(String::new());
                    members.set(String::new());
                    error.set(None);
                    client.selected.set(Some(room));
                }
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    };
    view! {
        <form id="new-group" on:submit=submit class="space-y-2 border-t border-white/10 p-4">
            <p class="text-xs font-semibold uppercase tracking-wide text-slate-400">"New group"</p>
            <label class="sr-only" for="group-name">"Group name"</label>
            <input id="group-name" required maxlength=80 placeholder="Group name" bind:value=name
                class="w-full rounded-lg border border-white/15 bg-white/5 px-3 py-1.5 text-sm outline-none focus:border-sky-400"/>
            <label class="sr-only" for="group-members">"Member emails"</label>
            <input id="group-members" placeholder="Member emails, comma separated" bind:value=members
                class="w-full rounded-lg border border-white/15 bg-white/5 px-3 py-1.5 text-sm outline-none focus:border-sky-400"/>
            {move || error.get().map(|e| view! { <p role="alert" class="text-xs text-rose-300">{e}</p> })}
            <button type="submit" class="w-full rounded-lg bg-white/10 px-3 py-1.5 text-sm hover:bg-white/15">"Create group"</button>
        </form>
    }
}
