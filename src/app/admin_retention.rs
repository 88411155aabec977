//! The admin page's "Retention" section: how many days messages are kept,
//! for the whole instance, per department (its support conversations),
//! and per conversation (reached from a conversation's ⋯ menu, which
//! links here with `?room=ID`). A background job deletes what is older.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use super::admin_shared::{Console, BUTTON, FIELD};
use crate::api::admin;
use crate::model::{RetentionOverride, RetentionView};

/// How a number of days reads (`None`: inherited).
fn days_text(days: Option<i64>, inherited: &str) -> String {
    match days {
        None => inherited.to_string(),
        Some(0) => "for ever".to_string(),
        Some(1) => "1 day".to_string(),
        Some(d) => format!("{d} days"),
    }
}

#[component]
pub(super) fn Retention() -> impl IntoView {
    let console = expect_context::<Console>();
    let view_now = RwSignal::new(None::<RetentionView>);
    let instance = RwSignal::new(String::new());
    // Follows the page's reloads (every change made here ends in one).
    Effect::new(move |_| {
        console.users.track();
        spawn_local(async move {
            match admin::retention().await {
                Ok(settings) => {
                    instance.try_set(settings.days.to_string());
                    view_now.try_set(Some(settings));
                }
                Err(err) => drop(console.error.try_set(Some(err.to_string()))),
            }
        });
    });
    let save_instance = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let days = instance.get_untracked();
        console.change(admin::set_retention("instance".into(), None, days));
    };
    let asked_room = use_query_map().with_untracked(|q| q.get("room").unwrap_or_default());
    let room = RwSignal::new(asked_room);
    let room_days = RwSignal::new(String::new());
    let save_room = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let id = room.get_untracked();
        let id = id
            .trim()
            .trim_start_matches("/c/")
            .split('/')
            .next()
            .unwrap_or_default();
        match id.parse::<i64>() {
            Ok(id) => {
                let days = room_days.get_untracked();
                console.change(admin::set_retention("room".into(), Some(id), days));
            }
            Err(_) => console.error.set(Some(
                "Give the conversation's number, as in its address /c/12.".into(),
            )),
        }
    };
    view! {
        <section id="retention-section" class="glass-panel rounded-2xl p-4 md:p-6" aria-labelledby="retention-title">
            <h2 id="retention-title" class="mb-3 text-lg font-semibold">"Retention"</h2>
            <p class="mb-3 text-sm text-slate-300">"Messages older than this are deleted for everyone, with their files, by a job that runs every hour. 0 keeps them for ever. A conversation's own number comes first, then its department's, then this one."</p>
            <form id="retention-instance-form" on:submit=save_instance class="flex flex-wrap items-center gap-2">
                <label for="retention-days" class="text-sm text-slate-300">"Keep messages for (days)"</label>
                <input id="retention-days" type="number" min="0" max="36500" bind:value=instance class=format!("{FIELD} w-28")/>
                <button type="submit" class=BUTTON>"Save"</button>
            </form>
            <h3 class="mt-5 mb-2 text-sm font-semibold text-slate-200">"Departments"</h3>
            <ul class="space-y-2">
                {move || view_now.get().map(|v| v.departments).unwrap_or_default().into_iter().map(|d| view! {
                    <OverrideRow item=d scope="department" inherited="the instance's"/>
                }).collect_view()}
            </ul>
            <h3 class="mt-5 mb-2 text-sm font-semibold text-slate-200">"Conversations with their own number"</h3>
            <ul class="space-y-2">
                {move || view_now.get().map(|v| v.rooms).unwrap_or_default().into_iter().map(|r| view! {
                    <OverrideRow item=r scope="room" inherited="its department's or the instance's"/>
                }).collect_view()}
            </ul>
            <form id="retention-room-form" on:submit=save_room class="mt-3 flex flex-wrap items-center gap-2">
                <label for="retention-room" class="text-sm text-slate-300">"Conversation number"</label>
                <input id="retention-room" bind:value=room required placeholder="12" class=format!("{FIELD} w-24")/>
                <label for="retention-room-days" class="text-sm text-slate-300">"days"</label>
                <input id="retention-room-days" type="number" min="0" max="36500" bind:value=room_days
                    placeholder="inherit" class=format!("{FIELD} w-28")/>
                <button type="submit" class=BUTTON>"Set for this conversation"</button>
            </form>
        </section>
    }
}

/// A department's or a conversation's number, editable; empty inherits.
#[component]
fn OverrideRow(
    item: RetentionOverride,
    scope: &'static str,
    inherited: &'static str,
) -> impl IntoView {
    let console = expect_context::<Console>();
    let RetentionOverride { id, name, days } = item;
    let draft = RwSignal::new(days.map(|d| d.to_string()).unwrap_or_default());
    let field = format!("retention-{scope}-{id}");
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        console.change(admin::set_retention(
            scope.into(),
            Some(id),
            draft.get_untracked(),
        ));
    };
    view! {
        <li class="retention-row" data-scope=scope data-id=id>
            <form on:submit=save class="flex flex-wrap items-center gap-2">
                <label for=field.clone() class="min-w-0 flex-1 text-sm text-slate-100">{name}
                    <span class="ml-2 text-xs text-slate-400">{days_text(days, inherited)}</span></label>
                <input id=field type="number" min="0" max="36500" bind:value=draft placeholder="inherit" class=format!("{FIELD} w-28")/>
                <button type="submit" class=BUTTON>"Save"</button>
            </form>
        </li>
    }
}
