use leptos::prelude::*;

use crate::api::auth::LogOut;
use crate::model::UserView;

/// The left pane: who is signed in, the conversation list, and log out.
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
            <nav class="flex-1 overflow-y-auto p-4" aria-label="Conversation list">
                <p class="text-sm text-slate-400">"No conversations yet."</p>
            </nav>
        </aside>
    }
}
