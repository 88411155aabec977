//! What travels between nodes: events (references to rows; new messages
//! with their frames sealed, when they fit) and how a round of them is
//! packed into NOTIFY payloads.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::model::{Privacy, Role};
use crate::realtime::hub::SessionKey;
use crate::realtime::protocol::Presence;
use crate::server::crypto::Keyring;

/// The NOTIFY channel every node listens on.
pub(super) const CHANNEL: &str = "glasschat";
/// NOTIFY refuses payloads of 8000 bytes or more; stay well below.
const MAX_PAYLOAD: usize = 7_600;
/// The most frame bytes one message event carries: sealed and in base64
/// (4/3) with the event around it, well inside one payload. Longer runs
/// travel as references and are read back from the database.
const CARRY_MAX: usize = 5_000;

/// Something a socket on another node may need to hear about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum Event {
    /// Seqs `from..=to` of `room` (messages and changes) are stored.
    Message {
        room: i64,
        from: i64,
        to: i64,
        /// Their frames, sealed (`carry`): the receiving node hands them
        /// out without reading the rows back. Absent when they did not
        /// fit, and from a node of an older build.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sealed: Option<SealedFrames>,
        /// On the sending node, until sealed: the frames of `from..=to`
        /// in seq order (empty when not all are at hand).
        #[serde(skip)]
        frames: Vec<Utf8Bytes>,
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

/// A run of frames sealed with the current data key (AEAD bound to the
/// room and the seqs): content in Postgres's notification queue stays
/// encrypted, as it is in the messages table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedFrames {
    /// The data key's id.
    k: i64,
    /// The nonce, base64.
    n: String,
    /// The frames joined by newlines (JSON has none of its own), sealed,
    /// base64.
    b: String,
}

impl Event {
    /// Seqs `from..=to` of `room` are stored; `frames` are theirs, in seq
    /// order.
    pub fn messages(room: i64, from: i64, to: i64, frames: Vec<Utf8Bytes>) -> Event {
        Event::Message {
            room,
            from,
            to,
            sealed: None,
            frames,
        }
    }
}

/// Whether `frames` are one per seq of `from..=to`.
fn covers(frames: &[Utf8Bytes], from: i64, to: i64) -> bool {
    frames.len() as i64 == to - from + 1
}

/// Seals each message event's frames into it, where they are all at hand
/// and fit `CARRY_MAX`; the others stay references.
pub(super) fn carry(keys: &Keyring, events: &mut [Event]) {
    for event in events {
        let Event::Message {
            room,
            from,
            to,
            sealed,
            frames,
        } = event
        else {
            continue;
        };
        let frames = std::mem::take(frames);
        let size: usize = frames.iter().map(|f| f.len() + 1).sum();
        if !covers(&frames, *from, *to)
            || size > CARRY_MAX
            || frames.iter().any(|f| f.as_str().contains('\n'))
        {
            continue;
        }
        let plain = frames
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        if let Ok(s) = keys.seal_announcement(*room, *from, *to, plain.as_bytes()) {
            *sealed = Some(SealedFrames {
                k: s.key_id,
                n: BASE64.encode(&s.nonce),
                b: BASE64.encode(&s.body),
            });
        }
    }
}

