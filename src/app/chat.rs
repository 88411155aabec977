use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api::auth::current_user;
use crate::components::message_pane::MessagePane;
use crate::components::sidebar::Sidebar;

/// `/`: the chat shell for a signed-in user; everyone else goes to `/login`.
#[component]
pub fn ChatPage() -> impl IntoView {
    let me = Resource::new_blocking(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| view! { <p class="p-8 text-slate-400">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) => view! {
                        <div class="flex h-screen gap-0 p-0 md:gap-4 md:p-4">
                            <Sidebar user/>
                            <MessagePane/>
                        </div>
                    }
                    .into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(err) => view! {
                        <p role="alert" class="p-8 text-rose-300">{err.to_string()}</p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}
