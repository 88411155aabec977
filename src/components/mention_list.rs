//! The composer's `@` list. Typing `@` at a word's start opens the room's
//! members whose name (or a word of it) starts with what follows, asked of
//! the server (a room may have 10,000 members) and narrowed here while the
//! answer already holds every match; `@room` heads the list in a group.
//! Up and Down move, Enter or Tab picks, Esc closes, a click picks too.
//! A pick writes `@Name ` into the text and remembers the person, whom the
//! send then names (`ChatClient::people_called`).

use std::collections::HashMap;

use leptos::html::Textarea;
use leptos::prelude::*;

use crate::api::mentions::mention_candidates;
use crate::components::chat_client::ChatClient;
use crate::realtime::protocol::{Person, RoomKind, ROOM_MENTION};

/// What the server sends at most (`services::mentions::CANDIDATES`): an
/// answer shorter than this holds every match, so longer text typed after
/// it is narrowed here without asking again.
const FULL_ANSWER: usize = 8;
/// Text after `@` longer than this (or with more spaces) is not a name.
const MAX_TYPED: usize = 32;
const MAX_SPACES: usize = 2;

/// One line of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    Person(Person),
    /// `@room`: everyone in the group.
    Room,
}

impl Pick {
    fn label(&self) -> String {
        match self {
            Pick::Person(p) => p.name.clone(),
            Pick::Room => ROOM_MENTION[1..].to_string(),
        }
    }
}

/// The `@` being typed before the caret: its byte offset and the text
/// after it, if the caret is in a name that could still be picked.
pub fn typed_name(text: &str, caret: usize) -> Option<(usize, String)> {
    let before = text.get(..caret)?;
    let at = before.rfind('@')?;
    let starts_word = before[..at]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric() && c != '@');
    let typed = &before[at + 1..];
    let plausible = typed.chars().count() <= MAX_TYPED
        && !typed.contains(['\n', '@'])
        && !typed.starts_with(' ')
        && typed.matches(' ').count() <= MAX_SPACES;
    (starts_word && plausible).then(|| (at, typed.to_string()))
}

/// Whether `name` or one of its words starts with `typed` (any case), as
/// the server matches.
pub fn matches_typed(name: &str, typed: &str) -> bool {
    let (name, typed) = (name.to_lowercase(), typed.to_lowercase());
    name.starts_with(&typed)
        || name
            .match_indices(' ')
            .any(|(i, _)| name[i + 1..].starts_with(&typed))
}

/// The byte offset of a caret given in UTF-16 units (as the DOM gives it).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn byte_offset(text: &str, utf16: u32) -> usize {
    let mut units = 0u32;
    for (i, c) in text.char_indices() {
        if units >= utf16 {
            return i;
        }
        units += c.len_utf16() as u32;
    }
    text.len()
}

/// The list's state, owned by one composer.
#[derive(Clone, Copy)]
pub struct MentionPicker {
    room: i64,
    draft: RwSignal<String>,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    field: NodeRef<Textarea>,
    /// Where the caret is in `draft`, in bytes.
    caret: RwSignal<usize>,
    /// The `@` (its offset) whose list the user closed with Esc.
    dismissed: RwSignal<Option<usize>>,
    typing: Memo<Option<(usize, String)>>,
    /// Members matching what is typed, as last answered.
    people: RwSignal<Vec<Person>>,
    /// Answers by the text they were asked for (lowercase).
    answers: StoredValue<HashMap<String, Vec<Person>>>,
    pub active: RwSignal<usize>,
    group: bool,
}

impl MentionPicker {
    pub fn new(room: i64, draft: RwSignal<String>, field: NodeRef<Textarea>) -> MentionPicker {
        let client = expect_context::<ChatClient>();
        let group = client
            .state
            .with_untracked(|s| s.rooms.get(&room).map(|r| r.summary.kind))
            == Some(RoomKind::Group);
        let caret = RwSignal::new(0usize);
        let dismissed = RwSignal::new(None::<usize>);
        let raw = Memo::new(move |_| draft.with(|text| typed_name(text, caret.get())));
        let typing = Memo::new(move |_| {
            let found = raw.get()?;
            (dismissed.get() != Some(found.0)).then_some(found)
        });
        // A closed list stays closed only while that `@` is being typed.
        Effect::new(move |_| {
            if raw.with(Option::is_none) && dismissed.get_untracked().is_some() {
                dismissed.set(None);
            }
        });
        let picker = MentionPicker {
            room,
            draft,
            field,
            caret,
            dismissed,
            typing,
            people: RwSignal::new(Vec::new()),
            answers: StoredValue::new(HashMap::new()),
            active: RwSignal::new(0),
            group,
        };
        Effect::new(move |_| {
            typing.track();
            picker.active.set(0);
        });
        picker
    }

