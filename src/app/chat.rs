use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api::auth::current_user;
use crate::components::chat_client::ChatClient;
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
                    Ok(Some(user)) => view! { <ChatShell user/> }.into_any(),
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

/// The split pane, with the live chat state shared by both sides of it.
#[component]
fn ChatShell(user: crate::model::UserView) -> impl IntoView {
    let client = ChatClient::new();
    provide_context(client);
    // The socket lives in the browser only; the server renders the frame.
    #[cfg(feature = "hydrate")]
    Effect::new(move |started: Option<()>| {
        if started.is_none() {
            crate::realtime::client::start(client);
        }
    });
    view! {
        <div class="flex h-screen gap-0 p-0 md:gap-4 md:p-4">
            <Sidebar user/>
            <MessagePane/>
        </div>
    }
}
