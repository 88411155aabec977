//! The messages service: every rule about sending, reading and fetching
//! messages, between the socket handler / server functions and the store.
//! Publishing to the hub happens here (`publisher`), called by the writer
//! after each commit.

use std::sync::Arc;
use std::time::Duration;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::publish::{self, ReadCount};
use crate::realtime::hub::{message_frame, sequenced_frame, Hub};
use crate::realtime::protocol::{Ack, MessageKind, MessageView, ServerFrame, MAX_MENTIONS};
use crate::server::cluster::{Event, Fanout};
use crate::server::state::AppState;
use crate::server::store::{now_ms, Committed, NewMessage, Pending, Refusal, StoreError, Stored};

/// Who is sending: taken from the session when the socket opened, never
/// from a frame.
#[derive(Debug, Clone)]
pub struct Author {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("{0}")]
    Invalid(&'static str),
    #[error("not a member of this room")]
    Forbidden,
    #[error("a message can carry at most {0} files")]
    TooManyFiles(usize),
    #[error("slow down")]
    SlowDown(Duration),
    /// An edit, delete or reaction that was not allowed.
    #[error("{0}")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn valid_client_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A send handed to the writer and not yet answered. A socket may have
/// several (it reads the next frame while earlier ones are being stored);
/// they are answered in the order they were handed over.
pub struct PendingSend {
    pub room: i64,
    pub client_id: String,
    pub stored: Pending,
}

/// A message as a socket frame asks to send it.
#[derive(Debug, Clone, Default)]
pub struct SendRequest {
    pub room: i64,
    pub client_id: String,
    pub body: String,
    pub reply_to: Option<i64>,
    pub mentions: Vec<i64>,
    pub files: Vec<i64>,
}

/// Checks a send and hands it to the writer, which stores it and (through
/// `publisher`) publishes it after the commit. Waits only when the writer's
/// queue is full. `acknowledge` turns the answer into the ack.
pub async fn submit(
    state: &AppState,
    author: &Author,
    request: SendRequest,
) -> Result<PendingSend, MessageError> {
    let SendRequest {
        room,
        client_id,
        body,
        reply_to,
        mentions,
        files,
    } = request;
    let user_id = author.id;
    if !valid_client_id(&client_id) {
        return Err(MessageError::Invalid(
            "client_id must be 1-64 letters, digits, '-' or '_'",
        ));
    }
    if body.trim().is_empty() && files.is_empty() {
        return Err(MessageError::Invalid("the message is empty"));
    }
    if body.chars().count() > state.config.limits.max_message_chars {
        return Err(MessageError::Invalid("the message is too long"));
    }
    let files = files_sent(files, state.config.limits.max_files_per_message)?;
    state
        .send_limiter
        .check(user_id)
        .map_err(MessageError::SlowDown)?;
    // Whether the original exists is told to members only: the writer
    // checks both in the transaction that stores the reply.
    if reply_to.is_some_and(|seq| seq < 1) {
        return Err(MessageError::Invalid("reply_to must be a message's seq"));
    }
    let mentions = people_called(mentions, user_id)?;

    let stored = state
        .writer
        .submit(NewMessage {
            room,
            sender_id: user_id,
            sender_name: author.name.clone(),
            client_id: client_id.clone(),
            body,
            reply_to,
            mentions,
            files,
            now: now_ms(),
        })
        .await?;
    Ok(PendingSend {
        room,
        client_id,
        stored,
    })
}

/// The distinct files a send carries, at most `most` (whose they are and
/// whether they are finished is the writer's check), in the order given.
fn files_sent(files: Vec<i64>, most: usize) -> Result<Vec<i64>, MessageError> {
    let mut distinct = Vec::with_capacity(files.len());
    for file in files {
        if !distinct.contains(&file) {
            distinct.push(file);
        }
    }
    if distinct.len() > most {
        return Err(MessageError::TooManyFiles(most));
    }
    Ok(distinct)
}

/// The distinct people a send names (the writer keeps the members among
/// them whose `@Name` the body holds); calling yourself calls no one.
fn people_called(mut mentions: Vec<i64>, sender: i64) -> Result<Vec<i64>, MessageError> {
    if mentions.len() > MAX_MENTIONS {
        return Err(MessageError::Invalid(
            "a message can mention at most 50 people by name (use @room to call a whole group)",
        ));
    }
    mentions.retain(|&id| id > 0 && id != sender);
    mentions.sort_unstable();
    mentions.dedup();
    Ok(mentions)
}

/// The ack for a send the writer has answered. A resend with the same
/// client id gets the first ack (nothing new was stored or published).
pub async fn acknowledge(
    state: &AppState,
    client_id: String,
    stored: Result<Stored, StoreError>,
) -> Result<Ack, MessageError> {
    let ack = |view: &MessageView| Ack {
        client_id,
        room: view.room,
        seq: view.seq,
        message_id: view.id,
        server_time: view.created_at,
    };
    match stored? {
        Stored::New(view) | Stored::Duplicate(view) => Ok(ack(&view)),
        Stored::Reopened { message, .. } => {
            // Everyone's sidebar shows the conversation open again.
            publish::push_summaries(state, message.room).await?;
            Ok(ack(&message))
        }
        Stored::NotMember => Err(MessageError::Forbidden),
        Stored::NoOriginal => Err(MessageError::Invalid(
            "the message you reply to is not in this conversation",
        )),
        Stored::NoFile => Err(MessageError::Invalid(
            "a file of this message is not uploaded to this conversation (or was sent already)",
        )),
        // Changes are answered by `changes::settle`, never here.
        Stored::Changed(_)
        | Stored::Unchanged
        | Stored::Refused(_)
        | Stored::Indexed { .. }
        | Stored::Trimmed { .. } => Err(MessageError::Invalid("not a send")),
    }
}

/// The writer's `Committed` hook: publishes a batch's new messages to the
/// hub (and the other nodes) right after its commit, each serialised once
/// and all handed over together, so each member socket gets its room's
/// share under one wake. A text message also moves its sender's read mark
/// (sending reads everything up to your own message); of several in one
/// batch only the newest per sender and room is pushed to their tabs.
pub fn publisher(hub: Hub, fanout: Fanout) -> Committed {
    Arc::new(move |batch: &[Stored]| {
        let mut frames: Vec<(i64, i64, Utf8Bytes)> = Vec::with_capacity(batch.len());
        let mut marks: Vec<(i64, i64, i64)> = Vec::new();
        for stored in batch {
            match stored {
                Stored::New(view) => {
                    frames.push(message_frame(view.clone()));
                    if let (MessageKind::Text, Some(sender)) = (&view.kind, view.sender_id) {
                        marks.push((sender, view.room, view.seq));
                    }
                }
                Stored::Reopened { message, line } => {
                    frames.push(message_frame(message.clone()));
                    frames.push(message_frame(line.clone()));
                    if let Some(sender) = message.sender_id {
                        marks.push((sender, line.room, line.seq));
                    }
                }
                Stored::Changed(change) => {
                    let frame = ServerFrame::Changed(change.clone());
                    frames.push(sequenced_frame(change.room, change.seq, &frame));
                }
                Stored::Duplicate(_)
                | Stored::NotMember
                | Stored::NoOriginal
                | Stored::NoFile
                | Stored::Unchanged
                | Stored::Refused(_)
                | Stored::Indexed { .. }
                | Stored::Trimmed { .. } => {}
            }
        }
        hub.publish_messages(&frames);
        announce_messages(&fanout, &frames);
        // Marks only move forward: the newest per (sender, room) says it all.
        marks.sort_unstable();
        for group in marks.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            if let Some(&(sender, room, seq)) = group.last() {
                // Up to their own message, nothing is unread.
                publish::read_mark(&hub, &fanout, sender, room, ReadCount::all_read(seq));
            }
        }
    })
}

