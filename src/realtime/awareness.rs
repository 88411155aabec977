//! What a client knows about the other people, live: who is present, who
//! is typing where, and how far members have read. Unlike `ClientState`
//! none of it is part of the sync contract: it is not stored, not caught
//! up, and rebuilt from scratch after a reconnect (the server sends where
//! everyone stands when the socket says what it shows).

use std::collections::{BTreeMap, HashMap};

use super::protocol::{
    MessageKind, MessageView, Presence, PresenceView, Reader, RoomKind, RoomSummary, ServerFrame,
    TYPING_SHOWN_MS,
};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Awareness {
    /// Presence of the people this socket shows.
    pub people: HashMap<i64, PresenceView>,
    /// Per room: who is typing (user -> (name, shown until, Unix ms)).
    pub typing: HashMap<i64, BTreeMap<i64, (String, f64)>>,
    /// Per room: how far each member (with receipts on) has read.
    pub readers: HashMap<i64, BTreeMap<i64, Reader>>,
}

/// What a message shows under it about who has read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// A direct chat, or a support conversation seen by staff: the other
    /// side has read up to here.
    Seen,
    /// A group: these members have read the newest message.
    SeenBy(Vec<String>),
}

impl Awareness {
    /// Applies one live frame at time `now` (Unix ms). Returns whether
    /// anything changed.
    pub fn apply(&mut self, me: i64, frame: &ServerFrame, now: f64) -> bool {
        match frame {
            ServerFrame::Presence { users } => {
                for view in users {
                    self.people.insert(view.user, *view);
                }
                !users.is_empty()
            }
            ServerFrame::Typing {
                room,
                user,
                name,
                on,
            } => {
                if *user == me {
                    return false; // the user's own other tabs
                }
                let typists = self.typing.entry(*room).or_default();
                if *on {
                    typists.insert(*user, (name.clone(), now + TYPING_SHOWN_MS as f64));
                    true
                } else {
                    typists.remove(user).is_some()
                }
            }
            ServerFrame::Seen(reader) => self.add_readers(std::slice::from_ref(reader)),
            _ => false,
        }
    }

    /// A message arrived: its sender is no longer typing there.
    pub fn message_arrived(&mut self, message: &MessageView) -> bool {
        let Some(sender) = message.sender_id else {
            return false;
        };
        self.typing
            .get_mut(&message.room)
            .is_some_and(|t| t.remove(&sender).is_some())
    }

    /// Whether some typing is past its time (then `expire` changes something).
    pub fn has_expired(&self, now: f64) -> bool {
        self.typing
            .values()
            .any(|t| t.values().any(|(_, until)| *until <= now))
    }

    /// Stops showing typing that is past its time.
    pub fn expire(&mut self, now: f64) {
        for typists in self.typing.values_mut() {
            typists.retain(|_, (_, until)| *until > now);
        }
        self.typing.retain(|_, t| !t.is_empty());
    }

    /// Read marks, from the server's list or a live frame; a mark never
    /// goes back, so whichever arrives first, the newest wins.
    pub fn add_readers(&mut self, readers: &[Reader]) -> bool {
        let mut changed = false;
        for reader in readers {
            let room = self.readers.entry(reader.room).or_default();
            let newer = room
                .get(&reader.user)
                .is_none_or(|known| known.read_seq < reader.read_seq);
            if newer {
                room.insert(reader.user, reader.clone());
                changed = true;
            }
        }
        changed
    }

    /// The line above a room's composer: "Ada is typing…", "Ada and Bo
    /// are typing…", "Several people are typing…".
    pub fn typing_line(&self, room: i64) -> Option<String> {
        let names: Vec<&str> = self
            .typing
            .get(&room)?
            .values()
            .map(|(name, _)| name.as_str())
            .collect();
        match names.as_slice() {
            [] => None,
            [one] => Some(format!("{one} is typing…")),
            [a, b] => Some(format!("{a} and {b} are typing…")),
            _ => Some("Several people are typing…".to_string()),
        }
    }

    pub fn presence(&self, user: i64) -> Option<PresenceView> {
        self.people.get(&user).copied()
    }

    /// Which message of `room` shows a receipt, and what it says. `messages`
    /// are the ones held, by seq.
    pub fn receipt(
        &self,
        me: i64,
        summary: &RoomSummary,
        messages: &BTreeMap<i64, MessageView>,
    ) -> Option<(i64, Receipt)> {
        let readers = self.readers.get(&summary.room)?;
        let shown = |m: &&MessageView| m.kind == MessageKind::Text && !m.deleted;
        match summary.kind {
            RoomKind::Group => {
                let newest = messages.values().rev().find(shown)?;
                let mut names: Vec<String> = readers
                    .values()
                    .filter(|r| r.user != me && Some(r.user) != newest.sender_id)
                    .filter(|r| r.read_seq >= newest.seq)
                    .map(|r| r.name.clone())
                    .collect();
                names.sort();
                (!names.is_empty()).then_some((newest.seq, Receipt::SeenBy(names)))
            }
            RoomKind::Notes => None,
            RoomKind::Direct | RoomKind::Support => {
                // The other side: the peer, or (for staff) the customer.
                let other = summary.person_for(me)?;
                let read = readers.get(&other)?.read_seq;
                let last = messages
                    .range(..=read)
                    .rev()
                    .map(|(_, m)| m)
                    .filter(shown)
                    .find(|m| m.sender_id.is_some() && m.sender_id != Some(other))?;
                // Only the latest of the user's side is marked: a reply
                // from the other side after it says more than "seen".
                let answered = messages
                    .range(last.seq + 1..)
                    .any(|(_, m)| shown(&m) && m.sender_id == Some(other));
                (!answered).then_some((last.seq, Receipt::Seen))
            }
        }
    }
}

