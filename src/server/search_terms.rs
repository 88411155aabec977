//! What search sees of a text: its pieces (words, and runs of Chinese or
//! Japanese characters), normalised the same way for what is indexed and
//! what is asked, and the keyed hashes the index stores for them.
//!
//! Normalising: Unicode compatibility decomposition (NFKD: "ﬁ" is "fi",
//! full-width letters are letters), combining marks dropped (accents:
//! "café" is "cafe"), then Unicode case folding ("Straße" is "strasse").
//!
//! What is indexed (see migrations/*/0012_search.sql):
//! - each word of two characters or more (at most `MAX_WORD` of it);
//! - for a word seen for the first time, its prefixes of `MIN_PREFIX` to
//!   `MAX_PREFIX` characters (a vocabulary, not a row per message);
//! - each pair of neighbouring characters in a Chinese or Japanese run,
//!   written without spaces, so any substring of two or more is found;
//! - a mark on a message with a link, for `has:link`.
//!
//! Words are split at anything that is not a letter or digit, so a URL is
//! its parts (`example.com/docs` is `example com docs`) and is found by a
//! part, or by all of it as a phrase. Thai, Lao and Khmer, also written
//! without spaces, are taken as long words: found by a whole run or its
//! start, not by any part.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::crypto::SearchKey;

/// The shortest prefix looked up while typing.
pub const MIN_PREFIX: usize = 3;
/// The longest prefix stored; a longer one typed is looked up by its
/// first `MAX_PREFIX` characters and confirmed against the text.
pub const MAX_PREFIX: usize = 8;
/// How much of a long word is hashed (a hash of its start: confirmed
/// against the text like everything else).
pub const MAX_WORD: usize = 40;

const TAG_WORD: u8 = b'w';
const TAG_PREFIX: u8 = b'p';
const TAG_PAIR: u8 = b'c';
const TAG_MARK: u8 = b'm';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceKind {
    Word,
    /// A run of Chinese or Japanese characters.
    Cjk,
}

/// One piece of a text: where it is (bytes of the original) and what it
/// is, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub kind: PieceKind,
    pub start: usize,
    pub end: usize,
    pub norm: String,
}

/// Han, kana and their compatibility forms: written without spaces.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF       // hiragana, katakana
        | 0x31F0..=0x31FF     // katakana extensions
        | 0x3400..=0x4DBF     // CJK extension A
        | 0x4E00..=0x9FFF     // CJK unified ideographs
        | 0xF900..=0xFAFF     // compatibility ideographs
        | 0xFF66..=0xFF9F     // half-width katakana
        | 0x20000..=0x3134F) // extensions B to G
}

/// Folded for search: see the module's comment.
pub fn normalize(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let stripped: String = text.nfkd().filter(|c| !is_combining_mark(*c)).collect();
    caseless::default_case_fold_str(&stripped)
}

/// The words and Chinese or Japanese runs of `text`, in order.
pub fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut run: Option<(PieceKind, usize)> = None;
    let close = |out: &mut Vec<Piece>, kind: PieceKind, start: usize, end: usize| {
        let norm = normalize(&text[start..end]);
        if !norm.is_empty() {
            out.push(Piece {
                kind,
                start,
                end,
                norm,
            });
        }
    };
    for (at, c) in text.char_indices() {
        let kind = if is_cjk(c) {
            Some(PieceKind::Cjk)
        } else if c.is_alphanumeric() || is_combining_mark(c) {
            Some(PieceKind::Word)
        } else {
            None
        };
        match (run, kind) {
            (Some((open, _)), Some(kind)) if open == kind => {}
            (Some((open, start)), _) => {
                close(&mut out, open, start, at);
                run = kind.map(|k| (k, at));
            }
            (None, Some(kind)) => run = Some((kind, at)),
            (None, None) => {}
        }
    }
    if let Some((open, start)) = run {
        close(&mut out, open, start, text.len());
    }
    out
}

/// The pieces' normalised forms, one space between them: what a needle is
/// looked for in (`contains`).
pub fn flatten(pieces: &[Piece]) -> String {
    let mut flat = String::new();
    for piece in pieces {
        if !flat.is_empty() {
            flat.push(' ');
        }
        flat.push_str(&piece.norm);
    }
    flat
}

/// Whether `flat` (a flattened text) holds `needle` (a flattened query
/// part) starting at a piece's start and, unless `prefix`, ending at a
/// piece's end. Chinese and Japanese characters match anywhere in a run.
pub fn contains(flat: &str, needle: &str, prefix: bool) -> bool {
    if needle.is_empty() {
        return false;
    }
    let free_start = needle.chars().next().is_some_and(is_cjk);
    let free_end = prefix || needle.chars().next_back().is_some_and(is_cjk);
    flat.match_indices(needle).any(|(at, _)| {
        let before = flat[..at].chars().next_back();
        let after = flat[at + needle.len()..].chars().next();
        (free_start || before.is_none_or(|c| c == ' '))
            && (free_end || after.is_none_or(|c| c == ' '))
    })
}

/// Whether `text` holds a link (for `has:link`).
pub fn has_link(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("http://") || lower.contains("https://") || lower.contains("www.")
}

fn clip(word: &str, chars: usize) -> &str {
    match word.char_indices().nth(chars) {
        Some((at, _)) => &word[..at],
        None => word,
    }
}

/// The hash a whole word is stored under.
pub fn word_term(key: &SearchKey, norm: &str) -> i32 {
    key.term(TAG_WORD, clip(norm, MAX_WORD))
}

