//! The modal dialogs: new chat, new group, the Ctrl/Cmd+K quick switcher and
//! a confirm. Each is open while its signal is true; Esc or a click on the
//! backdrop closes it, and the first field takes the focus when it opens.

use leptos::html::Input;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::auth::change_password;
use crate::api::rooms::{create_group, start_direct};
use crate::components::chat_client::ChatClient;
use crate::model::DirectOutcome;

/// Each dialog's code as a file of its own, fetched the first time the
/// dialog opens (see `on_demand`).
#[leptos::lazy]
pub fn new_chat_dialog() -> AnyView {
    view! { <NewChatDialog/> }.into_any()
}

#[leptos::lazy]
pub fn new_group_dialog() -> AnyView {
    view! { <NewGroupDialog/> }.into_any()
}

#[leptos::lazy]
pub fn change_password_dialog() -> AnyView {
    view! { <ChangePasswordDialog/> }.into_any()
}

#[leptos::lazy]
pub fn quick_switcher() -> AnyView {
    view! { <QuickSwitcher/> }.into_any()
}

pub use super::open_flags::Dialogs;

const FIELD: &str = "w-full rounded-lg border border-white/20 bg-slate-900/60 px-3 py-2 text-sm text-slate-100 placeholder:text-slate-400 focus:border-sky-400";
const PRIMARY: &str = "rounded-lg bg-gradient-to-r from-sky-500 to-violet-500 px-4 py-2 text-sm font-semibold text-white disabled:opacity-50";
const SECONDARY: &str =
    "rounded-lg border border-white/20 px-4 py-2 text-sm text-slate-100 hover:bg-white/10";

/// A modal frame. `focus` is the field to focus when it opens.
#[component]
pub fn Dialog(
    open: RwSignal<bool>,
    id: &'static str,
    title: &'static str,
    #[prop(optional)] focus: Option<NodeRef<Input>>,
    children: ChildrenFn,
) -> impl IntoView {
    let title_id = format!("{id}-title");
    Effect::new(move |_| {
        if open.get() {
            // After the dialog's nodes are on the page.
            request_animation_frame(move || {
                // The dialog may have closed within the frame.
                if let Some(input) = focus.and_then(|f| f.try_get_untracked().flatten()) {
                    let _ = input.focus();
                }
            });
        }
    });
    let children = StoredValue::new(children);
    view! {
        <Show when=move || open.get()>
            <div
                class="fixed inset-0 z-40 flex items-start justify-center bg-slate-950/70 p-4 pt-[12vh]"
                on:click=move |_| open.set(false)
            >
                <div
                    id=id
                    role="dialog"
                    aria-modal="true"
                    aria-labelledby=title_id.clone()
                    class="glass-panel w-full max-w-md rounded-2xl bg-slate-900/80 p-6"
                    on:click=|ev| ev.stop_propagation()
                    on:keydown=move |ev| {
                        if ev.key() == "Escape" {
                            open.set(false);
                        }
                    }
                >
                    <h2 id=title_id.clone() class="mb-4 text-lg font-semibold">{title}</h2>
                    {children.with_value(|c| c())}
                </div>
            </div>
        </Show>
    }
}

