use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::Redirect;

use crate::api::admin;
use crate::api::auth::current_user;
use crate::model::{AdminUserView, DepartmentView, Role};

/// `/admin`: accounts, roles, agents' departments, and the departments.
/// Admins only (the server functions behind it refuse everyone else too).
#[component]
pub fn AdminPage() -> impl IntoView {
    let me = Resource::new_blocking(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| view! { <p class="p-8 text-slate-400">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) if user.role == Role::Admin => view! { <AdminConsole/> }.into_any(),
                    Ok(Some(_)) => view! {
                        <main class="p-8">
                            <p role="alert" class="text-rose-300">"Only admins can open the admin page."</p>
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

const FIELD: &str = "rounded-lg border border-white/20 bg-slate-900/60 px-3 py-1.5 text-sm text-slate-100 outline-none focus:border-sky-400";
const BUTTON: &str =
    "rounded-lg border border-white/20 px-3 py-1.5 text-sm text-slate-100 hover:bg-white/10";

/// What the page shows, refetched after every change.
#[derive(Clone, Copy)]
struct Console {
    users: RwSignal<Vec<AdminUserView>>,
    departments: RwSignal<Vec<DepartmentView>>,
    error: RwSignal<Option<String>>,
}

impl Console {
    fn reload(self) {
        spawn_local(async move {
            match (admin::users().await, admin::departments().await) {
                (Ok(users), Ok(departments)) => {
                    self.users.set(users);
                    self.departments.set(departments);
                }
                (Err(err), _) | (_, Err(err)) => self.error.set(Some(err.to_string())),
            }
        });
    }

    /// Runs a change, shows its error or clears the last one, and reloads.
    fn change(
        self,
        call: impl std::future::Future<Output = Result<(), crate::api::ApiError>> + 'static,
    ) {
        spawn_local(async move {
            self.error.set(call.await.err().map(|e| e.to_string()));
            self.reload();
        });
    }
}

#[component]
fn AdminConsole() -> impl IntoView {
    let console = Console {
        users: RwSignal::new(Vec::new()),
        departments: RwSignal::new(Vec::new()),
        error: RwSignal::new(None),
    };
    provide_context(console);
    Effect::new(move |_| console.reload());
    view! {
        <main class="mx-auto max-w-5xl space-y-6 p-4 md:p-8">
            <header class="flex items-center gap-4">
                <a href="/" class="rounded-lg px-2 py-1 text-slate-100 hover:bg-white/10" aria-label="Back to chats">"←"</a>
                <h1 class="text-2xl font-semibold">"Admin"</h1>
            </header>
            {move || console.error.get().map(|e| view! { <p role="alert" class="rounded-lg border border-rose-400/40 px-4 py-2 text-sm text-rose-300">{e}</p> })}
            <Departments/>
            <Users/>
        </main>
    }
}

#[component]
fn Departments() -> impl IntoView {
    let console = expect_context::<Console>();
    let name = RwSignal::new(String::new());
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = name.get_untracked();
        name.set(String::new());
        console.change(async move { admin::create_department(text).await.map(|_| ()) });
    };
    view! {
        <section class="glass-panel rounded-2xl p-4 md:p-6" aria-labelledby="departments-title">
            <h2 id="departments-title" class="mb-3 text-lg font-semibold">"Departments"</h2>
            <ul class="space-y-2">
                <For each=move || console.departments.get() key=|d| (d.id, d.name.clone(), d.archived) let:department>
                    <DepartmentRow department/>
                </For>
            </ul>
            <form on:submit=create class="mt-4 flex gap-2">
                <label for="new-department" class="sr-only">"New department"</label>
                <input id="new-department" bind:value=name required maxlength="60" placeholder="New department" class=format!("{FIELD} flex-1")/>
                <button type="submit" class=BUTTON>"Add department"</button>
            </form>
        </section>
    }
}

#[component]
fn DepartmentRow(department: DepartmentView) -> impl IntoView {
    let console = expect_context::<Console>();
    let DepartmentView { id, name, archived } = department;
    let draft = RwSignal::new(name.clone());
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        console.change(admin::update_department(
            id,
            draft.get_untracked(),
            archived,
        ));
    };
    let toggle = move |_| {
        console.change(admin::update_department(
            id,
            draft.get_untracked(),
            !archived,
        ))
    };
    view! {
        <li class="department-row" data-department=id>
            <form on:submit=save class="flex flex-wrap items-center gap-2">
                <label class="sr-only" for=format!("department-{id}")>"Department name"</label>
                <input id=format!("department-{id}") bind:value=draft required maxlength="60" class=format!("{FIELD} min-w-0 flex-1")/>
                {archived.then(|| view! { <span class="text-xs text-amber-300">"archived"</span> })}
                <button type="submit" class=BUTTON>"Rename"</button>
                <button type="button" class=BUTTON on:click=toggle>{if archived { "Restore" } else { "Archive" }}</button>
            </form>
        </li>
    }
}

#[component]
fn Users() -> impl IntoView {
    let console = expect_context::<Console>();
    view! {
        <section class="glass-panel rounded-2xl p-4 md:p-6" aria-labelledby="users-title">
            <h2 id="users-title" class="mb-3 text-lg font-semibold">"People"</h2>
            <p class="mb-3 text-sm text-slate-300">"Agents answer the support conversations of their departments; admins may read and answer all of them."</p>
            <div class="overflow-x-auto">
                <table class="w-full text-left text-sm">
                    <thead class="text-xs uppercase tracking-wide text-slate-300">
                        <tr><th class="py-2 pr-4">"Name"</th><th class="py-2 pr-4">"Email"</th><th class="py-2 pr-4">"Role"</th><th class="py-2">"Departments"</th></tr>
                    </thead>
                    <tbody>
                        <For each=move || console.users.get() key=|u| u.clone() let:user>
                            <UserRow user/>
                        </For>
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn UserRow(user: AdminUserView) -> impl IntoView {
    let console = expect_context::<Console>();
    let id = user.id;
    let on_role = move |ev: leptos::ev::Event| {
        let role = event_target_value(&ev);
        console.change(admin::set_role(id, role));
    };
    let is_agent = user.role == Role::Agent;
    let mine = StoredValue::new(user.departments.clone());
    let toggle = move |department: i64, on: bool| {
        let mut next = mine.get_value();
        next.retain(|d| *d != department);
        if on {
            next.push(department);
        }
        let list = next
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        console.change(admin::set_departments(id, list));
    };
    view! {
        <tr class="user-row border-t border-white/10" data-email=user.email.clone()>
            <td class="py-2 pr-4">{user.display_name.clone()}</td>
            <td class="py-2 pr-4 text-slate-300">{user.email.clone()}</td>
            <td class="py-2 pr-4">
                <label class="sr-only" for=format!("role-{id}")>{format!("Role of {}", user.display_name)}</label>
                <select id=format!("role-{id}") class=format!("role-select {FIELD}") on:change=on_role prop:value=user.role.as_str()>
                    {[Role::Member, Role::Agent, Role::Admin].into_iter().map(|r| view! {
                        <option value=r.as_str() selected=r == user.role>{r.label()}</option>
                    }).collect_view()}
                </select>
            </td>
            <td class="py-2">
                {if is_agent {
                    view! {
                        <div class="flex flex-wrap gap-3">
                            {move || console.departments.get().into_iter().filter(|d| !d.archived || mine.with_value(|m| m.contains(&d.id))).map(|d| {
                                let checked = mine.with_value(|m| m.contains(&d.id));
                                let department = d.id;
                                view! {
                                    <label class="flex items-center gap-1">
                                        <input type="checkbox" class="agent-department" data-department=department checked=checked
                                            on:change=move |ev| toggle(department, event_target_checked(&ev))/>
                                        {d.name}
                                    </label>
                                }
                            }).collect_view()}
                        </div>
                    }.into_any()
                } else {
                    view! { <span class="text-slate-400">{if user.role == Role::Admin { "All (admin)" } else { "—" }}</span> }.into_any()
                }}
            </td>
        </tr>
    }
}
