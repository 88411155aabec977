//! Search: what a query means, who may find what, and the results with
//! their snippets. The index (`store/search.rs`, kept by the writer) holds
//! keyed hashes only; it names candidates, and every candidate is confirmed
//! here against its decrypted text, so an index hit never shows a message
//! that does not say what was asked.
//!
//! A query is words in any order, case and accents ignored; the last word
//! also by its start while it is being typed (no space after it yet);
//! "quoted phrases" and URL-like words (`example.com/docs`) as runs of
//! words; Chinese or Japanese by any two characters or more. Filters:
//! `from:name` (or `from:me`), `in:conversation`, `before:YYYY-MM-DD`,
//! `after:YYYY-MM-DD` (days in UTC; `after:` starts the day after, as in
//! Slack), `has:link`, `has:file`. Only the asker's conversations are searched, as
//! they are at the moment of the query.

use std::collections::HashMap;
use std::time::Duration;

use super::actor::Actor;
use crate::calendar::{civil_from_days, days_from_civil, DAY_MS};
use crate::model::{SearchHit, SearchResults, SnippetPart};
use crate::realtime::protocol::{plain_line, MessageView};
use crate::server::crypto::SearchKey;
use crate::server::search_terms::{self as terms, Piece, PieceKind, MIN_PREFIX};
use crate::server::state::AppState;
use crate::server::store::{IndexQuery, IndexStep, Store, StoreError};

/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Results a page holds.
pub const PAGE: usize = 20;
/// Candidates asked of the index at a time, and how many times per page:
/// a page stops after this many candidates even when it is not full (it
/// then offers `more`).
const CANDIDATES: i64 = 200;
const ROUNDS: usize = 5;
/// The index is asked for at most this many terms; the rest of the query
/// is checked against the text.
const MAX_GROUPS: usize = 12;
/// Words a prefix may stand for.
const PREFIX_WORDS: i64 = 2000;
/// Characters of a snippet.
const SNIPPET_CHARS: usize = 180;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query cannot be run as typed: the text says why.
    #[error("{0}")]
    Query(String),
    #[error("slow down")]
    SlowDown(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn bad(reason: impl Into<String>) -> SearchError {
    SearchError::Query(reason.into())
}

/// A part of the query a message must hold: its pieces in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Needle {
    pieces: Vec<Piece>,
    flat: String,
    /// The last word may be the start of a longer one.
    prefix: bool,
}

/// A query, understood.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Query {
    needles: Vec<Needle>,
    /// `from:`, normalised; `me` for the asker.
    from: Option<String>,
    /// `in:`, normalised.
    in_room: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    has_link: bool,
    /// `has:file`: messages that carry files (a filter on what is found,
    /// not an index term).
    has_file: bool,
}

/// Splits `text` into items: words, "quoted phrases", and `key:value`
/// (the value may be quoted). Each item says whether it was closed (a
/// space or a closing quote after it).
fn items(text: &str) -> Vec<(String, bool, bool)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let mut item = String::new();
        let mut quoted = false;
        let mut closed = false;
        while i < chars.len() {
            let c = chars[i];
            if c == '"' {
                // A phrase, or a filter's quoted value (`from:"Ann L"`).
                quoted = item.is_empty();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    item.push(chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    i += 1; // the closing quote
                    closed = true;
                }
                break;
            }
            if c.is_whitespace() {
                closed = true;
                break;
            }
            item.push(c);
            i += 1;
        }
        if i < chars.len() {
            closed = true;
        }
        out.push((item, quoted, closed));
    }
    out
}

/// Midnight UTC of `YYYY-MM-DD`, in ms.
fn day_start(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // A day the month does not have (2026-02-30) comes back as another date.
    (civil_from_days(days) == (year, month, day)).then_some(days * DAY_MS)
}

fn needle(text: &str, prefix: bool) -> Option<Needle> {
    let pieces = terms::pieces(text);
    if pieces.is_empty() {
        return None;
    }
    let flat = terms::flatten(&pieces);
    Some(Needle {
        pieces,
        flat,
        prefix,
    })
}

