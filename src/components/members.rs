//! A group's member list, with rename, add and remove for whoever manages
//! the group (its owner or an admin).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::rooms::{add_members, remove_member, rename_room, room_members};
use crate::components::chat_client::{spawn_call_then, ChatClient};
use crate::components::presence::PresenceDot;
use crate::model::MemberView;
use crate::realtime::protocol::MessageKind;

const FIELD: &str = "min-w-0 flex-1 rounded-lg border border-white/15 bg-slate-900/50 px-2 py-1 text-sm text-slate-100 placeholder:text-slate-400 focus:border-sky-400";

/// The panel's code, fetched the first time it opens (see `on_demand`).
#[leptos::lazy]
pub fn members_panel(room: i64, open: RwSignal<bool>) -> AnyView {
    view! {
        <Show when=move || open.get()>
            <MembersPanel room open/>
        </Show>
    }
    .into_any()
}

#[component]
pub fn MembersPanel(room: i64, open: RwSignal<bool>) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let my_id = client.my_id();
    let members = RwSignal::new(Vec::<MemberView>::new());
    let error = RwSignal::new(None::<String>);
    // Others' membership changes arrive as system lines: refetch on each;
    // our own changes refetch as soon as the call succeeds.
    let refresh = RwSignal::new(0_u32);
    let changed = move || refresh.update(|n| *n += 1);
    let version = Memo::new(move |_| {
        client.summary(room).and_then(|s| {
            s.last
                .filter(|m| m.kind == MessageKind::System)
                .map(|m| m.seq)
        })
    });
    Effect::new(move |_| {
        version.track();
        refresh.track();
        spawn_local(async move {
            match room_members(room).await {
                Ok(list) => members.set(list),
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    });
    let manage = move || client.summary(room).is_some_and(|s| client.can_manage(&s));
    let new_name = RwSignal::new(String::new());
    let add = RwSignal::new(String::new());

    view! {
        <aside id="members-panel" aria-label="Members"
            class="flex w-64 shrink-0 flex-col border-l border-white/10 bg-slate-950/30 p-4 max-md:absolute max-md:inset-y-0 max-md:right-0 max-md:z-20 max-md:bg-slate-900/95">
            <div class="flex items-center justify-between">
                <h3 class="font-semibold">"Members"</h3>
                <button type="button" aria-label="Close members" class="rounded px-2 hover:bg-white/10" on:click=move |_| open.set(false)>"×"</button>
            </div>
            <ul class="mt-3 min-h-0 flex-1 space-y-2 overflow-y-auto">
                <For each=move || members.get() key=|m| (m.user_id, m.owner) let:member>
                    {
                        let id = member.user_id;
                        view! {
                            <li class="member flex items-center gap-2 text-sm">
                                {(id != my_id).then(|| view! { <PresenceDot user=id name=member.display_name.clone()/> })}
                                <span class="min-w-0 flex-1">
                                    <span class="block truncate text-slate-100">{member.display_name.clone()}
                                        {(id == my_id).then_some(" (you)")}</span>
                                    <span class="block truncate text-xs text-slate-300">{member.email.clone()}</span>
                                </span>
                                {member.owner.then(|| view! { <span class="rounded bg-white/10 px-1.5 text-xs text-slate-200">"owner"</span> })}
                                <Show when=move || manage() && id != my_id>
                                    <button type="button" class="remove-member rounded px-1.5 text-xs text-rose-200 hover:bg-white/10"
                                        aria-label=format!("Remove {}", member.display_name)
                                        on:click=move |_| spawn_call_then(remove_member(room, id), error, changed)>"Remove"</button>
                                </Show>
                            </li>
                        }
                    }
                </For>
            </ul>
            {move || error.get().map(|e| view! { <p role="alert" class="mt-2 text-xs text-rose-300">{e}</p> })}
            <Show when=manage>
                <form class="mt-3 flex gap-2" on:submit=move |ev| {
                    ev.prevent_default();
                    let emails = add.get_untracked();
                    add.set(String::new());
                    spawn_call_then(add_members(room, emails), error, changed);
                }>
                    <label for="add-members" class="sr-only">"Add members by email"</label>
                    <input id="add-members" bind:value=add placeholder="Add by email" class=FIELD/>
                    <button type="submit" class="rounded-lg bg-white/10 px-2 text-sm hover:bg-white/15">"Add"</button>
                </form>
                <form class="mt-2 flex gap-2" on:submit=move |ev| {
                    ev.prevent_default();
                    let name = new_name.get_untracked();
                    new_name.set(String::new());
                    spawn_call_then(rename_room(room, name), error, changed);
                }>
                    <label for="rename-room" class="sr-only">"New group name"</label>
                    <input id="rename-room" bind:value=new_name required maxlength=80 placeholder="Rename group" class=FIELD/>
                    <button type="submit" class="rounded-lg bg-white/10 px-2 text-sm hover:bg-white/15">"Rename"</button>
                </form>
            </Show>
        </aside>
    }
}
