//! "How did we do?": once a support conversation is resolved, its member
//! (or website visitor) is asked to rate that resolution, 1 to 5 with an
//! optional comment. The rating comes back as the conversation's `rated`
//! line, which takes the question away (in every tab); "Not now" hides it
//! in this one.

use leptos::prelude::*;

use crate::api::support::rate;
use crate::components::chat_client::{spawn_call, ChatClient};
use crate::realtime::protocol::SystemEvent;
use crate::validate::RATING_COMMENT_MAX;

const SCORES: [(i64, &str); 5] = [
    (1, "Very bad"),
    (2, "Bad"),
    (3, "Okay"),
    (4, "Good"),
    (5, "Very good"),
];

#[component]
pub fn RatingPrompt(room: i64) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let me = client.my_id();
    // The newest resolution the member holds, while it is not rated.
    let unrated = Memo::new(move |_| {
        client.state.with(|s| {
            let held = s.rooms.get(&room)?;
            if held.summary.support.as_ref()?.member_id != me {
                return None;
            }
            let resolved = held
                .messages
                .values()
                .rev()
                .find(|m| matches!(m.event, Some(SystemEvent::Resolved { .. })))?
                .seq;
            let rated = held.messages.range(resolved..).any(|(_, m)| {
                matches!(m.event, Some(SystemEvent::Rated { resolution, .. }) if resolution == resolved)
            });
            (!rated).then_some(resolved)
        })
    });
    let dismissed = RwSignal::new(None::<i64>);
    let score = RwSignal::new(None::<i64>);
    let comment = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(resolution), Some(picked)) = (unrated.get_untracked(), score.get_untracked())
        else {
            return;
        };
        let text = comment.get_untracked();
        spawn_call(rate(room, resolution, picked, text), error);
    };
    let shown = move || unrated.get().is_some_and(|r| dismissed.get() != Some(r));
    view! {
        <Show when=shown>
            <form id="rating" on:submit=submit aria-labelledby="rating-title"
                class="mx-3 mb-2 rounded-2xl border border-white/15 bg-white/5 p-3 md:mx-4">
                <h2 id="rating-title" class="text-sm font-semibold text-slate-100">"How did we do?"</h2>
                <div class="mt-2 flex flex-wrap gap-1" role="group" aria-label="Your rating, 1 to 5">
                    {SCORES.into_iter().map(|(value, label)| view! {
                        <button type="button" data-score=value aria-pressed=move || (score.get() == Some(value)).to_string()
                            aria-label=format!("{value} of 5: {label}") title=label
                            on:click=move |_| score.set(Some(value))
                            class=move || if score.get().is_some_and(|s| s >= value) {
                                "rounded-lg px-2 py-1 text-xl text-amber-300 hover:bg-white/10"
                            } else {
                                "rounded-lg px-2 py-1 text-xl text-slate-400 hover:bg-white/10"
                            }>"★"</button>
                    }).collect_view()}
                </div>
                <label for="rating-comment" class="mt-2 block text-xs text-slate-300">"Anything to add? (optional)"</label>
                <textarea id="rating-comment" rows=2 maxlength=RATING_COMMENT_MAX bind:value=comment
                    class="mt-1 block w-full resize-none rounded-xl border border-white/15 bg-slate-900/50 px-3 py-1.5 text-sm text-slate-100"></textarea>
                {move || error.get().map(|e| view! { <p class="mt-1 text-xs text-rose-200" role="alert">{e}</p> })}
                <div class="mt-2 flex gap-2">
                    <button type="submit" id="rating-send" disabled=move || score.get().is_none()
                        class="rounded-xl bg-gradient-to-r from-sky-500 to-violet-500 px-3 py-1.5 text-sm font-semibold text-white disabled:opacity-50">"Send rating"</button>
                    <button type="button" id="rating-later" on:click=move |_| dismissed.set(unrated.get_untracked())
                        class="rounded-xl px-3 py-1.5 text-sm text-slate-200 hover:bg-white/10">"Not now"</button>
                </div>
            </form>
        </Show>
    }
}