/// Reads a query; a clear reason when it cannot be run.
pub fn parse(text: &str) -> Result<Query, SearchError> {
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(bad(format!(
            "That search is too long: at most {MAX_QUERY_CHARS} characters."
        )));
    }
    if text.trim().is_empty() {
        return Err(bad("Type what to search for."));
    }
    let mut query = Query::default();
    for (item, quoted, closed) in items(text) {
        let filter = (!quoted)
            .then(|| item.split_once(':'))
            .flatten()
            .map(|(key, value)| (key.to_ascii_lowercase(), value.to_string()));
        match filter {
            Some((key, value))
                if matches!(key.as_str(), "from" | "in" | "before" | "after" | "has") =>
            {
                let value = value.trim_matches('"').trim().to_string();
                if value.is_empty() {
                    return Err(bad(format!(
                        "Say what {key}: is, like {key}:{}.",
                        example(&key)
                    )));
                }
                match key.as_str() {
                    "from" => query.from = Some(terms::normalize(&value)),
                    "in" => query.in_room = Some(terms::normalize(&value)),
                    "before" | "after" => {
                        let start = day_start(&value).ok_or_else(|| {
                            bad(format!(
                                "{key}: takes a date like {key}:2026-12-01, not “{}”.",
                                value.chars().take(40).collect::<String>()
                            ))
                        })?;
                        if key == "before" {
                            query.until = Some(start);
                        } else {
                            query.since = Some(start + DAY_MS);
                        }
                    }
                    _ => match value.to_ascii_lowercase().as_str() {
                        "link" => query.has_link = true,
                        "file" => query.has_file = true,
                        _ => return Err(bad("has: takes link or file, as in has:link.")),
                    },
                }
            }
            _ => query.needles.extend(needle(&item, !closed)),
        }
    }
    let filtered = query.from.is_some()
        || query.in_room.is_some()
        || query.since.is_some()
        || query.until.is_some()
        || query.has_link
        || query.has_file;
    if query.needles.is_empty() && !filtered {
        return Err(bad("Search for words or names: that was only punctuation."));
    }
    Ok(query)
}

fn example(key: &str) -> &'static str {
    match key {
        "from" => "ann",
        "in" => "general",
        "has" => "link",
        _ => "2026-12-01",
    }
}

impl Query {
    /// The index terms: one group per term a message must hold (any of
    /// a group's terms). Most telling first: long words, then pairs of
    /// characters, then the link mark, then prefixes.
    async fn groups(&self, key: &SearchKey, store: &Store) -> Result<Vec<Vec<i32>>, StoreError> {
        let mut words: Vec<(usize, i32)> = Vec::new();
        let mut pairs = Vec::new();
        let mut prefixes = Vec::new();
        for needle in &self.needles {
            let last = needle.pieces.len() - 1;
            for (i, piece) in needle.pieces.iter().enumerate() {
                let chars = piece.norm.chars().count();
                match piece.kind {
                    PieceKind::Word if needle.prefix && i == last && chars >= MIN_PREFIX => {
                        prefixes.push((
                            terms::prefix_term(key, &piece.norm),
                            terms::word_term(key, &piece.norm),
                        ));
                    }
                    PieceKind::Word if chars >= 2 => {
                        words.push((chars, terms::word_term(key, &piece.norm)));
                    }
                    PieceKind::Word => {} // one letter: checked in the text
                    PieceKind::Cjk => pairs.extend(terms::pair_terms(key, &piece.norm)),
                }
            }
        }
        words.sort_by_key(|(chars, _)| std::cmp::Reverse(*chars));
        let mut groups: Vec<Vec<i32>> = words.into_iter().map(|(_, t)| vec![t]).collect();
        groups.extend(pairs.into_iter().map(|t| vec![t]));
        if self.has_link {
            groups.push(vec![terms::link_term(key)]);
        }
        groups.dedup();
        groups.truncate(MAX_GROUPS);
        for (prefix, whole) in prefixes {
            if groups.len() >= MAX_GROUPS {
                break;
            }
            // The words that start so, and the word itself (a number takes
            // no prefixes: it is found whole).
            let mut words = store.words_with_prefix(prefix, PREFIX_WORDS).await?;
            words.push(whole);
            words.sort_unstable();
            words.dedup();
            groups.push(words);
        }
        Ok(groups)
    }