    /// Fills `people` for `typed`: from an earlier complete answer when
    /// there is one, else from the server.
    fn look_up(self, typed: String) {
        let key = typed.to_lowercase();
        let known = self.answers.with_value(|answers| {
            answers
                .iter()
                .filter(|(asked, list)| key.starts_with(asked.as_str()) && list.len() < FULL_ANSWER)
                .max_by_key(|(asked, _)| asked.len())
                .map(|(_, list)| {
                    list.iter()
                        .filter(|p| matches_typed(&p.name, &typed))
                        .cloned()
                        .collect::<Vec<_>>()
                })
        });
        if let Some(list) = known {
            self.people.set(list);
            return;
        }
        let room = self.room;
        leptos::task::spawn_local(async move {
            let Some(list) = members_named(room, typed.clone()).await else {
                return; // no list: the text is sent as typed
            };
            if self.people.is_disposed() {
                return;
            }
            self.answers.update_value(|answers| {
                answers.insert(key, list.clone());
            });
            // Only if it is still what is typed (answers may cross).
            let current = self.typing.get_untracked().map(|(_, t)| t);
            if current.as_deref() == Some(typed.as_str()) {
                self.people.set(list);
            }
        });
    }

    /// The lines shown now (none: the list is closed).
    pub fn options(&self) -> Vec<Pick> {
        let Some((_, typed)) = self.typing.get() else {
            return Vec::new();
        };
        let mut options = Vec::new();
        if self.group && ROOM_MENTION[1..].starts_with(&typed.to_lowercase()) {
            options.push(Pick::Room);
        }
        options.extend(
            self.people
                .get()
                .into_iter()
                .filter(|p| matches_typed(&p.name, &typed))
                .map(Pick::Person),
        );
        options
    }

    /// Reads where the caret is (after typing, a click, an arrow key).
    pub fn track_caret(&self) {
        #[cfg(feature = "hydrate")]
        if let Some(el) = self.field.get_untracked() {
            if let Ok(Some(units)) = el.selection_start() {
                // The box's own text: `draft` may not have taken it yet.
                let at = byte_offset(&el.value(), units);
                if self.caret.get_untracked() != at {
                    self.caret.set(at);
                }
            }
        }
    }

    /// Handles a key while the list is open; `true` when it was the list's.
    pub fn on_key(&self, ev: &leptos::ev::KeyboardEvent) -> bool {
        if ev.is_composing() {
            return false;
        }
        // Where the caret is now, whatever events came before this key.
        self.track_caret();
        let options = self.options();
        if options.is_empty() {
            return false;
        }
        let n = options.len();
        match ev.key().as_str() {
            "ArrowDown" => self.active.update(|a| *a = (*a + 1) % n),
            "ArrowUp" => self.active.update(|a| *a = (*a + n - 1) % n),
            "Enter" | "Tab" if !ev.shift_key() => {
                let chosen = self.active.get_untracked().min(n - 1);
                self.pick(&options[chosen]);
            }
            "Escape" => self.dismissed.set(self.typing.get_untracked().map(|t| t.0)),
            _ => return false,
        }
        ev.prevent_default();
        true
    }

    /// Writes `@Name ` over what was typed after the `@`.
    pub fn pick(&self, choice: &Pick) {
        let Some((at, _)) = self.typing.get_untracked() else {
            return;
        };
        let caret = self.caret.get_untracked();
        let inserted = format!("@{} ", choice.label());
        let mut text = self.draft.get_untracked();
        if caret > text.len() || at > caret {
            return;
        }
        text.replace_range(at..caret, &inserted);
        let after = at + inserted.len();
        if let Pick::Person(person) = choice {
            expect_context::<ChatClient>().pick(self.room, person.clone());
        }
        // The field gets the text and the caret now, not when the draft's
        // binding next runs: a key typed in between (a fast typist goes on
        // right after Enter) would land at the end of the text, and a caret
        // set later would then move behind it.
        #[cfg(feature = "hydrate")]
        if let Some(el) = self.field.get_untracked() {
            let units = text[..after].encode_utf16().count() as u32;
            el.set_value(&text);
            let _ = el.set_selection_range(units, units);
            let _ = el.focus();
        }
        self.draft.set(text);
        self.caret.set(after);
    }

