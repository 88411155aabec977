use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api::auth::current_user;
use crate::components::on_demand::InBrowser;
use crate::model::Role;

/// A page for some roles only (the server functions behind it refuse
/// everyone else too): signed out goes to the login page, another role
/// reads `refused`, and the page's own code (`load`) is fetched only for
/// those it is for, when they open it (see `on_demand`).
#[component]
pub fn RoleGate<Load, Loading>(
    allowed: fn(Role) -> bool,
    refused: &'static str,
    waiting: &'static str,
    load: Load,
) -> impl IntoView
where
    Load: Fn() -> Loading + Copy + Send + Sync + 'static,
    Loading: std::future::Future<Output = AnyView> + Send + 'static,
{
    let me = Resource::new_blocking(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| view! { <p class="p-8 text-slate-400">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) if allowed(user.role) => view! { <InBrowser load waiting/> }.into_any(),
                    Ok(Some(_)) => view! {
                        <main class="p-8">
                            <p role="alert" class="text-rose-300">{refused}</p>
                            <a href="/" class="mt-4 inline-block text-sky-300 underline">"Back to chats"</a>
                        </main>
                    }
                    .into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(err) => view! { <p role="alert" class="p-8 text-rose-300">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