    /// Whether `message` (opened) is what was asked, beyond its rooms.
    fn matches(&self, message: &MessageView, asker: i64) -> bool {
        if self.since.is_some_and(|s| message.created_at < s)
            || self.until.is_some_and(|u| message.created_at >= u)
            || (self.has_link && !terms::has_link(&message.body))
            || (self.has_file && message.files.is_empty())
        {
            return false;
        }
        if let Some(from) = &self.from {
            let by_asker = message.sender_id == Some(asker);
            let named = terms::flatten(&terms::pieces(&message.sender_name));
            let by_them = if from == "me" {
                by_asker
            } else {
                terms::contains(&named, from, true)
            };
            if !by_them {
                return false;
            }
        }
        let flat = terms::flatten(&terms::pieces(&message.body));
        self.needles
            .iter()
            .all(|n| terms::contains(&flat, &n.flat, n.prefix))
    }
}

/// Runs `text` for `actor`: a page of results, newest first, older than
/// the message `before` when given.
pub async fn search(
    state: &AppState,
    actor: &Actor,
    text: &str,
    before: Option<i64>,
) -> Result<SearchResults, SearchError> {
    let query = parse(text)?;
    state
        .search_limiter
        .check(actor.id)
        .map_err(SearchError::SlowDown)?;
    let store = &state.store;
    let Some(key) = store.keys.search() else {
        return Err(SearchError::Store(StoreError::Batch(
            "the search key is not loaded".into(),
        )));
    };
    // Names of the asker's conversations, as they see them (also `in:`).
    let rooms: HashMap<i64, String> = store
        .rooms_of(actor.id)
        .await?
        .into_iter()
        .map(|r| (r.room, r.name))
        .collect();
    let only_rooms = match &query.in_room {
        None => None,
        Some(wanted) => {
            let picked: Vec<i64> = rooms
                .iter()
                .filter(|(_, name)| {
                    terms::contains(&terms::flatten(&terms::pieces(name)), wanted, true)
                })
                .map(|(&id, _)| id)
                .collect();
            if picked.is_empty() {
                return Err(bad(format!(
                    "You are in no conversation called “{}”.",
                    wanted.chars().take(40).collect::<String>()
                )));
            }
            Some(picked)
        }
    };
    let mut results = SearchResults {
        indexing: indexing_percent(store).await?,
        ..SearchResults::default()
    };
    let groups = query.groups(&key, store).await?;
    let mut ask = IndexQuery {
        user_id: actor.id,
        rooms: only_rooms,
        groups,
        below_id: before.unwrap_or(i64::MAX),
        since: query.since,
        until: query.until,
        limit: CANDIDATES,
    };
    for round in 0..ROUNDS {
        let ids = if ask.groups.is_empty() {
            store.search_recent(&ask).await?
        } else {
            store.search_candidates(&ask).await?
        };
        let Some(&oldest) = ids.last() else {
            break;
        };
        for message in store.messages_by_id(&ids).await? {
            if !query.matches(&message, actor.id) {
                continue;
            }
            let Some(room_name) = rooms.get(&message.room) else {
                continue; // left the conversation since the candidates were read
            };
            results.hits.push(hit(&query, &message, room_name));
            if results.hits.len() == PAGE {
                results.more = Some(message.id);
                return Ok(results);
            }
        }
        if (ids.len() as i64) < CANDIDATES {
            break;
        }
        ask.below_id = oldest;
        if round + 1 == ROUNDS {
            results.more = Some(oldest);
        }
    }
    Ok(results)
}

/// While the background pass runs: how far it is, in percent.
async fn indexing_percent(store: &Store) -> Result<Option<u8>, StoreError> {
    let progress = store.index_progress().await?;
    if progress.remaining == 0 {
        return Ok(None);
    }
    let done = progress.total.saturating_sub(progress.remaining).max(0);
    Ok(Some((done * 100 / progress.total.max(1)).clamp(0, 99) as u8))
}

fn hit(query: &Query, message: &MessageView, room_name: &str) -> SearchHit {
    SearchHit {
        room: message.room,
        room_name: room_name.to_string(),
        seq: message.seq,
        message_id: message.id,
        sender_name: message.sender_name.clone(),
        created_at: message.created_at,
        snippet: snippet(query, &message.text_or_files()),
    }
}