    /// The id of the highlighted line, for `aria-activedescendant`.
    pub fn active_id(&self) -> Option<String> {
        let n = self.options().len();
        (n > 0).then(|| format!("mention-option-{}", self.active.get().min(n - 1)))
    }
}

/// The server call behind the list, fetched when `@` is first typed (it
/// keeps the page's first download small). Nothing is drawn from the
/// split-off file, so the box keeps the focus while it loads.
#[leptos::lazy]
async fn members_named(room: i64, typed: String) -> Option<Vec<Person>> {
    mention_candidates(room, typed).await.ok()
}

/// The list above the composer's box, while there is something to pick.
/// Not split off like the dialogs: drawn on demand beside the box, the
/// split-off list took the focus from the box while its file loaded, and
/// the keys typed right after the `@` went nowhere (seen in the browser
/// tests; `OnDemand` gives the focus back only once the file is there).
#[component]
pub fn MentionList(picker: MentionPicker) -> impl IntoView {
    Effect::new(move |_| {
        if let Some((_, typed)) = picker.typing.get() {
            picker.look_up(typed);
        }
    });
    (move || {
        let options = picker.options();
        (!options.is_empty()).then(|| {
            let active = picker.active.get().min(options.len() - 1);
            let lines = options
                .into_iter()
                .enumerate()
                .map(|(i, choice)| {
                    let (label, hint) = match &choice {
                        Pick::Person(p) => (p.name.clone(), None),
                        Pick::Room => (
                            ROOM_MENTION.to_string(),
                            Some("Notify everyone in this group"),
                        ),
                    };
                    let chosen = i == active;
                    view! {
                        <li id=format!("mention-option-{i}") role="option" aria-selected=chosen.to_string()
                            class=if chosen { "mention-option flex cursor-pointer items-baseline gap-2 rounded-lg bg-sky-500/30 px-3 py-1.5" } else { "mention-option flex cursor-pointer items-baseline gap-2 rounded-lg px-3 py-1.5 hover:bg-white/10" }
                            // Mouse down, not click: the box keeps the focus.
                            on:mousedown=move |ev| { ev.prevent_default(); picker.pick(&choice) }>
                            <span class="font-medium text-slate-100">{label}</span>
                            {hint.map(|h| view! { <span class="text-xs text-slate-300">{h}</span> })}
                        </li>
                    }
                })
                .collect_view();
            view! {
                <ul id="mention-list" role="listbox" aria-label="People to mention"
                    class="absolute bottom-full left-0 z-20 mb-2 max-h-64 w-72 max-w-full overflow-y-auto rounded-xl border border-white/15 bg-slate-900/95 p-1 text-sm shadow-xl">
                    {lines}
                </ul>
            }
        })
    })
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_at_at_a_word_start_opens_the_list() {
        assert_eq!(typed_name("@", 1), Some((0, String::new())));
        assert_eq!(typed_name("hi @Ad", 6), Some((3, "Ad".into())));
        assert_eq!(typed_name("hi @Ada Lo", 10), Some((3, "Ada Lo".into())));
        // The caret decides, not the end of the text.
        assert_eq!(typed_name("@Ada and more", 4), Some((0, "Ada".into())));
        assert_eq!(typed_name("mail ada@example", 16), None);
        assert_eq!(typed_name("@ Ada", 5), None);
        assert_eq!(typed_name("@a b c d", 8), None, "too many words");
        assert_eq!(typed_name("@Ada\nhi", 7), None);
        assert_eq!(typed_name("no at", 5), None);
        assert_eq!(typed_name("é@", 99), None, "a caret past the end");
    }

    #[test]
    fn names_match_by_their_start_or_a_word() {
        assert!(matches_typed("Ada Lovelace", "ada"));
        assert!(matches_typed("Ada Lovelace", "LOVE"));
        assert!(matches_typed("Ada Lovelace", "ada lo"));
        assert!(!matches_typed("Ada Lovelace", "velace"));
        assert!(matches_typed("Ada", ""));
    }

    #[test]
    fn a_dom_caret_counts_utf16_units() {
        assert_eq!(byte_offset("héllo", 2), 3);
        assert_eq!(byte_offset("😀a", 2), 4);
        assert_eq!(byte_offset("ab", 9), 2);
    }
}
