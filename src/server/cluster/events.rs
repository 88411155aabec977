//! What travels between nodes: events (references to rows, never content)
//! and how a round of them is packed into NOTIFY payloads.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{Privacy, Role};
use crate::realtime::hub::SessionKey;
use crate::realtime::protocol::Presence;

/// The NOTIFY channel every node listens on.
pub(super) const CHANNEL: &str = "glasschat";
/// NOTIFY refuses payloads of 8000 bytes or more; stay well below.
const MAX_PAYLOAD: usize = 7_600;

/// Something a socket on another node may need to hear about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum Event {
    /// Seqs `from..=to` of `room` (messages and changes) are stored.
    Message {
        room: i64,
        from: i64,
        to: i64,
    },
    ReadMark {
        user: i64,
        room: i64,
        read_seq: i64,
        last_seq: i64,
        unread: i64,
        #[serde(default)]
        mentions: i64,
    },
    /// The user's summary of the room changed (renamed, hidden, support state).
    Summary {
        user: i64,
        room: i64,
    },
    /// Retention deleted the room's oldest messages: every member with a
    /// socket gets the room's summary (it says how far, and their count).
    Trimmed {
        room: i64,
    },
    /// The user joined the room.
    Joined {
        user: i64,
        room: i64,
    },
    /// The user left or lost the room.
    Left {
        user: i64,
        room: i64,
    },
    EndSession {
        session: SessionKey,
        code: u16,
    },
    EndUser {
        user: i64,
        code: u16,
    },
    RoleChanged {
        user: i64,
        role: Role,
    },
    /// The sender dropped events (its queue overflowed): every node makes
    /// its sockets catch up.
    Resync,
    /// Users on the sending node and their state there (changes, or all of
    /// them after a `Hello`), at most `PRESENCE_PER_EVENT`.
    Presence {
        states: Vec<(i64, Presence)>,
    },
    /// A node started (or heard nothing for a while): every node answers
    /// with its users' presence.
    Hello,
    /// The sending node is alive (sent every `HEARTBEAT`; a node silent
    /// for `NODE_SILENT` is taken for dead and its users for gone).
    Alive,
    /// A member started or stopped typing (not stored).
    Typing {
        room: i64,
        user: i64,
        name: String,
        on: bool,
    },
    /// A member's read mark, as a read receipt.
    Seen {
        room: i64,
        user: i64,
        name: String,
        read_seq: i64,
    },
    /// A user changed their privacy settings.
    Privacy {
        user: i64,
        privacy: Privacy,
    },
}

/// Presence states per event: well inside one NOTIFY.
pub const PRESENCE_PER_EVENT: usize = 200;

/// `states` as events of at most `PRESENCE_PER_EVENT`.
pub fn presence_events(states: &[(i64, Presence)]) -> impl Iterator<Item = Event> + '_ {
    states
        .chunks(PRESENCE_PER_EVENT)
        .map(|part| Event::Presence {
            states: part.to_vec(),
        })
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Envelope {
    pub node: u64,
    /// When the sending node packed it (Unix µs): the metrics' fan-out
    /// lag. Absent from a node of an older build, during a rolling upgrade.
    #[serde(default)]
    pub at_us: i64,
    pub events: Vec<Event>,
}

/// Joins consecutive seqs of one room into a range. Only within a run of
/// message events, so their order against other events is kept.
pub(super) fn merge(events: Vec<Event>) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::with_capacity(events.len());
    let mut open: HashMap<i64, usize> = HashMap::new();
    for event in events {
        if let Event::Message { room, from, to } = event {
            if let Some(&i) = open.get(&room) {
                if let Event::Message { to: last, .. } = &mut out[i] {
                    if *last + 1 == from {
                        *last = to;
                        continue;
                    }
                }
            }
            open.insert(room, out.len());
        } else {
            open.clear();
        }
        out.push(event);
    }
    out
}

/// Envelopes of at most `MAX_PAYLOAD` bytes, events in order.
pub(super) fn pack(node: u64, at_us: i64, events: Vec<Event>) -> Vec<String> {
    let head = format!("{{\"node\":{node},\"at_us\":{at_us},\"events\":[");
    let mut payloads = Vec::new();
    let mut current = head.clone();
    for event in events {
        let Ok(json) = serde_json::to_string(&event) else {
            continue;
        };
        let empty = current.len() == head.len();
        if !empty && current.len() + json.len() + 3 > MAX_PAYLOAD {
            current.push_str("]}");
            payloads.push(std::mem::replace(&mut current, head.clone()));
        }
        if current.len() > head.len() {
            current.push(',');
        }
        current.push_str(&json);
    }
    if current.len() > head.len() {
        current.push_str("]}");
        payloads.push(current);
    }
    payloads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(room: i64, from: i64, to: i64) -> Event {
        Event::Message { room, from, to }
    }

    #[test]
    fn consecutive_seqs_of_a_room_travel_as_one_range() {
        let merged = merge(vec![
            m(1, 5, 5),
            m(2, 9, 9),
            m(1, 6, 6),
            m(1, 7, 7),
            m(2, 11, 11),
        ]);
        assert_eq!(merged, vec![m(1, 5, 7), m(2, 9, 9), m(2, 11, 11)]);
    }

    #[test]
    fn ranges_do_not_jump_over_other_events() {
        let left = Event::Left { user: 3, room: 1 };
        let merged = merge(vec![m(1, 5, 5), left.clone(), m(1, 6, 6)]);
        assert_eq!(merged, vec![m(1, 5, 5), left, m(1, 6, 6)]);
    }

    #[test]
    fn payloads_stay_under_the_notify_limit_and_keep_every_event() {
        let events: Vec<Event> = (0..5_000).map(|i| m(i, i, i)).collect();
        let payloads = pack(42, 7, events.clone());
        assert!(payloads.len() > 1);
        let mut back = Vec::new();
        for payload in &payloads {
            assert!(payload.len() <= MAX_PAYLOAD, "{}", payload.len());
            let envelope: Envelope = serde_json::from_str(payload).unwrap();
            assert_eq!(envelope.node, 42);
            back.extend(envelope.events);
        }
        assert_eq!(back, events);
        assert!(pack(1, 7, Vec::new()).is_empty());
    }

    #[test]
    fn a_full_presence_event_fits_one_notify() {
        let states: Vec<(i64, Presence)> = (0..PRESENCE_PER_EVENT as i64 * 2 + 1)
            .map(|i| (i64::MAX - i, Presence::Online))
            .collect();
        let events: Vec<Event> = presence_events(&states).collect();
        assert_eq!(events.len(), 3);
        for payload in pack(1, 7, events) {
            assert!(payload.len() <= MAX_PAYLOAD, "{}", payload.len());
        }
    }
}