/// "Online", "Away", "Last seen 5 min ago", "Offline".
pub fn presence_label(view: Option<PresenceView>, now: f64) -> String {
    let Some(view) = view else {
        return "Offline".to_string();
    };
    match (view.state, view.last_seen) {
        (Presence::Online, _) => "Online".to_string(),
        (Presence::Away, _) => "Away".to_string(),
        (Presence::Offline, Some(at)) => format!("Last seen {}", ago(now - at as f64)),
        (Presence::Offline, None) => "Offline".to_string(),
    }
}

fn ago(ms: f64) -> String {
    let minutes = (ms / 60_000.0).floor().max(0.0) as i64;
    match minutes {
        0 => "just now".to_string(),
        1..=59 => format!("{minutes} min ago"),
        60..=1439 => format!("{} h ago", minutes / 60),
        _ => format!("{} d ago", minutes / 1440),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(room: i64, seq: i64, sender: i64) -> MessageView {
        MessageView {
            room,
            seq,
            sender_id: Some(sender),
            body: format!("m{seq}"),
            ..MessageView::default()
        }
    }

    fn reader(room: i64, user: i64, name: &str, read_seq: i64) -> Reader {
        Reader {
            room,
            user,
            name: name.to_string(),
            read_seq,
        }
    }

    fn summary(kind: RoomKind, peer: Option<i64>) -> RoomSummary {
        RoomSummary {
            room: 1,
            kind,
            name: String::new(),
            last_seq: 0,
            read_seq: 0,
            unread: 0,
            mentions: 0,
            last_activity: 0,
            last: None,
            peer_email: None,
            peer_id: peer,
            hidden: false,
            muted: false,
            owner: false,
            support: None,
            notes_of: None,
            trimmed_through: 0,
        }
    }

    #[test]
    fn typing_reads_like_a_sentence_and_expires() {
        let mut a = Awareness::default();
        let typing = |user, name: &str, on| ServerFrame::Typing {
            room: 1,
            user,
            name: name.into(),
            on,
        };
        assert!(!a.apply(9, &typing(9, "Me", true), 0.0), "my own tabs");
        a.apply(9, &typing(1, "Ada", true), 0.0);
        assert_eq!(a.typing_line(1).as_deref(), Some("Ada is typing…"));
        a.apply(9, &typing(2, "Bo", true), 1_000.0);
        assert_eq!(a.typing_line(1).as_deref(), Some("Ada and Bo are typing…"));
        a.apply(9, &typing(3, "Cy", true), 1_000.0);
        assert_eq!(
            a.typing_line(1).as_deref(),
            Some("Several people are typing…")
        );
        a.message_arrived(&message(1, 5, 3));
        a.apply(9, &typing(2, "Bo", false), 1_000.0);
        assert!(a.has_expired(6_000.0));
        a.expire(6_000.0);
        assert_eq!(a.typing_line(1), None, "Ada's is 6 s old");
    }

    #[test]
    fn a_direct_chat_marks_the_last_message_the_peer_read() {
        let mut a = Awareness::default();
        let me = 9;
        let room = summary(RoomKind::Direct, Some(4));
        let messages: BTreeMap<i64, MessageView> = [message(1, 1, me), message(1, 2, me)]
            .into_iter()
            .map(|m| (m.seq, m))
            .collect();
        assert_eq!(a.receipt(me, &room, &messages), None);
        a.add_readers(&[reader(1, 4, "Bo", 1)]);
        assert_eq!(a.receipt(me, &room, &messages), Some((1, Receipt::Seen)));
        a.apply(me, &ServerFrame::Seen(reader(1, 4, "Bo", 2)), 0.0);
        assert_eq!(a.receipt(me, &room, &messages), Some((2, Receipt::Seen)));
        assert!(!a.add_readers(&[reader(1, 4, "Bo", 1)]), "never back");
    }

    #[test]
    fn a_group_counts_who_read_the_newest_message() {
        let mut a = Awareness::default();
        let me = 9;
        let room = summary(RoomKind::Group, None);
        let messages: BTreeMap<i64, MessageView> = [message(1, 1, 4), message(1, 2, me)]
            .into_iter()
            .map(|m| (m.seq, m))
            .collect();
        a.add_readers(&[
            reader(1, 4, "Bo", 2),
            reader(1, 5, "Al", 2),
            reader(1, 6, "Cy", 1),
        ]);
        assert_eq!(
            a.receipt(me, &room, &messages),
            Some((2, Receipt::SeenBy(vec!["Al".into(), "Bo".into()])))
        );
    }

    #[test]
    fn last_seen_reads_as_time_ago() {
        let view = |state, last_seen| {
            Some(PresenceView {
                user: 1,
                state,
                last_seen,
            })
        };
        let now = 10_000_000.0;
        assert_eq!(presence_label(view(Presence::Online, None), now), "Online");
        assert_eq!(
            presence_label(view(Presence::Offline, Some(10_000_000 - 7_200_000)), now),
            "Last seen 2 h ago"
        );
        assert_eq!(
            presence_label(view(Presence::Offline, Some(10_000_000 - 30_000)), now),
            "Last seen just now"
        );
        assert_eq!(presence_label(None, now), "Offline");
    }
}