/// The frames a message event carries, one per seq of `from..=to`; None
/// when it carries none, or they do not open (a data key this node has
/// not loaded yet, say): the rows are read back instead.
pub(super) fn carried(
    keys: &Keyring,
    (room, from, to): (i64, i64, i64),
    sealed: &SealedFrames,
) -> Option<Vec<Utf8Bytes>> {
    let nonce = BASE64.decode(&sealed.n).ok()?;
    let body = BASE64.decode(&sealed.b).ok()?;
    let plain = keys
        .open_announcement((room, from, to), sealed.k, &nonce, &body)
        .ok()?;
    let text = String::from_utf8(plain).ok()?;
    let frames: Vec<Utf8Bytes> = text.split('\n').map(Utf8Bytes::from).collect();
    covers(&frames, from, to).then_some(frames)
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
        if let Event::Message {
            room,
            from,
            to,
            ref frames,
            ..
        } = event
        {
            if let Some(&i) = open.get(&room) {
                if let Event::Message {
                    from: first,
                    to: last,
                    frames: held,
                    ..
                } = &mut out[i]
                {
                    if *last + 1 == from {
                        // The frames stay whole only if both runs had all.
                        let whole = covers(held, *first, *last) && covers(frames, from, to);
                        if whole {
                            held.extend(frames.iter().cloned());
                        } else {
                            held.clear();
                        }
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
        Event::messages(room, from, to, Vec::new())
    }

    fn frames(from: i64, to: i64) -> Vec<Utf8Bytes> {
        (from..=to)
            .map(|seq| Utf8Bytes::from(format!("{{\"seq\":{seq}}}")))
            .collect()
    }

    fn keyring() -> Keyring {
        let master = crate::server::crypto::MasterKey::generate();
        crate::server::crypto::test_keyring(&master, &[1]).0
    }

    #[test]
    fn merged_runs_keep_their_frames_only_when_both_had_all() {
        let merged = merge(vec![
            Event::messages(1, 5, 6, frames(5, 6)),
            Event::messages(1, 7, 7, frames(7, 7)),
            Event::messages(2, 3, 3, frames(3, 3)),
            m(2, 4, 4),
        ]);
        assert_eq!(
            merged,
            vec![Event::messages(1, 5, 7, frames(5, 7)), m(2, 3, 4)]
        );
    }

    #[test]
    fn carried_frames_open_only_for_their_room_and_seqs_and_only_when_they_fit() {
        let keys = keyring();
        let mut events = vec![
            Event::messages(7, 41, 43, frames(41, 43)),
            Event::messages(7, 44, 45, frames(44, 44)),
            Event::messages(8, 1, 1, vec![Utf8Bytes::from("x".repeat(CARRY_MAX + 1))]),
        ];
        carry(&keys, &mut events);
        let sealed: Vec<Option<SealedFrames>> = events
            .iter()
            .map(|e| match e {
                Event::Message { sealed, .. } => sealed.clone(),
                _ => None,
            })
            .collect();
        let first = sealed[0]
            .clone()
            .expect("three frames that fit are carried");
        assert!(sealed[1].is_none(), "a run missing a frame is a reference");
        assert!(sealed[2].is_none(), "a run too long is a reference");
        let opened = carried(&keys, (7, 41, 43), &first).expect("opens");
        assert_eq!(opened, frames(41, 43));
        assert!(
            carried(&keys, (6, 41, 43), &first).is_none(),
            "another room"
        );
        assert!(carried(&keys, (7, 41, 44), &first).is_none(), "other seqs");
        assert!(
            carried(&keyring(), (7, 41, 43), &first).is_none(),
            "another key"
        );
        // It travels, and stays inside one payload.
        let payloads = pack(1, 7, events);
        let envelope: Envelope = serde_json::from_str(&payloads[0]).unwrap();
        match &envelope.events[0] {
            Event::Message { sealed, frames, .. } => {
                assert_eq!(sealed.as_ref(), Some(&first));
                assert!(frames.is_empty());
            }
            other => panic!("{other:?}"),
        }
        let mut full = vec![Event::messages(
            9,
            1,
            1,
            vec![Utf8Bytes::from("y".repeat(CARRY_MAX - 1))],
        )];
        carry(&keys, &mut full);
        for payload in pack(u64::MAX, i64::MAX, full) {
            assert!(payload.len() <= MAX_PAYLOAD, "{}", payload.len());
            assert!(payload.contains("\"sealed\""));
        }
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

    proptest::proptest! {
        /// What another node sends is read by this one: a sealed run with
        /// any nonce or body, or one with a byte changed, opens to nothing
        /// (and is read back instead), never to wrong frames or a panic.
        #[test]
        fn a_carried_run_that_is_not_as_sealed_does_not_open(
            nonce in "[A-Za-z0-9+/=]{0,48}",
            body in "[A-Za-z0-9+/=]{0,200}",
            flip in 0usize..64,
        ) {
            let keys = keyring();
            let forged = SealedFrames { k: 1, n: nonce, b: body };
            proptest::prop_assert!(carried(&keys, (7, 1, 1), &forged).is_none());
            let mut events = vec![Event::messages(7, 1, 2, frames(1, 2))];
            carry(&keys, &mut events);
            let Event::Message { sealed: Some(sealed), .. } = &events[0] else {
                panic!("two short frames are carried");
            };
            let mut bytes = BASE64.decode(&sealed.b).unwrap();
            let at = flip % bytes.len();
            bytes[at] ^= 1;
            let tampered = SealedFrames { b: BASE64.encode(&bytes), ..sealed.clone() };
            proptest::prop_assert!(carried(&keys, (7, 1, 2), &tampered).is_none());
        }
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