/// The message as plain text, cut to about `SNIPPET_CHARS` around the
/// first match, with the matching words (or characters) marked.
fn snippet(query: &Query, body: &str) -> Vec<SnippetPart> {
    let plain: String = body
        .lines()
        .map(plain_line)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let marks = marks(query, &plain);
    let total = plain.chars().count();
    let first = marks.first().map_or(0, |m| plain[..m.0].chars().count());
    let from_char = if total <= SNIPPET_CHARS {
        0
    } else {
        first
            .saturating_sub(SNIPPET_CHARS / 3)
            .min(total - SNIPPET_CHARS)
    };
    let to_char = (from_char + SNIPPET_CHARS).min(total);
    let byte = |c: usize| plain.char_indices().nth(c).map_or(plain.len(), |(b, _)| b);
    let (from, to) = (byte(from_char), byte(to_char));
    let mut parts = Vec::new();
    let mut push = |text: &str, hit: bool| {
        if !text.is_empty() {
            parts.push(SnippetPart {
                text: text.to_string(),
                hit,
            });
        }
    };
    if from > 0 {
        push("…", false);
    }
    let mut at = from;
    for (start, end) in marks {
        let (start, end) = (start.max(at), end.min(to));
        if start >= end {
            continue;
        }
        push(&plain[at..start], false);
        push(&plain[start..end], true);
        at = end;
    }
    push(&plain[at..to], false);
    if to < plain.len() {
        push("…", false);
    }
    parts
}

