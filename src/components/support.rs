//! The support desk in the chat shell: "Contact support" for members, the
//! live queue for agents and admins, and the staff actions on an open
//! conversation (claim, assign, transfer, resolve, reopen). Everything the
//! queue shows comes from the room summaries the socket keeps current.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::support::visitor;
use crate::api::support::{assign, claim, contact, departments, reopen, resolve, staff, transfer};
use crate::components::canned_dialog::canned_dialog;
use crate::components::chat_client::{spawn_call, ChatClient};
use crate::components::dialogs::{Dialog, Dialogs};
use crate::components::on_demand::OnDemand;
use crate::components::presence::PresenceDot;
use crate::components::text::{now_ms, short_time};
use crate::model::{DepartmentView, StaffView, VisitorDetails};
use crate::realtime::protocol::{MessageKind, RoomSummary, SiteMark, SupportInfo, SupportStatus};

/// The dialog's code, fetched the first time it opens (see `on_demand`).
#[leptos::lazy]
pub fn contact_support_dialog() -> AnyView {
    view! { <ContactSupportDialog/> }.into_any()
}

/// "Contact support": pick a department; its one conversation opens.
#[component]
pub fn ContactSupportDialog() -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let dialogs = expect_context::<Dialogs>();
    let list = RwSignal::new(None::<Vec<DepartmentView>>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if dialogs.contact.get() {
            spawn_local(async move {
                match departments().await {
                    Ok(found) => {
                        list.set(Some(found.into_iter().filter(|d| !d.archived).collect()))
                    }
                    Err(err) => error.set(Some(err.to_string())),
                }
            });
        }
    });
    // One request at a time: a double click is one contact.
    let busy = RwSignal::new(false);
    let open_department = move |id: i64| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match contact(id).await {
                Ok(room) => {
                    error.set(None);
                    dialogs.contact.set(false);
                    client.open(room);
                }
                Err(err) => error.set(Some(err.to_string())),
            }
            busy.set(false);
        });
    };
    view! {
        <Dialog open=dialogs.contact id="contact-support" title="Contact support">
            <p class="mb-3 text-sm text-slate-300">"Which team do you need? You keep one conversation with each."</p>
            {move || match list.get() {
                None => view! { <p class="text-sm text-slate-300">"Loading…"</p> }.into_any(),
                Some(found) if found.is_empty() => view! {
                    <p class="text-sm text-slate-300">"No department takes conversations right now."</p>
                }.into_any(),
                Some(found) => view! {
                    <ul class="space-y-2">
                        {found.into_iter().map(|d| {
                            let id = d.id;
                            view! {
                                <li>
                                    <button type="button" data-department=id on:click=move |_| open_department(id)
                                        class="department-choice w-full rounded-xl border border-white/15 px-4 py-3 text-left text-sm font-medium hover:bg-white/10">
                                        {d.name}
                                    </button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
            {move || error.get().map(|e| view! { <p role="alert" class="mt-3 text-sm text-rose-300">{e}</p> })}
        </Dialog>
    }
}

/// Where a conversation sits in an agent's queue: unassigned first, then
/// their own, then colleagues', resolved last.
fn lane(info: &SupportInfo, me: i64) -> u8 {
    match (info.status, info.assignee_id) {
        (SupportStatus::Resolved, _) => 3,
        (SupportStatus::Open, None) => 0,
        (SupportStatus::Open, Some(a)) if a == me => 1,
        (SupportStatus::Open, Some(_)) => 2,
    }
}

/// "4 min", "2 h 5 min", "3 d".
pub fn waited(since: i64, now: i64) -> String {
    let minutes = ((now - since).max(0) / 60_000) as u64;
    match minutes {
        0 => "under a minute".to_string(),
        m if m < 60 => format!("{m} min"),
        m if m < 24 * 60 => format!("{} h {} min", m / 60, m % 60),
        m => format!("{} d", m / (24 * 60)),
    }
}

/// One queue row's worth of what it shows.
#[derive(Clone, PartialEq, Eq, Hash)]
struct QueueRow {
    room: i64,
    member: String,
    department: String,
    lane: u8,
    handler: String,
    preview: String,
    waiting: Option<String>,
    time: String,
    unread: i64,
    /// The member, whose presence the row shows (are they still there?).
    member_id: i64,
    /// From a website's widget: "Shop · verified".
    site: Option<String>,
}

impl QueueRow {
    fn of(summary: &RoomSummary, info: &SupportInfo, me: i64, now: i64) -> QueueRow {
        let preview = match &summary.last {
            None => "No messages yet".to_string(),
            Some(m) if m.kind == MessageKind::System => m.body.clone(),
            Some(m) if m.sender_id == Some(me) => format!("You: {}", m.body),
            Some(m) => format!("{}: {}", m.sender_name, m.body),
        };
        let lane = lane(info, me);
        let handler = match (lane, &info.assignee_name) {
            (0, _) => "Unassigned".to_string(),
            (1, _) => "You".to_string(),
            (_, Some(name)) => name.clone(),
            (_, None) => String::new(),
        };
        QueueRow {
            room: summary.room,
            member: info.member_name.clone(),
            department: info.department.clone(),
            lane,
            handler,
            preview,
            waiting: info
                .waiting_since
                .filter(|_| info.status == SupportStatus::Open)
                .map(|t| waited(t, now)),
            time: short_time(summary.last_activity, now),
            unread: summary.unread,
            member_id: info.member_id,
            site: info.site.as_ref().map(site_label),
        }
    }
}

/// The queue's code, fetched the first time an agent opens its tab (see
/// `on_demand`).
#[leptos::lazy]
pub fn support_queue(shown: Signal<bool>) -> AnyView {
    view! {
        <Show when=move || shown.get()>
            <SupportQueue/>
        </Show>
    }
    .into_any()
}

/// The agent's queue, per department, live from the socket.
#[component]
pub fn SupportQueue() -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let me = client.my_id();
    // Waiting times move on their own.
    let now = RwSignal::new(now_ms());
    #[cfg(feature = "hydrate")]
    if let Ok(tick) = set_interval_with_handle(
        move || now.set(now_ms()),
        std::time::Duration::from_secs(30),
    ) {
        on_cleanup(move || tick.clear());
    }
    let groups = move || {
        let now = now.get();
        let mut rows: Vec<(QueueRow, (u8, i64))> = client.state.with(|s| {
            let notes = s.unread_notes();
            s.rooms
                .values()
                .map(|r| &r.summary)
                .filter(|r| r.staffed_by(me))
                .filter_map(|r| {
                    let info = r.support.as_ref()?;
                    // Waiting ones by how long they have waited, then the
                    // rest by recent activity.
                    let order = match info.waiting_since {
                        Some(since) => (0, since),
                        None => (1, -r.last_activity),
                    };
                    let mut row = QueueRow::of(r, info, me, now);
                    // Colleagues' notes count with the conversation.
                    row.unread += notes.get(&r.room).copied().unwrap_or(0);
                    Some((row, order))
                })
                .collect()
        });
        // Within a lane the longest-waiting first, then the most recent.
        rows.sort_by(|(a, ka), (b, kb)| {
            (a.department.as_str(), a.lane, *ka, a.room).cmp(&(
                b.department.as_str(),
                b.lane,
                *kb,
                b.room,
            ))
        });
        let mut groups: Vec<(String, Vec<QueueRow>)> = Vec::new();
        for (row, _) in rows {
            match groups.last_mut() {
                Some((name, list)) if *name == row.department => list.push(row),
                _ => groups.push((row.department.clone(), vec![row])),
            }
        }
        groups
    };
    view! {
        <nav id="support-queue" class="mt-2 min-h-0 flex-1 overflow-y-auto p-2" aria-label="Support queue">
            <Show when=move || !groups().is_empty()
                fallback=|| view! { <p class="p-2 text-sm text-slate-300">"No support conversations in your departments yet."</p> }>
                <For each=groups key=|(name, rows)| (name.clone(), rows.clone()) let:group>
                    <section class="mb-3" data-department=group.0.clone()>
                        <h3 class="px-2 pb-1 text-xs font-semibold uppercase tracking-wide text-slate-300">{group.0.clone()}</h3>
                        <ul class="space-y-1">
                            {group.1.into_iter().map(|row| view! { <QueueItem row/> }).collect_view()}
                        </ul>
                    </section>
                </For>
            </Show>
        </nav>
    }
}

#[component]
fn QueueItem(row: QueueRow) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let id = row.room;
    let selected = move || client.selected.get() == Some(id);
    let unread = row.unread;
    let handler_class = match row.lane {
        0 => "text-amber-300",
        1 => "text-sky-300",
        3 => "text-emerald-300",
        _ => "text-slate-300",
    };
    view! {
        <li>
            // The button's name is what it shows (WCAG 2.5.3), with the
            // count spelled out for screen readers, as in the sidebar.
            <button type="button" data-room=id data-lane=row.lane
                aria-current=move || selected().then_some("true")
                on:click=move |_| client.open(id)
                class=move || {
                    let base = "queue-row flex w-full flex-col gap-0.5 rounded-xl px-3 py-2 text-left";
                    if selected() { format!("{base} bg-white/15") } else { format!("{base} hover:bg-white/5") }
                }>
                <span class="flex items-center gap-2">
                    <PresenceDot user=row.member_id name=row.member.clone()/>
                    <span class="queue-member min-w-0 flex-1 truncate font-medium">{row.member.clone()}</span>
                    <span class="shrink-0 text-xs text-slate-300">{row.time.clone()}</span>
                </span>
                <span class="flex items-center gap-2 text-xs">
                    <span class=format!("queue-handler {handler_class}")>
                        {if row.lane == 3 { format!("Resolved · {}", row.handler) } else { row.handler.clone() }}
                    </span>
                    {row.waiting.clone().map(|w| view! { <span class="queue-waiting text-rose-200">{format!("waiting {w}")}</span> })}
                    {row.site.clone().map(|s| view! { <span class="queue-site rounded bg-violet-500/20 px-1.5 text-violet-200">{s}</span> })}
                </span>
                <span class="flex items-center gap-2">
                    <span class="preview min-w-0 flex-1 truncate text-xs text-slate-300">{row.preview.clone()}</span>
                    {(unread > 0).then(|| view! {
                        <span class="unread rounded-full bg-sky-500 px-2 text-xs font-semibold text-white" aria-hidden="true">{unread}</span>
                        <span class="sr-only">{format!(", {unread} unread")}</span>
                    })}
                </span>
            </button>
        </li>
    }
}

/// Where a website visitor wrote from, and whether the site vouched for them.
fn site_label(site: &SiteMark) -> String {
    let trust = if site.verified {
        "verified"
    } else {
        "not verified"
    };
    format!("{} · {trust}", site.name)
}

/// The line under a support conversation's title, as `me` sees it.
pub fn support_subtitle(info: &SupportInfo, me: i64) -> String {
    let staff_view = info.member_id != me;
    let status = match info.status {
        SupportStatus::Resolved => " · Resolved",
        SupportStatus::Open => "",
    };
    let handler = match &info.assignee_name {
        Some(_) if staff_view && info.assignee_id == Some(me) => "Handled by you".to_string(),
        Some(name) => format!("Handled by {name}"),
        None if staff_view => "Unassigned".to_string(),
        None => "Waiting for an agent".to_string(),
    };
    if staff_view {
        format!("{} · {handler}{status}", info.department)
    } else {
        format!("Support · {handler}{status}")
    }
}

/// Claim, assign, transfer, resolve or reopen the open conversation: for
/// its staff, fetched the first time staff open one (see `on_demand`).
#[leptos::lazy]
pub fn support_actions(room: i64) -> AnyView {
    let client = expect_context::<ChatClient>();
    let me = client.my_id();
    let staffed = move || client.summary(room).is_some_and(|s| s.staffed_by(me));
    let info = move || client.summary(room).and_then(|s| s.support);
    let error = RwSignal::new(None::<String>);
    let people = RwSignal::new(Vec::<StaffView>::new());
    let places = RwSignal::new(Vec::<DepartmentView>::new());
    let guest = RwSignal::new(None::<VisitorDetails>);
    let canned_open = RwSignal::new(false);
    // Changes only with a transfer (not with every message).
    let department = Memo::new(move |_| info().map(|i| i.department_id));
    // What to offer in the two pickers, and who a website visitor is;
    // fetched once per conversation.
    Effect::new(move |_| {
        let from_site = info().is_some_and(|i| i.site.is_some());
        spawn_local(async move {
            if from_site {
                if let Ok(found) = visitor(room).await {
                    guest.set(found);
                }
            }
            if let Ok(found) = staff(room).await {
                people.set(found);
            }
            if let Ok(found) = departments().await {
                places.set(found.into_iter().filter(|d| !d.archived).collect());
            }
        })
    });
    let resolved = move || info().is_some_and(|i| i.status == SupportStatus::Resolved);
    let mine = move || info().is_some_and(|i| i.assignee_id == Some(me));
    let on_assign = move |ev: leptos::ev::Event| {
        if let Ok(agent) = event_target_value(&ev).parse::<i64>() {
            spawn_call(assign(room, agent), error);
        }
    };
    let on_transfer = move |ev: leptos::ev::Event| {
        let Ok(department) = event_target_value(&ev).parse::<i64>() else {
            return;
        };
        let name = places.with_untracked(|p| {
            p.iter()
                .find(|d| d.id == department)
                .map(|d| d.name.clone())
                .unwrap_or_default()
        });
        let member = info().map(|i| i.member_name).unwrap_or_default();
        spawn_local(async move {
            match transfer(room, department).await {
                Ok(()) => error.set(None),
                Err(crate::api::error::ApiError::TransferConflict) => error.set(Some(format!(
                    "{member} already has a conversation with {name}: open that one instead. Nothing was moved or merged."
                ))),
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    };
    // Transfer targets: every open department but this one.
    let elsewhere = move || {
        let here = info().map(|i| i.department_id);
        places.with(|p| {
            p.iter()
                .filter(|d| Some(d.id) != here)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    const BUTTON: &str = "rounded-lg border border-white/15 px-3 py-1.5 text-sm hover:bg-white/10";
    const SELECT: &str =
        "rounded-lg border border-white/15 bg-slate-900/70 px-2 py-1.5 text-sm text-slate-100";
    view! {
        <Show when=staffed>
        <div id="support-actions" class="flex flex-wrap items-center gap-2 border-b border-white/10 px-4 py-2 md:px-6" role="toolbar" aria-label="Support actions">
            <Show when=move || !mine() || resolved()>
                <button id="support-claim" type="button" class=BUTTON on:click=move |_| spawn_call(claim(room), error)>"Claim"</button>
            </Show>
            <label class="sr-only" for="support-assign">"Assign to"</label>
            <select id="support-assign" class=SELECT on:change=on_assign prop:value="">
                <option value="">"Assign to…"</option>
                <For each=move || people.get() key=|p| p.user_id let:person>
                    <option value=person.user_id>{person.display_name}</option>
                </For>
            </select>
            <label class="sr-only" for="support-transfer">"Transfer to"</label>
            <select id="support-transfer" class=SELECT on:change=on_transfer prop:value="">
                <option value="">"Transfer to…"</option>
                <For each=elsewhere key=|d| d.id let:place>
                    <option value=place.id>{place.name}</option>
                </For>
            </select>
            <button id="canned-open" type="button" class=BUTTON on:click=move |_| canned_open.set(true)>"Canned replies"</button>
            <span class="flex-1"></span>
            {move || if resolved() {
                view! { <button id="support-reopen" type="button" class=BUTTON on:click=move |_| spawn_call(reopen(room), error)>"Reopen"</button> }.into_any()
            } else {
                view! { <button id="support-resolve" type="button" class="rounded-lg bg-emerald-600/80 px-3 py-1.5 text-sm font-semibold text-white hover:bg-emerald-500" on:click=move |_| spawn_call(resolve(room), error)>"Resolve"</button> }.into_any()
            }}
        </div>
        {move || department.get().map(|department| view! {
            <OnDemand wanted=canned_open load=move || canned_dialog(room, department, canned_open)/>
        })}
        {move || guest.get().map(|details| view! { <VisitorCard details/> })}
        {move || error.get().map(|e| view! { <p role="alert" class="border-b border-white/10 px-6 py-2 text-sm text-rose-300">{e}</p> })}
        </Show>
    }
    .into_any()
}

/// Who a website visitor is, for the staff: name, email, site, whether
/// the site vouched for them, the page they wrote from, their local time.
#[component]
fn VisitorCard(details: VisitorDetails) -> impl IntoView {
    let local = details
        .time_zone
        .as_deref()
        .and_then(local_time)
        .map(|time| format!("{time} ({})", details.time_zone.clone().unwrap_or_default()));
    let trust = if details.verified {
        "Verified by the site"
    } else {
        "Not verified: name and email as typed"
    };
    view! {
        <dl id="visitor-details" aria-label="Visitor" class="grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5 border-b border-white/10 px-4 py-2 text-xs md:px-6">
            <dt class="text-slate-400">"Visitor"</dt><dd class="visitor-name">{format!("{} · {}", details.name, details.email)}</dd>
            <dt class="text-slate-400">"Website"</dt><dd class="visitor-site">{format!("{} · {trust}", details.site)}</dd>
            {details.page.map(|page| view! {
                <dt class="text-slate-400">"Page"</dt>
                <dd class="visitor-page truncate"><a href=page.clone() target="_blank" rel="noopener noreferrer" class="text-sky-300 underline">{page.clone()}</a></dd>
            })}
            {local.map(|time| view! { <dt class="text-slate-400">"Local time"</dt><dd class="visitor-time">{time}</dd> })}
        </dl>
    }
}

/// The time now in IANA zone `zone` ("14:05"), or `None` for a zone the
/// browser does not know (it comes from the visitor's browser).
fn local_time(zone: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &"timeZone".into(), &zone.into());
        let _ = js_sys::Reflect::set(&options, &"hour".into(), &"2-digit".into());
        let _ = js_sys::Reflect::set(&options, &"minute".into(), &"2-digit".into());
        // Called through `Function::call2`, which catches: an unknown
        // zone's RangeError comes back as an error, not thrown through
        // the WASM.
        use wasm_bindgen::JsCast;
        let now = js_sys::Date::new_0();
        let format = js_sys::Reflect::get(&now, &"toLocaleTimeString".into()).ok()?;
        let format: js_sys::Function = format.dyn_into().ok()?;
        format
            .call2(&now, &"en-GB".into(), &options)
            .ok()
            .and_then(|v| v.as_string())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = zone;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(status: SupportStatus, assignee: Option<i64>) -> SupportInfo {
        SupportInfo {
            department_id: 1,
            department: "Billing".into(),
            member_id: 9,
            member_name: "Mia".into(),
            status,
            assignee_id: assignee,
            assignee_name: assignee.map(|a| format!("agent {a}")),
            waiting_since: None,
            site: None,
        }
    }

    #[test]
    fn the_queue_puts_unassigned_first_then_mine_then_colleagues_then_resolved() {
        let me = 5;
        assert_eq!(lane(&info(SupportStatus::Open, None), me), 0);
        assert_eq!(lane(&info(SupportStatus::Open, Some(me)), me), 1);
        assert_eq!(lane(&info(SupportStatus::Open, Some(6)), me), 2);
        assert_eq!(lane(&info(SupportStatus::Resolved, Some(me)), me), 3);
    }

    #[test]
    fn waiting_times_read_naturally() {
        assert_eq!(waited(0, 30_000), "under a minute");
        assert_eq!(waited(0, 4 * 60_000), "4 min");
        assert_eq!(waited(0, 125 * 60_000), "2 h 5 min");
        assert_eq!(waited(0, 3 * 24 * 3_600_000), "3 d");
    }

    #[test]
    fn members_see_who_handles_it_and_staff_see_the_department() {
        let (member, agent) = (9, 3);
        let open = info(SupportStatus::Open, None);
        let waiting = support_subtitle(&open, member);
        assert_eq!(waiting, "Support · Waiting for an agent");
        assert_eq!(support_subtitle(&open, agent), "Billing · Unassigned");
        let done = info(SupportStatus::Resolved, Some(agent));
        let handled = support_subtitle(&done, member);
        assert_eq!(handled, "Support · Handled by agent 3 · Resolved");
        let mine = support_subtitle(&done, agent);
        assert_eq!(mine, "Billing · Handled by you · Resolved");
    }
}