/// The hash a prefix is stored under (`norm` clipped to `MAX_PREFIX`).
pub fn prefix_term(key: &SearchKey, norm: &str) -> i32 {
    key.term(TAG_PREFIX, clip(norm, MAX_PREFIX))
}

/// The hashes of a Chinese or Japanese run's character pairs.
pub fn pair_terms(key: &SearchKey, norm: &str) -> Vec<i32> {
    let chars: Vec<char> = norm.chars().collect();
    chars
        .windows(2)
        .map(|pair| {
            let mut text = String::with_capacity(8);
            text.extend(pair);
            key.term(TAG_PAIR, &text)
        })
        .collect()
}

/// The hash of the "has a link" mark.
pub fn link_term(key: &SearchKey) -> i32 {
    key.term(TAG_MARK, "link")
}

/// A word worth prefixes: long enough, and not a number (numbers are
/// found whole; every new one would add rows for no one).
fn takes_prefixes(norm: &str) -> bool {
    norm.chars().count() >= MIN_PREFIX && !norm.chars().all(|c| c.is_ascii_digit())
}

/// What the index stores for one text.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct IndexTerms {
    /// One posting each, sorted and distinct.
    pub terms: Vec<i32>,
    /// Words that take prefixes, with them: added to the vocabulary when
    /// the word is new there.
    pub words: Vec<(i32, Vec<i32>)>,
}

/// The terms of `text`.
pub fn index_terms(key: &SearchKey, text: &str) -> IndexTerms {
    let mut out = IndexTerms::default();
    for piece in pieces(text) {
        match piece.kind {
            PieceKind::Word => {
                let chars = piece.norm.chars().count();
                if chars < 2 {
                    continue;
                }
                let word = word_term(key, &piece.norm);
                out.terms.push(word);
                if takes_prefixes(&piece.norm) && !out.words.iter().any(|(w, _)| *w == word) {
                    let prefixes = (MIN_PREFIX..=chars.min(MAX_PREFIX))
                        .map(|n| key.term(TAG_PREFIX, clip(&piece.norm, n)))
                        .collect();
                    out.words.push((word, prefixes));
                }
            }
            PieceKind::Cjk => out.terms.extend(pair_terms(key, &piece.norm)),
        }
    }
    if has_link(text) {
        out.terms.push(link_term(key));
    }
    out.terms.sort_unstable();
    out.terms.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::crypto::MasterKey;

    fn norms(text: &str) -> Vec<String> {
        pieces(text).into_iter().map(|p| p.norm).collect()
    }

    #[test]
    fn case_accents_and_compatibility_forms_fold() {
        assert_eq!(norms("Café CAFÉ ｃａｆｅ"), ["cafe", "cafe", "cafe"]);
        assert_eq!(norms("Straße"), ["strasse"]);
        assert_eq!(norms("ﬁle"), ["file"]);
    }

    #[test]
    fn urls_are_their_parts_and_found_as_a_phrase() {
        let text = "see https://example.com/docs/setup today";
        assert_eq!(
            norms(text),
            ["see", "https", "example", "com", "docs", "setup", "today"]
        );
        let flat = flatten(&pieces(text));
        let needle = flatten(&pieces("example.com/docs"));
        assert!(contains(&flat, &needle, false));
        assert!(!contains(&flat, &flatten(&pieces("ample.com")), false));
        assert!(contains(&flat, &flatten(&pieces("example.com/do")), true));
        assert!(has_link(text));
    }

    #[test]
    fn chinese_and_japanese_runs_match_anywhere_inside() {
        let text = "会議は東京タワーで";
        let found = pieces(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, PieceKind::Cjk);
        let flat = flatten(&found);
        assert!(contains(&flat, "東京", false));
        assert!(contains(&flat, "京タワ", false));
        assert!(!contains(&flat, "大阪", false));
        // Mixed with Latin words: separate pieces.
        assert_eq!(norms("deploy到服务器"), ["deploy", "到服务器"]);
    }

    #[test]
    fn whole_words_only_unless_a_prefix() {
        let flat = flatten(&pieces("The deployment failed"));
        assert!(contains(&flat, "deployment", false));
        assert!(!contains(&flat, "deploy", false));
        assert!(contains(&flat, "deploy", true));
        assert!(!contains(&flat, "ployment", true));
        assert!(contains(&flat, "deployment failed", false));
        assert!(!contains(&flat, "failed deployment", false));
    }

    #[test]
    fn terms_are_keyed_distinct_and_never_the_words() {
        let key = SearchKey::derive(&MasterKey::generate());
        let other = SearchKey::derive(&MasterKey::generate());
        let terms = index_terms(&key, "Deploy deploy DEPLOY to 東京 at https://x.io");
        // deploy, to, at, https, io (x: one letter), 東京 (one pair), link.
        assert_eq!(terms.terms.len(), 7);
        assert!(terms.terms.contains(&word_term(&key, "deploy")));
        assert!(!terms.terms.contains(&word_term(&other, "deploy")));
        let (word, prefixes) = &terms.words[0];
        assert_eq!(*word, word_term(&key, "deploy"));
        // dep, depl, deplo, deploy
        assert_eq!(prefixes.len(), 4);
        assert_eq!(prefixes[1], prefix_term(&key, "depl"));
        // A number is a word but takes no prefixes.
        let numbers = index_terms(&key, "build 20261204");
        assert_eq!(numbers.terms.len(), 2);
        assert_eq!(numbers.words.len(), 1);
    }

    #[test]
    fn pieces_point_back_into_the_original() {
        let text = "¡Hola, Niño! 東京";
        for piece in pieces(text) {
            assert_eq!(normalize(&text[piece.start..piece.end]), piece.norm);
        }
    }
}