/// Byte ranges of `plain` that match a word (or characters) of the query.
fn marks(query: &Query, plain: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for piece in terms::pieces(plain) {
        for needle in &query.needles {
            let last = needle.pieces.len() - 1;
            for (i, wanted) in needle.pieces.iter().enumerate() {
                match (piece.kind, wanted.kind) {
                    (PieceKind::Word, PieceKind::Word) => {
                        let hit = if needle.prefix && i == last {
                            piece.norm.starts_with(&wanted.norm)
                        } else {
                            piece.norm == wanted.norm
                        };
                        if hit {
                            out.push((piece.start, piece.end));
                        }
                    }
                    (PieceKind::Cjk, PieceKind::Cjk) => {
                        out.extend(cjk_marks(plain, &piece, &wanted.norm));
                    }
                    _ => {}
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    // Overlaps merged, so each character is marked once.
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(out.len());
    for (start, end) in out {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// Where `wanted` sits in a Chinese or Japanese run, in bytes of the
/// original; the whole run when folding changed its length.
fn cjk_marks(plain: &str, piece: &Piece, wanted: &str) -> Vec<(usize, usize)> {
    let original: Vec<(usize, char)> = plain[piece.start..piece.end].char_indices().collect();
    let norm: Vec<char> = piece.norm.chars().collect();
    let wanted: Vec<char> = wanted.chars().collect();
    if wanted.is_empty() || wanted.len() > norm.len() {
        return Vec::new();
    }
    if original.len() != norm.len() {
        return if piece.norm.contains(&wanted.iter().collect::<String>()) {
            vec![(piece.start, piece.end)]
        } else {
            Vec::new()
        };
    }
    let mut out = Vec::new();
    for i in 0..=norm.len() - wanted.len() {
        if norm[i..i + wanted.len()] == wanted[..] {
            let start = piece.start + original[i].0;
            let end = original
                .get(i + wanted.len())
                .map_or(piece.end, |(b, _)| piece.start + b);
            out.push((start, end));
        }
    }
    out
}

/// At start: when the index was built with another search key (the master
/// key changed), it is dropped and rebuilt by the background pass; on the
/// first start after the upgrade it is adopted as it is.
pub async fn prepare_index(store: &Store) -> Result<(), StoreError> {
    let Some(key) = store.keys.search() else {
        return Ok(());
    };
    let check = key.check();
    match store.index_key_check().await? {
        Some(stored) if stored == check => {}
        Some(_) => {
            tracing::warn!("the search key changed: the index is rebuilt in the background");
            store.restart_index(&check, true).await?;
        }
        None => store.restart_index(&check, false).await?,
    }
    Ok(())
}

/// `glasschat search reindex`: drops the index and has the background pass
/// of every running server (and of the next start) build it again. Search
/// keeps answering meanwhile, from what is indexed so far.
pub async fn reindex(store: &Store) -> Result<String, StoreError> {
    let Some(key) = store.keys.search() else {
        return Err(StoreError::Batch("the search key is not loaded".into()));
    };
    store.restart_index(&key.check(), true).await?;
    let progress = store.index_progress().await?;
    Ok(format!(
        "search index dropped; {} messages' seqs to index again, in the background of every running server\n",
        progress.remaining
    ))
}

/// How long the background pass rests when there is nothing to index, and
/// between steps (so a burst of messages is never behind it for long).
const IDLE: Duration = Duration::from_secs(5);
const BETWEEN_STEPS: Duration = Duration::from_millis(2);

/// The background pass: indexes older messages, a room's slice at a time,
/// through the writer (so a step and that room's new messages, edits and
/// deletes are never interleaved). Every node runs one; they share the
/// work through the rooms' marks.
pub fn spawn_indexer(state: AppState) {
    tokio::spawn(async move {
        loop {
            let rooms = match state.store.rooms_to_index(16).await {
                Ok(rooms) => rooms,
                Err(err) => {
                    tracing::warn!(error = %err, "search index: cannot list rooms to index");
                    Vec::new()
                }
            };
            if rooms.is_empty() {
                tokio::time::sleep(IDLE).await;
                continue;
            }
            for room in rooms {
                loop {
                    match state.writer.write(IndexStep { room }).await {
                        Ok(crate::server::store::Stored::Indexed { remaining })
                            if remaining > 0 =>
                        {
                            tokio::time::sleep(BETWEEN_STEPS).await;
                        }
                        Ok(_) => break,
                        Err(err) => {
                            tracing::warn!(error = %err, room, "search index: a step failed; retrying later");
                            tokio::time::sleep(IDLE).await;
                            break;
                        }
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flats(query: &Query) -> Vec<(&str, bool)> {
        query
            .needles
            .iter()
            .map(|n| (n.flat.as_str(), n.prefix))
            .collect()
    }

    #[test]
    fn words_phrases_and_the_word_being_typed() {
        let q = parse(r#"Deploy "Failed Build" depl"#).expect("parses");
        assert_eq!(
            flats(&q),
            [("deploy", false), ("failed build", false), ("depl", true)]
        );
        let q = parse("deploy ").expect("parses");
        assert_eq!(flats(&q), [("deploy", false)]);
        let q = parse("example.com/docs").expect("parses");
        assert_eq!(flats(&q), [("example com docs", true)]);
    }

    #[test]
    fn filters_are_read_and_bad_ones_explained() {
        let q = parse(
            r#"from:"Ann Lovelace" in:general before:2026-12-01 after:2026-11-01 has:link x"#,
        )
        .expect("parses");
        assert_eq!(q.from.as_deref(), Some("ann lovelace"));
        assert_eq!(q.in_room.as_deref(), Some("general"));
        assert_eq!(q.until, Some(1_796_083_200_000));
        assert_eq!(q.since, Some(1_793_491_200_000 + DAY_MS));
        assert!(q.has_link);
        for bad_query in [
            "before:yesterday",
            "after:2026-02-30",
            "has:cats",
            "from:",
            "",
            "   ",
            "?!…",
            &"a".repeat(10_000),
        ] {
            match parse(bad_query) {
                Err(SearchError::Query(reason)) => assert!(!reason.is_empty()),
                other => panic!("{bad_query:?}: {other:?}"),
            }
        }
        // A URL's scheme is not a filter.
        let q = parse("https://example.com").expect("parses");
        assert_eq!(flats(&q), [("https example com", true)]);
    }

    #[test]
    fn days_are_midnight_utc() {
        assert_eq!(day_start("1970-01-01"), Some(0));
        assert_eq!(day_start("2000-03-01"), Some(951_868_800_000));
        assert_eq!(day_start("2024-02-29").map(|d| d / DAY_MS), Some(19_782));
        assert_eq!(day_start("2023-02-29"), None);
    }

    #[test]
    fn snippets_mark_what_matched() {
        let q = parse("deploy 東京").expect("parses");
        let parts = snippet(&q, "**Deploy** went out to 東京タワー, deploying again");
        let marked: Vec<&str> = parts
            .iter()
            .filter(|p| p.hit)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(marked, ["Deploy", "東京"]);
        let long = format!("{} needle {}", "word ".repeat(100), "tail ".repeat(100));
        let parts = snippet(&parse("needle").expect("parses"), &long);
        assert_eq!(parts.first().map(|p| p.text.as_str()), Some("…"));
        assert!(parts.iter().any(|p| p.hit && p.text == "needle"));
        let shown: usize = parts.iter().map(|p| p.text.chars().count()).sum();
        assert!(shown <= SNIPPET_CHARS + 2);
    }
}