/// "New chat": an email opens the direct chat, or leaves an invitation.
#[component]
pub fn NewChatDialog() -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let dialogs = expect_context::<Dialogs>();
    let email = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let field = NodeRef::<Input>::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let address = email.get_untracked();
        busy.set(true);
        spawn_local(async move {
            match start_direct(address).await {
                Ok(DirectOutcome::Room(room)) => {
                    email.set(String::new());
                    error.set(None);
                    dialogs.new_chat.set(false);
                    client.open(room);
                }
                Ok(DirectOutcome::Invited(invitation)) => {
                    email.set(String::new());
                    error.set(None);
                    dialogs.new_chat.set(false);
                    client.invitations.update(|list| {
                        list.retain(|i| i.email != invitation.email);
                        list.insert(0, invitation);
                    });
                }
                Err(err) => error.set(Some(err.to_string())),
            }
            busy.set(false);
        });
    };
    view! {
        <Dialog open=dialogs.new_chat id="new-chat" title="New chat" focus=field>
            <form on:submit=submit class="space-y-3">
                <label for="new-chat-email" class="block text-sm text-slate-200">"Their email"</label>
                <input id="new-chat-email" type="email" required node_ref=field bind:value=email
                    placeholder="name@example.com" autocomplete="off" class=FIELD/>
                <p class="text-xs text-slate-300">"No account yet? They get an invitation link you can send them."</p>
                {move || error.get().map(|e| view! { <p role="alert" class="text-sm text-rose-300">{e}</p> })}
                <div class="flex justify-end gap-2">
                    <button type="button" class=SECONDARY on:click=move |_| dialogs.new_chat.set(false)>"Cancel"</button>
                    <button type="submit" class=PRIMARY disabled=move || busy.get()>"Start chat"</button>
                </div>
            </form>
        </Dialog>
    }
}

/// "New group": a name and member emails.
#[component]
pub fn NewGroupDialog() -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let dialogs = expect_context::<Dialogs>();
    let name = RwSignal::new(String::new());
    let members = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let field = NodeRef::<Input>::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (n, m) = (name.get_untracked(), members.get_untracked());
        spawn_local(async move {
            match create_group(n, m).await {
                Ok(room) => {
                    name.set(String::new());
                    members.set(String::new());
                    error.set(None);
                    dialogs.new_group.set(false);
                    client.open(room);
                }
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    };
    view! {
        <Dialog open=dialogs.new_group id="new-group" title="New group" focus=field>
            <form on:submit=submit class="space-y-3">
                <label for="group-name" class="block text-sm text-slate-200">"Group name"</label>
                <input id="group-name" required maxlength=80 node_ref=field bind:value=name class=FIELD/>
                <label for="group-members" class="block text-sm text-slate-200">"Members"</label>
                <input id="group-members" bind:value=members placeholder="Emails, separated by commas" class=FIELD/>
                {move || error.get().map(|e| view! { <p role="alert" class="text-sm text-rose-300">{e}</p> })}
                <div class="flex justify-end gap-2">
                    <button type="button" class=SECONDARY on:click=move |_| dialogs.new_group.set(false)>"Cancel"</button>
                    <button type="submit" class=PRIMARY>"Create group"</button>
                </div>
            </form>
        </Dialog>
    }
}

/// "Change password": the current one, then the new one twice. Other
/// sessions of this account end when it succeeds.
#[component]
pub fn ChangePasswordDialog() -> impl IntoView {
    let dialogs = expect_context::<Dialogs>();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let field = NodeRef::<Input>::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (old, fresh) = (current.get_untracked(), new.get_untracked());
        if fresh != again.get_untracked() {
            error.set(Some("The two new passwords differ.".into()));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match change_password(old, fresh).await {
                Ok(()) => {
                    for s in [current, new, again] {
                        s.set(String::new());
                    }
                    error.set(None);
                    done.set(true);
                }
                Err(err) => error.set(Some(err.to_string())),
            }
            busy.set(false);
        });
    };
    Effect::new(move |_| {
        if dialogs.password.get() {
            done.set(false);
            error.set(None);
        }
    });
    view! {
        <Dialog open=dialogs.password id="change-password" title="Change password" focus=field>
            <form on:submit=submit class="space-y-3">
                <label for="password-current" class="block text-sm text-slate-200">"Current password"</label>
                <input id="password-current" type="password" required node_ref=field bind:value=current
                    autocomplete="current-password" class=FIELD/>
                <label for="password-new" class="block text-sm text-slate-200">"New password"</label>
                <input id="password-new" type="password" required minlength=8 maxlength=128 bind:value=new
                    autocomplete="new-password" class=FIELD/>
                <label for="password-again" class="block text-sm text-slate-200">"New password again"</label>
                <input id="password-again" type="password" required minlength=8 maxlength=128 bind:value=again
                    autocomplete="new-password" class=FIELD/>
                <p class="text-xs text-slate-300">"Every other device signed in to this account is signed out."</p>
                {move || error.get().map(|e| view! { <p role="alert" class="text-sm text-rose-300">{e}</p> })}
                <Show when=move || done.get()>
                    <p role="status" class="text-sm text-emerald-300">"Password changed. Other sessions were signed out."</p>
                </Show>
                <div class="flex justify-end gap-2">
                    <button type="button" class=SECONDARY on:click=move |_| dialogs.password.set(false)>"Close"</button>
                    <button type="submit" class=PRIMARY disabled=move || busy.get()>"Change password"</button>
                </div>
            </form>
        </Dialog>
    }
}

