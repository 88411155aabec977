use leptos::prelude::*;
use leptos::task::spawn_local;

use super::admin_node::NodeFigures;
use super::admin_retention::Retention;
use super::admin_shared::{Console, SaveRow, BUTTON, FIELD};
use super::admin_sites::Sites;
use super::admin_sso::SingleSignOn;
use super::gate::RoleGate;
use crate::api::admin;
use crate::components::copy_button::CopyButton;
use crate::components::text::{day_label, now_ms, LocalTime};
use crate::model::{
    AdminUserView, AuditEntryView, DepartmentView, InviteLinkView, RegistrationMode, Role,
};

/// `/admin`: accounts, roles, agents' departments, and the departments.
/// Admins only (the server functions behind it refuse everyone else too).
#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <RoleGate allowed=|role| role == Role::Admin refused="Only admins can open the admin page."
            waiting="Loading the admin console…" load=admin_console/>
    }
}

#[leptos::lazy]
fn admin_console() -> AnyView {
    view! { <AdminConsole/> }.into_any()
}

#[component]
fn AdminConsole() -> impl IntoView {
    let console = Console {
        users: RwSignal::new(Vec::new()),
        departments: RwSignal::new(Vec::new()),
        error: RwSignal::new(None),
        last_change: StoredValue::new_local(None),
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
            <Registration/>
            <SingleSignOn/>
            <NodeFigures/>
            <InviteLinks/>
            <Departments/>
            <Sites departments=console.departments/>
            <Users/>
            <Retention/>
            <AuditLog/>
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
                        <tr><th class="py-2 pr-4">"Name"</th><th class="py-2 pr-4">"Email"</th><th class="py-2 pr-4">"Role"</th><th class="py-2 pr-4">"Departments"</th><th class="py-2">"Access"</th></tr>
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
    let deactivated = user.deactivated;
    // Deactivating ends someone's sessions at once: it asks first, in the row.
    let asking = RwSignal::new(false);
    let switch = move |_| {
        if deactivated {
            console.change(admin::set_active(id, true));
        } else {
            asking.set(true);
        }
    };
    let confirm = move |_| console.change(admin::set_active(id, false));
    // The row's own copy, by value: nothing here outlives the row (the list
    // is redrawn under quick changes; a handler must not read a disposed value).
    let mine = std::sync::Arc::new(user.departments.clone());
    let has = {
        let mine = mine.clone();
        move |d: i64| mine.contains(&d)
    };
    let toggle = move |department: i64, on: bool| {
        let mut next = (*mine).clone();
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
        <tr class="user-row border-t border-white/10" data-email=user.email.clone() data-deactivated=deactivated.to_string()>
            <td class="py-2 pr-4">
                {user.display_name.clone()}
                {deactivated.then(|| view! { <span class="ml-2 text-xs text-amber-300">"(deactivated)"</span> })}
            </td>
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
                            {move || console.departments.get().into_iter().filter(|d| !d.archived || has(d.id)).map(|d| {
                                let checked = has(d.id);
                                let toggle = toggle.clone();
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
            <td class="py-2 pl-4">
                <Show when=move || asking.get() fallback=move || view! {
                    <button type="button" class=format!("access-switch {BUTTON}") on:click=switch>
                        {if deactivated { "Reactivate" } else { "Deactivate" }}
                    </button>
                }>
                    <div class="flex flex-wrap items-center gap-2" role="group" aria-label="Confirm deactivation">
                        <span class="text-xs text-amber-200">"Sign out everywhere and refuse sign-in?"</span>
                        <button type="button" class=format!("confirm-deactivate {BUTTON} border-rose-400/60 text-rose-200") on:click=confirm>"Deactivate"</button>
                        <button type="button" class=BUTTON on:click=move |_| asking.set(false)>"Cancel"</button>
                    </div>
                </Show>
            </td>
        </tr>
    }
}

/// Who may create an account. Loads its own copy of the rule (so a reload
/// of the rest of the page never overwrites what is being edited).
#[component]
fn Registration() -> impl IntoView {
    let mode = RwSignal::new(RegistrationMode::Open);
    let domains = RwSignal::new(String::new());
    let status = RwSignal::new(None::<Result<&'static str, String>>);
    let show = move |policy: crate::model::RegistrationPolicy| {
        // The section may be gone by the time an answer arrives.
        mode.try_set(policy.mode);
        domains.try_set(policy.domains.join(", "));
    };
    Effect::new(move |_| {
        spawn_local(async move {
            match admin::registration().await {
                Ok(policy) => show(policy),
                Err(err) => drop(status.try_set(Some(Err(err.to_string())))),
            }
        });
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (m, d) = (mode.get_untracked(), domains.get_untracked());
        spawn_local(async move {
            let answer = admin::set_registration(m.as_str().to_string(), d).await;
            match answer {
                Ok(policy) => {
                    show(policy);
                    status.try_set(Some(Ok("Saved.")));
                }
                Err(err) => drop(status.try_set(Some(Err(err.to_string())))),
            }
        });
    };
    let choice = move |value: RegistrationMode, label: &'static str, hint: &'static str| {
        let id = format!("registration-mode-{}", value.as_str());
        let hint_id = format!("{id}-hint");
        view! {
            <div class="flex items-start gap-2 rounded-lg p-2 hover:bg-white/5">
                <input type="radio" id=id.clone() name="registration-mode" value=value.as_str() class="mt-1"
                    aria-describedby=hint_id.clone()
                    prop:checked=move || mode.get() == value
                    on:change=move |_| mode.set(value)/>
                <div>
                    <label for=id class="block text-sm text-slate-100">{label}</label>
                    <p id=hint_id class="text-xs text-slate-300">{hint}</p>
                </div>
            </div>
        }
    };
    view! {
        <section id="registration-section" class="glass-panel rounded-2xl p-4 md:p-6" aria-labelledby="registration-title">
            <h2 id="registration-title" class="mb-3 text-lg font-semibold">"Sign-up"</h2>
            <form id="registration-form" on:submit=save class="space-y-3">
                <fieldset class="space-y-1">
                    <legend class="mb-1 text-sm text-slate-300">"Who may create an account"</legend>
                    {choice(RegistrationMode::Open, "Anyone", "Everyone who can reach this server may sign up.")}
                    {choice(RegistrationMode::Invite, "By invitation only", "Through an invitation link: an admin's (below) or a member's invitation to a direct chat.")}
                    {choice(RegistrationMode::Domains, "Email domains", "Addresses at the domains listed here; an admin's invitation link admits anyone else.")}
                </fieldset>
                <div>
                    <label for="registration-domains" class="mb-1 block text-sm text-slate-300">"Allowed email domains"</label>
                    <input id="registration-domains" bind:value=domains maxlength="4000" placeholder="example.com, example.org"
                        aria-describedby="registration-domains-hint" class=format!("{FIELD} w-full")/>
                    <p id="registration-domains-hint" class="mt-1 text-xs text-slate-400">"Exact domains, separated by commas; kept when another mode is on."</p>
                </div>
                <SaveRow status/>
            </form>
        </section>
    }
}

/// The admins' single-use invitation links: make one (shown once), see the
/// unused ones, revoke.
#[component]
fn InviteLinks() -> impl IntoView {
    let links = RwSignal::new(Vec::<InviteLinkView>::new());
    let fresh = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let days = RwSignal::new("7".to_string());
    let reload = move || {
        spawn_local(async move {
            match admin::invite_links().await {
                Ok(list) => drop(links.try_set(list)),
                Err(err) => drop(error.try_set(Some(err.to_string()))),
            }
        });
    };
    Effect::new(move |_| reload());
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let valid_for = days.get_untracked().parse().unwrap_or(7);
        spawn_local(async move {
            match admin::create_invite_link(valid_for).await {
                Ok(made) => {
                    fresh.try_set(Some(made.signup_link));
                    error.try_set(None);
                    reload();
                }
                Err(err) => drop(error.try_set(Some(err.to_string()))),
            }
        });
    };
    let revoke = move |id: i64| {
        spawn_local(async move {
            if let Err(err) = admin::revoke_invite_link(id).await {
                error.try_set(Some(err.to_string()));
            }
            reload();
        });
    };
    view! {
        <section id="invite-links-section" class="glass-panel rounded-2xl p-4 md:p-6" aria-labelledby="invite-links-title">
            <h2 id="invite-links-title" class="mb-3 text-lg font-semibold">"Invitation links"</h2>
            <p class="mb-3 text-sm text-slate-300">"Each link creates one account, in any sign-up mode, until it expires."</p>
            <form id="invite-link-form" on:submit=create class="flex flex-wrap items-center gap-2">
                <label for="invite-link-days" class="text-sm text-slate-300">"Valid for"</label>
                <select id="invite-link-days" bind:value=days class=FIELD>
                    <option value="1">"1 day"</option>
                    <option value="7">"7 days"</option>
                    <option value="30">"30 days"</option>
                </select>
                <button type="submit" class=BUTTON>"Create link"</button>
            </form>
            {move || error.get().map(|e| view! { <p role="alert" class="mt-2 text-sm text-rose-300">{e}</p> })}
            {move || fresh.get().map(|link| view! {
                <div class="mt-3 rounded-lg border border-emerald-300/30 p-3">
                    <label for="new-invite-link" class="mb-1 block text-sm text-emerald-200">"New link: copy it now, it is shown only once."</label>
                    <div class="flex items-center gap-2">
                        <input id="new-invite-link" readonly value=link.clone() class=format!("{FIELD} min-w-0 flex-1")/>
                        <CopyButton text=link/>
                    </div>
                </div>
            })}
            <ul class="mt-3 space-y-2" aria-label="Unused invitation links">
                <For each=move || links.get() key=|l| l.clone() let:link>
                    {
                        let now = now_ms();
                        let text = format!(
                            "By {}, made {}, expires {}",
                            link.created_by,
                            day_label(link.created_at, now),
                            day_label(link.expires_at, now)
                        );
                        let id = link.id;
                        view! {
                            <li class="invite-link-row flex items-center justify-between gap-2 text-sm" data-link=id>
                                <span class="text-slate-200">{text.clone()}</span>
                                <button type="button" class=BUTTON aria-label=format!("Revoke link: {text}") on:click=move |_| revoke(id)>"Revoke"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
        </section>
    }
}

/// The audit log: who changed what, when and from where; newest first,
/// a hundred at a time. Reloaded with the rest of the page after a change.
#[component]
fn AuditLog() -> impl IntoView {
    let console = expect_context::<Console>();
    let entries = RwSignal::new(Vec::<AuditEntryView>::new());
    let more = RwSignal::new(false);
    let load = move |before: Option<i64>| {
        spawn_local(async move {
            match admin::audit_log(before).await {
                Ok(page) => {
                    more.set(page.len() >= 100);
                    if before.is_some() {
                        entries.update(|all| all.extend(page));
                    } else {
                        entries.set(page);
                    }
                }
                Err(err) => console.error.set(Some(err.to_string())),
            }
        });
    };
    // Follows the page's reloads, so a change made here shows at once.
    Effect::new(move |_| {
        console.users.track();
        load(None);
    });
    let older = move |_| load(entries.with_untracked(|all| all.last().map(|e| e.id)));
    view! {
        <section id="audit-section" class="glass-panel rounded-2xl p-4 md:p-6" aria-labelledby="audit-title">
            <h2 id="audit-title" class="mb-3 text-lg font-semibold">"Audit log"</h2>
            <p class="mb-3 text-sm text-slate-300">"Changes to roles, departments, accounts, sign-up, sites, keys and retention, exports and retention runs, by whom and from where."</p>
            <div class="overflow-x-auto">
                <table class="w-full text-left text-sm">
                    <thead class="text-xs uppercase tracking-wide text-slate-300">
                        <tr><th class="py-2 pr-4">"When"</th><th class="py-2 pr-4">"Who"</th><th class="py-2 pr-4">"What"</th><th class="py-2 pr-4">"Whom"</th><th class="py-2">"From"</th></tr>
                    </thead>
                    <tbody>
                        <For each=move || entries.get() key=|e| e.id let:entry>
                            <tr class="audit-row border-t border-white/10" data-action=entry.action.clone()>
                                <td class="py-2 pr-4 whitespace-nowrap text-slate-300">{day_label(entry.at, now_ms())}" "{LocalTime::of(entry.at).clock()}</td>
                                <td class="py-2 pr-4">{entry.actor.clone()}</td>
                                <td class="py-2 pr-4"><code>{entry.action.clone()}</code>{(!entry.detail.is_empty()).then(|| format!(" ({})", entry.detail))}</td>
                                <td class="py-2 pr-4">{entry.target.clone()}</td>
                                <td class="py-2 text-slate-300">{entry.address.clone().unwrap_or_else(|| "—".into())}</td>
                            </tr>
                        </For>
                    </tbody>
                </table>
            </div>
            {move || entries.with(Vec::is_empty).then(|| view! { <p class="text-sm text-slate-400">"Nothing recorded yet."</p> })}
            <Show when=move || more.get()>
                <button type="button" class=format!("mt-3 {BUTTON}") on:click=older>"Older entries"</button>
            </Show>
        </section>
    }
}