/// Tells the other nodes, one event per room with its frames: a batch's
/// seqs in a room (messages and changes) are contiguous, so (first, last)
/// covers them.
fn announce_messages(fanout: &Fanout, frames: &[(i64, i64, Utf8Bytes)]) {
    if !fanout.has_peers() {
        return;
    }
    let mut order: Vec<&(i64, i64, Utf8Bytes)> = frames.iter().collect();
    order.sort_unstable_by_key(|(room, seq, _)| (*room, *seq));
    for group in order.chunk_by(|a, b| a.0 == b.0) {
        let (room, from) = (group[0].0, group[0].1);
        let to = group[group.len() - 1].1;
        let frames = group.iter().map(|(_, _, frame)| frame.clone()).collect();
        fanout.announce(Event::messages(room, from, to, frames));
    }
}

/// Moves the user's read mark (never backwards) and tells all their tabs.
/// Moves `user_id`'s read mark; returns whether it moved.
pub async fn mark_read(
    state: &AppState,
    user_id: i64,
    room: i64,
    seq: i64,
) -> Result<bool, MessageError> {
    let (summary, moved) = state
        .store
        .mark_read(user_id, room, seq)
        .await?
        .ok_or(MessageError::Forbidden)?;
    publish::read_mark(
        &state.hub,
        &state.fanout,
        user_id,
        room,
        ReadCount::of(&summary),
    );
    if moved {
        // A notification of what was just read goes from every device.
        if let Err(e) = super::push::read_moved(state, user_id, room).await {
            tracing::warn!(error = %e, room, "push notification not closed");
        }
    }
    Ok(moved)
}

pub const HISTORY_PAGE_MAX: i64 = 200;

/// Older messages for a member: up to `limit` below `before_seq`, oldest first.
pub async fn history(
    state: &AppState,
    user_id: i64,
    room: i64,
    before_seq: i64,
    limit: i64,
) -> Result<Vec<MessageView>, MessageError> {
    state
        .store
        .room_of(user_id, room)
        .await?
        .ok_or(MessageError::Forbidden)?;
    let limit = limit.clamp(1, HISTORY_PAGE_MAX);
    Ok(state.store.messages_before(room, before_seq, limit).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_short_plain_tokens() {
        assert!(valid_client_id("0b9f5a6e-8a4e-4c1e-9d43-3f1f3c1a2b7d"));
        assert!(!valid_client_id(""));
        assert!(!valid_client_id(&"a".repeat(65)));
        assert!(!valid_client_id("a b"));
        assert!(!valid_client_id("<script>"));
    }

    #[test]
    fn a_send_names_each_other_person_once() {
        let called = people_called(vec![3, 1, 3, -2, 0, 7], 1).ok();
        assert_eq!(called, Some(vec![3, 7]));
        assert!(people_called(vec![2; MAX_MENTIONS + 1], 1).is_err());
    }
}