/// Ctrl/Cmd+K: type part of a name, Enter opens the first match.
#[component]
pub fn QuickSwitcher() -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let dialogs = expect_context::<Dialogs>();
    let query = RwSignal::new(String::new());
    let field = NodeRef::<Input>::new();
    let matches = move || {
        let q = query.get().to_lowercase();
        client.state.with(|s| {
            s.sidebar()
                .into_iter()
                .filter(|r| r.name.to_lowercase().contains(&q))
                .take(8)
                .map(|r| (r.room, r.name.clone()))
                .collect::<Vec<_>>()
        })
    };
    let open = move |room: i64| {
        client.open(room);
        query.set(String::new());
        dialogs.switcher.set(false);
        // Where the jump leads: typing in that conversation.
        crate::components::composer::focus_composer();
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some((room, _)) = matches().first() {
            open(*room);
        }
    };
    view! {
        <Dialog open=dialogs.switcher id="switcher" title="Jump to a conversation" focus=field>
            <form on:submit=submit>
                <label for="switcher-input" class="sr-only">"Conversation name"</label>
                <input id="switcher-input" node_ref=field bind:value=query autocomplete="off"
                    placeholder="Type a name, then Enter" class=FIELD/>
            </form>
            // A list of buttons (a listbox may not hold buttons).
            <ul class="mt-3 space-y-1" aria-label="Matches">
                <For each=matches key=|m| m.clone() let:m>
                    <li>
                        <button type="button" class="w-full rounded-lg px-3 py-2 text-left text-sm hover:bg-white/10"
                            on:click=move |_| open(m.0)>{m.1.clone()}</button>
                    </li>
                </For>
            </ul>
        </Dialog>
    }
}

/// A dialog's `open` flag for a dialog about something (`target`): open
/// while there is a target, and closing it (Esc, Cancel, a click outside)
/// clears the target. Each side is set only when it differs: a set always
/// notifies, so two effects setting each other unconditionally never stop.
pub fn open_while<T: Send + Sync + 'static>(target: RwSignal<Option<T>>) -> RwSignal<bool> {
    let open = RwSignal::new(false);
    Effect::new(move |_| {
        let wanted = target.with(Option::is_some);
        if open.get_untracked() != wanted {
            open.set(wanted);
        }
    });
    Effect::new(move |_| {
        if !open.get() && target.with_untracked(Option::is_some) {
            target.set(None);
        }
    });
    open
}

/// A yes/no question; `on_confirm` runs on yes.
#[component]
pub fn ConfirmDialog(
    open: RwSignal<bool>,
    id: &'static str,
    title: &'static str,
    message: &'static str,
    confirm_label: &'static str,
    on_confirm: Callback<()>,
) -> impl IntoView {
    view! {
        <Dialog open id title>
            <p class="text-sm text-slate-200">{message}</p>
            <div class="mt-5 flex justify-end gap-2">
                <button type="button" class=SECONDARY on:click=move |_| open.set(false)>"Cancel"</button>
                <button type="button" class="rounded-lg bg-rose-500 px-4 py-2 text-sm font-semibold text-white hover:bg-rose-400"
                    on:click=move |_| {
                        open.set(false);
                        on_confirm.run(());
                    }>{confirm_label}</button>
            </div>
        </Dialog>
    }
}
