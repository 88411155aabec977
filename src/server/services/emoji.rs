//! Emoji, from Unicode's list (the `emojis` crate): whether a reaction is
//! one, and the list the picker shows, grouped and named.

use std::sync::LazyLock;

use crate::model::{EmojiEntry, EmojiGroup};
use crate::realtime::protocol::MAX_EMOJI_BYTES;

/// Whether `text` is one emoji of Unicode's list (with or without its
/// variation selector, in any skin tone).
pub fn is_emoji(text: &str) -> bool {
    text.len() <= MAX_EMOJI_BYTES && emojis::get(text).is_some()
}

/// Every emoji (default skin tone) by group, built once.
pub fn catalog() -> &'static [EmojiGroup] {
    static CATALOG: LazyLock<Vec<EmojiGroup>> = LazyLock::new(|| {
        emojis::Group::iter()
            .map(|group| EmojiGroup {
                name: group_name(group).to_string(),
                emoji: group
                    .emojis()
                    .map(|e| EmojiEntry {
                        emoji: e.as_str().to_string(),
                        name: e.name().to_string(),
                        code: e.shortcode().unwrap_or_default().to_string(),
                    })
                    .collect(),
            })
            .collect()
    });
    &CATALOG
}

fn group_name(group: emojis::Group) -> &'static str {
    match group {
        emojis::Group::SmileysAndEmotion => "Smileys & Emotion",
        emojis::Group::PeopleAndBody => "People & Body",
        emojis::Group::AnimalsAndNature => "Animals & Nature",
        emojis::Group::FoodAndDrink => "Food & Drink",
        emojis::Group::TravelAndPlaces => "Travel & Places",
        emojis::Group::Activities => "Activities",
        emojis::Group::Objects => "Objects",
        emojis::Group::Symbols => "Symbols",
        emojis::Group::Flags => "Flags",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reactions_are_single_emoji() {
        for yes in ["👍", "🎉", "❤️", "👍🏽", "🇫🇷", "👩‍💻"] {
            assert!(is_emoji(yes), "{yes}");
        }
        for no in ["", "a", ":+1:", "👍👍", "<b>", "👍 ", "\u{200d}"] {
            assert!(!is_emoji(no), "{no:?}");
        }
    }

    #[test]
    fn the_catalog_has_every_group_named_and_searchable() {
        let groups = catalog();
        assert!(groups.len() >= 9);
        let all: Vec<&EmojiEntry> = groups.iter().flat_map(|g| &g.emoji).collect();
        assert!(all.len() > 1500, "{}", all.len());
        assert!(all.iter().all(|e| is_emoji(&e.emoji) && !e.name.is_empty()));
        assert!(all.iter().any(|e| e.emoji == "👍" && e.code == "+1"));
    }
}
