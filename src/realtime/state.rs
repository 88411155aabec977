//! What a client knows, and how each server frame changes it. The WASM
//! client keeps one of these; the server tests apply the frames a socket
//! received to a snapshot and compare it with a fresh one (the Zulip-style
//! race check), so the reducer the browser runs is the one under test.

use std::collections::{BTreeMap, HashMap};

use super::protocol::{
    Change, ChangeKind, MessageKind, MessageView, Quote, RoomCursor, RoomSummary, ServerFrame,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientState {
    pub user_id: i64,
    pub rooms: BTreeMap<i64, RoomState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomState {
    pub summary: RoomSummary,
    /// Messages held, by seq.
    pub messages: BTreeMap<i64, MessageView>,
    /// The highest seq up to which nothing is missing (what `Hello` reports).
    pub held_seq: i64,
    /// The `last_seq` of the server's count that `summary.unread` started
    /// from; frames after it were counted here (see `recount`).
    pub counted_at: i64,
    /// Deletes of messages that counted as unread, received after
    /// `counted_at`: change seq -> (message seq, whether it mentioned this
    /// user). A count the server made before such a delete needs them.
    pub deletes: BTreeMap<i64, (i64, bool)>,
}

impl RoomState {
    fn new(summary: RoomSummary) -> RoomState {
        RoomState {
            held_seq: summary.last_seq,
            counted_at: summary.last_seq,
            summary,
            messages: BTreeMap::new(),
            deletes: BTreeMap::new(),
        }
    }

    /// Takes a count made by the server (`unread` messages above `read_seq`,
    /// `mentions` of them calling this user, counted up to `last_seq`) when
    /// it is not older than the one held, and adds what arrived here after
    /// it: the messages that count, less the deletes of messages it
    /// counted. Both counts are then exact without the client holding the
    /// room's history.
    fn recount(&mut self, me: i64, read_seq: i64, last_seq: i64, unread: i64, mentions: i64) {
        let s = &mut self.summary;
        let newer =
            read_seq > s.read_seq || (read_seq == s.read_seq && last_seq >= self.counted_at);
        if !newer {
            return; // an older count: the one held already includes it
        }
        let (mut count, mut called) = (unread, mentions);
        if s.last_seq > last_seq {
            let from = last_seq.max(read_seq);
            for (_, m) in self.messages.range(from + 1..=s.last_seq) {
                if m.counts_for(me) {
                    count += 1;
                    called += i64::from(m.mentions_user(me));
                }
            }
            for (target, mentioned) in self.deletes.range(last_seq + 1..=s.last_seq).map(|d| d.1) {
                if *target > read_seq && *target <= last_seq {
                    count -= 1;
                    called -= i64::from(*mentioned);
                }
            }
        }
        s.read_seq = read_seq;
        s.last_seq = s.last_seq.max(last_seq);
        s.unread = count.max(0);
        s.mentions = called.max(0);
        self.counted_at = last_seq;
        self.deletes = self.deletes.split_off(&(last_seq + 1));
    }

    /// A change to one of the room's messages, in seq order.
    fn change(&mut self, me: i64, change: &Change) {
        let target = &change.message;
        if let Some(held) = self.messages.get_mut(&target.seq) {
            *held = target.clone();
        }
        // Replies show the original as it is now. A reaction leaves a quote
        // as it was, so the most frequent change skips the walk over every
        // held message (10,000 in a long room).
        if change.change != ChangeKind::Reacted {
            for message in self.messages.values_mut() {
                if message.reply.as_ref().is_some_and(|q| q.seq == target.seq) {
                    message.reply = Some(Quote::of(target));
                }
            }
        }
        let s = &mut self.summary;
        if s.last.as_ref().is_some_and(|l| l.seq == target.seq) {
            s.last = Some(target.preview());
        }
        self.held_seq = self.held_seq.max(change.seq);
        if change.seq <= s.last_seq {
            return; // the count held was made after it
        }
        s.last_seq = change.seq;
        let counted = target.kind == MessageKind::Text && target.sender_id != Some(me);
        if change.change == ChangeKind::Deleted && counted && target.seq > s.read_seq {
            // A tombstone still names whom it mentioned, for this count.
            let mentioned = target.mentions_user(me);
            s.unread = (s.unread - 1).max(0);
            s.mentions = (s.mentions - i64::from(mentioned)).max(0);
            self.deletes.insert(change.seq, (target.seq, mentioned));
        }
    }

    /// Retention deleted every message at or below `through`.
    fn drop_trimmed(&mut self, through: i64) {
        if through > 0 {
            self.messages.retain(|seq, _| *seq > through);
        }
    }

    /// Takes a newer summary of the room. It was read from the database
    /// after some commit, while messages after it may already be here: seqs,
    /// read marks and the preview therefore only move forward.
    fn merge(&mut self, me: i64, incoming: &RoomSummary) {
        let known = self.summary.clone();
        self.drop_trimmed(incoming.trimmed_through);
        let last = match (&known.last, &incoming.last) {
            (Some(mine), _) if mine.seq <= incoming.trimmed_through => incoming.last.clone(),
            (Some(mine), Some(theirs)) if mine.seq > theirs.seq => Some(mine.clone()),
            (mine, None) => mine.clone(),
            (_, theirs) => theirs.clone(),
        };
        let last_activity = known.last_activity.max(incoming.last_activity);
        let mut support = incoming.support.clone();
        if let (Some(next), Some(held)) = (support.as_mut(), known.support.as_ref()) {
            if known.last_seq > incoming.last_seq {
                // Messages after the summary's read are here already.
                next.waiting_since = held.waiting_since;
            }
        }
        self.summary = RoomSummary {
            support,
            last_seq: known.last_seq,
            read_seq: known.read_seq,
            unread: known.unread,
            mentions: known.mentions,
            last,
            last_activity,
            ..incoming.clone()
        };
        self.recount(
            me,
            incoming.read_seq,
            incoming.last_seq,
            incoming.unread,
            incoming.mentions,
        );
    }
}

impl ClientState {
    /// Applies one frame. Returns `true` when it changed anything.
    pub fn apply(&mut self, frame: &ServerFrame) -> bool {
        match frame {
            ServerFrame::Welcome { user_id, rooms, .. } => {
                self.user_id = *user_id;
                let mut next = BTreeMap::new();
                for summary in rooms {
                    let room = match self.rooms.remove(&summary.room) {
                        // Reconnect: keep what we hold; the catch-up fills the rest.
                        Some(mut known) => {
                            known.summary = summary.clone();
                            known.drop_trimmed(summary.trimmed_through);
                            known.counted_at = summary.last_seq;
                            known.deletes.clear();
                            known
                        }
                        None => RoomState::new(summary.clone()),
                    };
                    next.insert(summary.room, room);
                }
                self.rooms = next;
                true
            }
            ServerFrame::Message(message) => {
                let me = self.user_id;
                let Some(room) = self.rooms.get_mut(&message.room) else {
                    return false;
                };
                if message.is_clear() {
                    // Everything before a clear is gone for everyone.
                    room.messages.retain(|seq, _| *seq > message.seq);
                }
                let new = room.messages.insert(message.seq, message.clone()).is_none();
                room.held_seq = room.held_seq.max(message.seq);
                let summary = &mut room.summary;
                if message.seq > summary.last_seq {
                    summary.last_seq = message.seq;
                    if message.is_clear() {
                        // The clear marked its line read for every member.
                        summary.read_seq = message.seq;
                        summary.unread = 0;
                        summary.mentions = 0;
                        room.counted_at = message.seq;
                        room.deletes.clear();
                    } else if message.seq > summary.read_seq && message.counts_for(me) {
                        summary.unread += 1;
                        summary.mentions += i64::from(message.mentions_user(me));
                    }
                }
                if summary.last.as_ref().is_none_or(|l| l.seq <= message.seq) {
                    summary.last = Some(message.preview());
                    summary.last_activity = summary.last_activity.max(message.created_at);
                }
                if let Some(support) = summary.support.as_mut() {
                    support.on_message(message);
                }
                // As in the database: a message shows a hidden room again.
                summary.hidden = false;
                new
            }
            ServerFrame::ReadMark {
                room,
                read_seq,
                last_seq,
                unread,
                mentions,
            } => {
                let me = self.user_id;
                let Some(room) = self.rooms.get_mut(room) else {
                    return false;
                };
                room.recount(me, *read_seq, *last_seq, *unread, *mentions);
                true
            }
            ServerFrame::Changed(change) => {
                let me = self.user_id;
                let Some(room) = self.rooms.get_mut(&change.room) else {
                    return false;
                };
                room.change(me, change);
                true
            }
            ServerFrame::RoomAdded(summary) | ServerFrame::RoomUpdated(summary) => {
                let me = self.user_id;
                match self.rooms.get_mut(&summary.room) {
                    Some(known) => known.merge(me, summary),
                    None => {
                        self.rooms
                            .insert(summary.room, RoomState::new(summary.clone()));
                    }
                }
                true
            }
            ServerFrame::RoomRemoved { room } => self.rooms.remove(room).is_some(),
            ServerFrame::CaughtUp { room, seq } => {
                if let Some(room) = self.rooms.get_mut(room) {
                    room.held_seq = room.held_seq.max(*seq);
                }
                false
            }
            // Who is here, typing, or has read: live only, kept apart
            // (`awareness.rs`), never part of what catch-up restores.
            ServerFrame::Ack(_)
            | ServerFrame::Error(_)
            | ServerFrame::Pong
            | ServerFrame::RoleChanged { .. }
            | ServerFrame::Presence { .. }
            | ServerFrame::Typing { .. }
            | ServerFrame::Seen(_) => false,
        }
    }

    /// Adds older messages fetched over HTTP (history).
    pub fn add_history(&mut self, room: i64, messages: &[MessageView]) {
        if let Some(room) = self.rooms.get_mut(&room) {
            for m in messages {
                room.messages.insert(m.seq, m.clone());
            }
        }
    }

    /// What to put in `Hello` after (re)connecting.
    pub fn cursors(&self) -> Vec<RoomCursor> {
        self.rooms
            .values()
            .map(|r| RoomCursor {
                room: r.summary.room,
                last_seq: r.held_seq,
            })
            .collect()
    }

    pub fn total_unread(&self) -> i64 {
        self.rooms
            .values()
            .filter(|r| self.calls(&r.summary))
            .map(|r| r.summary.unread)
            .sum()
    }

    /// Unread messages that mention the user, in every room (muted ones
    /// too: a mention calls through a mute, as in Slack).
    pub fn total_mentions(&self) -> i64 {
        self.rooms
            .values()
            .filter(|r| self.calls(&r.summary))
            .map(|r| r.summary.mentions)
            .sum()
    }

    /// The conversation a room's lines belong to: itself, or for a notes
    /// room the support conversation it is the notes of.
    pub fn conversation_of<'a>(&'a self, summary: &'a RoomSummary) -> Option<&'a RoomSummary> {
        match summary.notes_of {
            Some(parent) => self.rooms.get(&parent).map(|r| &r.summary),
            None => Some(summary),
        }
    }

    /// Whether new lines in this room call for the user: notes as their
    /// conversation's messages do.
    pub fn calls(&self, summary: &RoomSummary) -> bool {
        self.conversation_of(summary)
            .is_some_and(|c| c.calls(self.user_id))
    }

    /// Unread notes by the support conversation they belong to (one pass,
    /// for a whole queue).
    pub fn unread_notes(&self) -> HashMap<i64, i64> {
        self.rooms
            .values()
            .filter_map(|r| r.summary.notes_of.map(|of| (of, r.summary.unread)))
            .collect()
    }

    /// The notes room of support conversation `room`, once it has one.
    pub fn notes_room(&self, room: i64) -> Option<i64> {
        self.rooms
            .values()
            .find(|r| r.summary.notes_of == Some(room))
            .map(|r| r.summary.room)
    }

    /// The rooms a sidebar lists: not hidden, most recently active first.
    pub fn sidebar(&self) -> Vec<&RoomSummary> {
        let mut rooms: Vec<&RoomSummary> = self
            .rooms
            .values()
            .map(|r| &r.summary)
            .filter(|s| !s.hidden && !s.staffed_by(self.user_id) && s.notes_of.is_none())
            .collect();
        rooms.sort_by(|a, b| {
            b.last_activity
                .cmp(&a.last_activity)
                .then(b.room.cmp(&a.room))
        });
        rooms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::protocol::{MessageKind, RoomKind, PROTOCOL_VERSION};

    fn summary(room: i64, last_seq: i64, read_seq: i64) -> RoomSummary {
        RoomSummary {
            room,
            kind: RoomKind::Group,
            name: format!("room {room}"),
            last_seq,
            read_seq,
            unread: last_seq - read_seq,
            mentions: 0,
            last_activity: 0,
            last: None,
            peer_email: None,
            peer_id: None,
            hidden: false,
            muted: false,
            owner: false,
            support: None,
            notes_of: None,
            trimmed_through: 0,
        }
    }

    fn welcome(rooms: Vec<RoomSummary>) -> ServerFrame {
        ServerFrame::Welcome {
            protocol: PROTOCOL_VERSION,
            user_id: 2,
            rooms,
        }
    }

    fn message(room: i64, seq: i64) -> MessageView {
        MessageView {
            id: seq,
            room,
            seq,
            sender_id: Some(1),
            sender_name: "Ada".into(),
            kind: MessageKind::Text,
            body: format!("m{seq}"),
            created_at: seq * 1000,
            client_id: None,
            ..MessageView::default()
        }
    }

    #[test]
    fn a_trim_drops_what_retention_deleted_live_and_after_a_reconnect() {
        let mut s = ClientState::default();
        s.apply(&welcome(vec![summary(1, 0, 0)]));
        for seq in 1..=4 {
            s.apply(&ServerFrame::Message(message(1, seq)));
        }
        assert_eq!(s.rooms[&1].summary.unread, 4);
        // Live: the room's summary after a cut at 3, the mark moved up to it.
        let mut cut = summary(1, 4, 3);
        cut.trimmed_through = 3;
        cut.last = Some(message(1, 4).preview());
        s.apply(&ServerFrame::RoomUpdated(cut.clone()));
        assert_eq!(
            s.rooms[&1].messages.keys().copied().collect::<Vec<_>>(),
            vec![4]
        );
        assert_eq!(s.rooms[&1].summary.unread, 1);
        // After a reconnect: the welcome says so, and what was held goes.
        let mut away = ClientState::default();
        away.apply(&welcome(vec![summary(1, 0, 0)]));
        for seq in 1..=4 {
            away.apply(&ServerFrame::Message(message(1, seq)));
        }
        away.apply(&welcome(vec![cut]));
        assert_eq!(
            away.rooms[&1].messages.keys().copied().collect::<Vec<_>>(),
            vec![4]
        );
        // A cut of everything takes the preview with it.
        let mut all = summary(1, 4, 4);
        all.trimmed_through = 4;
        s.apply(&ServerFrame::RoomUpdated(all));
        assert!(s.rooms[&1].messages.is_empty());
        assert!(s.rooms[&1].summary.last.is_none());
    }

    #[test]
    fn messages_raise_unread_and_read_marks_lower_it() {
        let mut s = ClientState::default();
        s.apply(&welcome(vec![summary(1, 3, 3)]));
        s.apply(&ServerFrame::Message(message(1, 4)));
        s.apply(&ServerFrame::Message(message(1, 5)));
        assert_eq!(s.rooms[&1].summary.unread, 2);
        assert_eq!(s.total_unread(), 2);
        s.apply(&ServerFrame::ReadMark {
            room: 1,
            read_seq: 5,
            last_seq: 5,
            unread: 0,
            mentions: 0,
        });
        assert_eq!(s.rooms[&1].summary.unread, 0);
        assert_eq!(
            s.cursors(),
            vec![RoomCursor {
                room: 1,
                last_seq: 5
            }]
        );
    }

    #[test]
    fn mentions_count_beside_unread_through_deletes_and_late_counts() {
        use crate::realtime::protocol::{Change, ChangeKind, Person};
        let mut s = ClientState::default();
        s.apply(&welcome(vec![summary(1, 3, 3)]));
        let mut called = message(1, 4);
        called.mentions = vec![Person {
            id: 2,
            name: "Bo".into(),
        }];
        s.apply(&ServerFrame::Message(called.clone()));
        let mut everyone = message(1, 5);
        everyone.mentions_room = true;
        s.apply(&ServerFrame::Message(everyone));
        s.apply(&ServerFrame::Message(message(1, 6)));
        let counts = |s: &ClientState| (s.rooms[&1].summary.unread, s.rooms[&1].summary.mentions);
        assert_eq!(counts(&s), (3, 2));
        assert_eq!(s.total_mentions(), 2);
        // Deleted (the tombstone still names whom it called).
        let mut tombstone = called.clone();
        tombstone.deleted = true;
        tombstone.body.clear();
        s.apply(&ServerFrame::Changed(Change {
            room: 1,
            seq: 7,
            change: ChangeKind::Deleted,
            message: tombstone,
        }));
        assert_eq!(counts(&s), (2, 1));
        // A count the server made before the delete (up to seq 6) comes
        // late: the delete after it is taken off again.
        s.apply(&ServerFrame::ReadMark {
            room: 1,
            read_seq: 3,
            last_seq: 6,
            unread: 3,
            mentions: 2,
        });
        assert_eq!(counts(&s), (2, 1));
        s.apply(&ServerFrame::ReadMark {
            room: 1,
            read_seq: 7,
            last_seq: 7,
            unread: 0,
            mentions: 0,
        });
        assert_eq!(counts(&s), (0, 0));
    }

    #[test]
    fn a_repeated_message_changes_nothing() {
        let mut s = ClientState::default();
        s.apply(&welcome(vec![summary(1, 0, 0)]));
        assert!(s.apply(&ServerFrame::Message(message(1, 1))));
        let before = s.clone();
        assert!(!s.apply(&ServerFrame::Message(message(1, 1))));
        assert_eq!(s, before);
    }

    #[test]
    fn a_clear_line_drops_everything_before_it() {
        let mut s = ClientState::default();
        s.apply(&welcome(vec![summary(1, 0, 0)]));
        for seq in 1..=3 {
            s.apply(&ServerFrame::Message(message(1, seq)));
        }
        let mut clear = message(1, 4);
        clear.kind = MessageKind::System;
        clear.event = Some(crate::realtime::protocol::SystemEvent::Cleared { by: "Ada".into() });
        s.apply(&ServerFrame::Message(clear));
        assert_eq!(
            s.rooms[&1].messages.keys().copied().collect::<Vec<_>>(),
            vec![4]
        );
        assert_eq!(s.rooms[&1].summary.last.as_ref().map(|m| m.seq), Some(4));
    }

    #[test]
    fn the_sidebar_skips_hidden_rooms_and_a_message_shows_them_again() {
        let mut s = ClientState::default();
        let mut hidden = summary(2, 0, 0);
        hidden.hidden = true;
        s.apply(&welcome(vec![summary(1, 0, 0), hidden]));
        assert_eq!(
            s.sidebar().iter().map(|r| r.room).collect::<Vec<_>>(),
            vec![1]
        );
        s.apply(&ServerFrame::Message(message(2, 1)));
        assert_eq!(
            s.sidebar().iter().map(|r| r.room).collect::<Vec<_>>(),
            vec![2, 1],
            "shown again, and first: it has the newest message"
        );
    }

    #[test]
    fn an_older_summary_never_moves_seqs_back() {
        let mut s = ClientState::default();
        s.apply(&welcome(vec![summary(1, 0, 0)]));
        s.apply(&ServerFrame::Message(message(1, 1)));
        s.apply(&ServerFrame::Message(message(1, 2)));
        let mut stale = summary(1, 1, 0);
        stale.name = "renamed".into();
        s.apply(&ServerFrame::RoomUpdated(stale));
        let room = &s.rooms[&1].summary;
        assert_eq!(
            (room.name.as_str(), room.last_seq, room.unread),
            ("renamed", 2, 2)
        );
        assert_eq!(room.last.as_ref().map(|m| m.seq), Some(2));
        s.apply(&ServerFrame::RoomRemoved { room: 1 });
        assert!(s.rooms.is_empty());
    }

    #[test]
    fn reconnect_keeps_held_messages() {
        let mut s = ClientState::default();
        s.apply(&welcome(vec![summary(1, 0, 0)]));
        s.apply(&ServerFrame::Message(message(1, 1)));
        s.apply(&welcome(vec![summary(1, 9, 0)]));
        assert_eq!(s.rooms[&1].messages.len(), 1);
        assert_eq!(s.cursors()[0].last_seq, 1, "held, not the room's last seq");
    }

    #[test]
    fn staff_are_called_by_unassigned_conversations_then_only_the_assignee() {
        use crate::realtime::protocol::{SupportInfo, SupportStatus};
        let me = 5;
        let support = |assignee: Option<i64>| SupportInfo {
            department_id: 1,
            department: "Billing".into(),
            member_id: 9,
            member_name: "Mia".into(),
            status: SupportStatus::Open,
            assignee_id: assignee,
            assignee_name: None,
            waiting_since: None,
            site: None,
        };
        let mut state = ClientState {
            user_id: me,
            ..ClientState::default()
        };
        for (room, assignee) in [(1, None), (2, Some(me)), (3, Some(6))] {
            let mut s = summary(room, 4, 0);
            s.kind = RoomKind::Support;
            s.support = Some(support(assignee));
            state.apply(&ServerFrame::RoomAdded(s));
        }
        state.apply(&ServerFrame::RoomAdded(summary(4, 2, 0)));
        // Unassigned (4) + mine (4) + an ordinary room (2); a colleague's is not counted.
        assert_eq!(state.total_unread(), 10);
        // Staff see support conversations in the queue, not the sidebar.
        let sidebar: Vec<i64> = state.sidebar().iter().map(|s| s.room).collect();
        assert_eq!(sidebar, vec![4]);

        // Notes count with their conversation, called as it is: those of
        // the unassigned one (1) and of a colleague's (3, not counted).
        for (notes, of) in [(11, 1), (13, 3)] {
            let mut s = summary(notes, 3, 0);
            s.kind = RoomKind::Notes;
            s.notes_of = Some(of);
            state.apply(&ServerFrame::RoomAdded(s));
        }
        assert_eq!(state.total_unread(), 13);
        assert_eq!(state.rooms[&1].summary.unread + state.unread_notes()[&1], 7);
        assert_eq!(state.notes_room(3), Some(13));
        assert_eq!(state.notes_room(2), None);
        // Never in the sidebar, and nothing without its conversation.
        let sidebar: Vec<i64> = state.sidebar().iter().map(|s| s.room).collect();
        assert_eq!(sidebar, vec![4]);
        state.apply(&ServerFrame::RoomRemoved { room: 1 });
        assert_eq!(state.total_unread(), 6);
    }
}
