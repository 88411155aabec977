//! The reaction picker: a few quick reactions, then every emoji by group,
//! searchable by name or shortcode. Its code is a WASM file of its own and
//! its list comes from the server the first time it opens.

use leptos::prelude::*;

use crate::api::reactions::emoji_catalog;
use crate::components::chat_client::ChatClient;
use crate::components::dialogs::{open_while, Dialog};
use crate::model::{EmojiEntry, EmojiGroup};

/// Offered first, as in most chats.
const QUICK: [(&str, &str); 8] = [
    ("👍", "thumbs up"),
    ("❤️", "red heart"),
    ("😂", "face with tears of joy"),
    ("🎉", "party popper"),
    ("😮", "face with open mouth"),
    ("😢", "crying face"),
    ("🙏", "folded hands"),
    ("👀", "eyes"),
];

/// Whether every word of `query` is in the emoji's name or shortcode.
fn matches(entry: &EmojiEntry, words: &[String]) -> bool {
    words
        .iter()
        .all(|w| entry.name.contains(w.as_str()) || entry.code.contains(w.as_str()))
}

#[leptos::lazy]
pub fn emoji_picker() -> AnyView {
    let client = expect_context::<ChatClient>();
    let open = open_while(client.picking);
    let search = RwSignal::new(String::new());
    let field = NodeRef::<leptos::html::Input>::new();
    let catalog = RwSignal::new(None::<Result<Vec<EmojiGroup>, String>>);
    leptos::task::spawn_local(async move {
        let list = emoji_catalog().await.map_err(|e| e.to_string());
        catalog.try_set(Some(list));
    });
    let choose = move |emoji: String| {
        let target = client.picking.get_untracked();
        open.set(false);
        search.set(String::new());
        let Some((room, seq)) = target else {
            return;
        };
        let message = client.message(room, seq);
        if let Some(message) = message {
            client.toggle_reaction(&message, &emoji);
        }
    };
    let button = move |emoji: String, name: String| {
        let chosen = emoji.clone();
        view! {
            <button type="button" class="emoji rounded-lg p-1 text-2xl leading-none hover:bg-white/10 focus-visible:bg-white/15"
                title=name.clone() aria-label=name on:click=move |_| choose(chosen.clone())>{emoji}</button>
        }
    };
    let results = move || {
        let words: Vec<String> = search
            .get()
            .to_lowercase()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        catalog.with(|c| match c {
            None => view! { <p class="text-sm text-slate-300">"Loading emoji…"</p> }.into_any(),
            Some(Err(why)) => view! { <p class="text-sm text-rose-200" role="alert">{why.clone()}</p> }.into_any(),
            Some(Ok(groups)) if words.is_empty() => groups
                .iter()
                .map(|g| {
                    view! {
                        <section aria-label=g.name.clone()>
                            <h3 class="mt-2 text-xs font-semibold text-slate-300">{g.name.clone()}</h3>
                            <div class="grid grid-cols-8 gap-0.5">
                                {g.emoji.iter().map(|e| button(e.emoji.clone(), e.name.clone())).collect_view()}
                            </div>
                        </section>
                    }
                })
                .collect_view()
                .into_any(),
            Some(Ok(groups)) => {
                let found: Vec<&EmojiEntry> = groups
                    .iter()
                    .flat_map(|g| &g.emoji)
                    .filter(|e| matches(e, &words))
                    .collect();
                if found.is_empty() {
                    let asked = search.get_untracked();
                    view! { <p id="no-emoji" class="text-sm text-slate-300">{format!("No emoji named “{asked}”")}</p> }.into_any()
                } else {
                    view! {
                        <div class="grid grid-cols-8 gap-0.5">
                            {found.into_iter().map(|e| button(e.emoji.clone(), e.name.clone())).collect_view()}
                        </div>
                    }
                    .into_any()
                }
            }
        })
    };
    view! {
        <Dialog open id="emoji-picker" title="Add a reaction" focus=field>
            <label class="sr-only" for="emoji-search">"Search emoji by name"</label>
            <input id="emoji-search" type="search" node_ref=field bind:value=search placeholder="Search emoji"
                autocomplete="off"
                class="w-full rounded-lg border border-white/20 bg-slate-900/60 px-3 py-2 text-sm text-slate-100 placeholder:text-slate-400 focus:border-sky-400"/>
            <div class="quick mt-3 flex gap-1" aria-label="Quick reactions" role="group">
                {QUICK.iter().map(|(e, n)| button(e.to_string(), n.to_string())).collect_view()}
            </div>
            <div class="mt-2 max-h-72 overflow-y-auto pr-1">{results}</div>
        </Dialog>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_must_be_in_the_name_or_shortcode() {
        let party = EmojiEntry {
            emoji: "🎉".into(),
            name: "party popper".into(),
            code: "tada".into(),
        };
        let words = |q: &str| q.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert!(matches(&party, &words("party")));
        assert!(matches(&party, &words("popper party")));
        assert!(matches(&party, &words("tad")));
        assert!(!matches(&party, &words("party hat")));
    }
}
