//! Canned replies in the composer: staff of a support conversation type
//! `/` at the start of the box and pick one of the department's ready
//! answers (searched by its title and text); it replaces the box's text
//! with `{name}` and `{agent}` filled in. The list is fetched the first
//! time `/` is typed in that conversation. Managed in the conversation's
//! "Canned replies" dialog (`canned_dialog`).

use leptos::prelude::*;

use crate::api::canned::canned_replies;
use crate::components::chat_client::ChatClient;
use crate::model::CannedReply;

/// At most this many lines in the list (the search narrows it).
const SHOWN: usize = 8;

#[derive(Clone, Copy)]
pub struct CannedPicker {
    client: ChatClient,
    room: i64,
    draft: RwSignal<String>,
    /// This user staffs the conversation (a support one).
    staffed: Memo<bool>,
    /// What is searched: the text after a `/` that starts the box (one
    /// line), lower-cased; `None` when the list is not wanted.
    searched: Memo<Option<String>>,
    /// The department's replies, as fetched when the list last opened.
    replies: RwSignal<Option<Vec<CannedReply>>>,
    /// Esc closed the list until the `/` goes.
    dismissed: RwSignal<bool>,
    pub active: RwSignal<usize>,
}

impl CannedPicker {
    pub fn new(room: i64, draft: RwSignal<String>) -> CannedPicker {
        let client = expect_context::<ChatClient>();
        let staffed = Memo::new(move |_| {
            client
                .summary(room)
                .is_some_and(|s| s.support.is_some() && s.staffed_by(client.my_id()))
        });
        let searched = Memo::new(move |_| {
            if !staffed.get() {
                return None;
            }
            draft.with(|text| {
                let rest = text.strip_prefix('/')?;
                (!rest.contains('\n')).then(|| rest.trim().to_lowercase())
            })
        });
        let picker = CannedPicker {
            client,
            room,
            draft,
            staffed,
            searched,
            replies: RwSignal::new(None),
            dismissed: RwSignal::new(false),
            active: RwSignal::new(0),
        };
        // Fetched each time the list opens: what the dialog changed since
        // shows at once.
        let open = Memo::new(move |_| searched.with(Option::is_some));
        Effect::new(move |_| {
            if open.get() {
                leptos::task::spawn_local(async move {
                    let found = canned_replies(room).await.unwrap_or_default();
                    picker.replies.try_set(Some(found));
                });
            } else {
                picker.dismissed.set(false);
            }
        });
        Effect::new(move |_| {
            searched.track();
            picker.active.set(0);
        });
        picker
    }

    /// Whether `/` at the start of this box is the canned list's.
    pub fn applies(&self) -> bool {
        self.staffed.get_untracked()
    }

    /// The replies shown now (none: the list is closed).
    pub fn options(&self) -> Option<Vec<CannedReply>> {
        if self.dismissed.get() {
            return None;
        }
        let searched = self.searched.get()?;
        let replies = self.replies.get().unwrap_or_default();
        Some(
            replies
                .into_iter()
                .filter(|r| {
                    searched.is_empty()
                        || r.title.to_lowercase().contains(&searched)
                        || r.body.to_lowercase().contains(&searched)
                })
                .take(SHOWN)
                .collect(),
        )
    }

    pub fn active_id(&self) -> Option<String> {
        let n = self.options()?.len();
        (n > 0).then(|| format!("canned-option-{}", self.active.get().min(n - 1)))
    }

    /// Handles a key while the list is open; `true` when it was the list's.
    pub fn on_key(&self, ev: &leptos::ev::KeyboardEvent) -> bool {
        if ev.is_composing() {
            return false;
        }
        let Some(options) = self.options() else {
            return false;
        };
        let n = options.len();
        match ev.key().as_str() {
            "ArrowDown" if n > 0 => self.active.update(|a| *a = (*a + 1) % n),
            "ArrowUp" if n > 0 => self.active.update(|a| *a = (*a + n - 1) % n),
            "Enter" | "Tab" if n > 0 && !ev.shift_key() => {
                let chosen = self.active.get_untracked().min(n - 1);
                self.pick(&options[chosen]);
            }
            "Escape" => self.dismissed.set(true),
            _ => return false,
        }
        ev.prevent_default();
        true
    }

    /// The reply's text, filled in, replaces the box's.
    pub fn pick(&self, reply: &CannedReply) {
        let client = self.client;
        let customer = client
            .summary(self.room)
            .and_then(|s| s.support)
            .map(|s| s.member_name)
            .unwrap_or_default();
        let me = client.me.with_value(|me| me.display_name.clone());
        self.draft.set(reply.fill(&customer, &me));
    }
}

/// The list above the box while `/` is typed.
#[component]
pub fn CannedList(picker: CannedPicker) -> impl IntoView {
    move || {
        let options = picker.options()?;
        let active = picker.active.get();
        let lines = if options.is_empty() {
            view! {
                <li class="px-3 py-1.5 text-slate-300">
                    {if picker.replies.get().is_none() { "Loading canned replies…" } else { "No canned reply matches. Add some under Canned replies." }}
                </li>
            }
            .into_any()
        } else {
            let n = options.len();
            options
                .into_iter()
                .enumerate()
                .map(|(i, reply)| {
                    let chosen = i == active.min(n - 1);
                    let shown = reply.clone();
                    view! {
                        <li id=format!("canned-option-{i}") role="option" aria-selected=chosen.to_string()
                            class=if chosen { "canned-option cursor-pointer rounded-lg bg-sky-500/30 px-3 py-1.5" } else { "canned-option cursor-pointer rounded-lg px-3 py-1.5 hover:bg-white/10" }
                            // Mouse down, not click: the box keeps the focus.
                            on:mousedown=move |ev| { ev.prevent_default(); picker.pick(&reply) }>
                            <span class="block font-medium text-slate-100">{shown.title}</span>
                            <span class="block truncate text-xs text-slate-300">{shown.body}</span>
                        </li>
                    }
                })
                .collect_view()
                .into_any()
        };
        Some(view! {
            <ul id="canned-list" role="listbox" aria-label="Canned replies"
                class="absolute bottom-full left-0 z-20 mb-2 max-h-72 w-96 max-w-full overflow-y-auto rounded-xl border border-white/15 bg-slate-900/95 p-1 text-sm shadow-xl">
                {lines}
            </ul>
        })
    }
}
