//! Web Push: a person's devices, and the pass that pushes what the outbox
//! says is due.
//!
//! A message that notifies someone (a direct message, a mention, a support
//! conversation's call) has an outbox row, written with the message. Once
//! it is `grace_secs` old, a node takes it (`store/push.rs`); if the
//! message is still unread, still wanted (a muted room only for a
//! mention), and its person has no tab in use on any node, each of their
//! devices gets one push per conversation: the newest message, or how many
//! came. The service worker shows one notification per conversation
//! (`public/sw.js`, tag `room-ID`). When the conversation is then read on
//! any device, a closing push takes the notification away.
//!
//! A push says who wrote and where; the text only if its person allowed
//! previews (a push service sees only ciphertext either way, but a locked
//! screen shows what the notification says).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures::StreamExt;
use serde::Serialize;

use super::digests::{conversation_title, first_line};
use crate::model::{PushDeviceView, PushSettingsView};
use crate::realtime::protocol::MessageView;
use crate::server::config::Config;
use crate::server::state::AppState;
use crate::server::store::{
    now_ms, DuePush, NewDevice, PushDeviceRow, PushTargetRow, Store, StoreError,
};
use crate::server::webpush::{device_keys, Delivery, EndpointError, PushTarget, Pusher, Urgency};

/// Devices per account; subscribing one more drops the oldest (a browser
/// that was reset leaves its old subscription behind).
pub const MAX_DEVICES: i64 = 20;
const LABEL_CHARS: usize = 60;
/// Outbox rows taken per pass.
const PER_PASS: i64 = 500;
/// Seqs listed in a push (it stays well under the 4 KiB push services take).
const LISTED_SEQS: usize = 50;
/// People pushed to at once in a pass.
const CONCURRENT_PEOPLE: usize = 8;
/// How often each node looks for shown notifications of conversations
/// read (or left) in ways that close nothing at once: a read mark closes
/// its own (`read_moved`), so this scan of every shown notification runs
/// rarely.
const CLOSE_SWEEP: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("this device receives notifications for another account")]
    Taken,
    #[error("no such device")]
    NotFound,
    #[error("push notifications are not available on this server")]
    Unavailable,
    #[error("too many changes, retry in {0:?}")]
    SlowDown(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The sender, built at start once the master key is unlocked.
pub fn pusher(config: &Config, store: &Store) -> Option<Pusher> {
    let vapid = store.keys.vapid()?;
    // RFC 8292's `sub`: an https address or a mailto: push services can
    // reach the operator by.
    let contact = match &config.email {
        Some(email) if !config.public_origin.starts_with("https://") => {
            format!("mailto:{}", email.from.email)
        }
        _ => config.public_origin.clone(),
    };
    if config.push.loopback_endpoints {
        tracing::warn!("GLASSCHAT_PUSH_TEST_ENDPOINTS is set: push endpoints on loopback over http are accepted (tests only)");
    }
    match Pusher::new(vapid, contact, config.push.loopback_endpoints) {
        Ok(pusher) => Some(pusher),
        Err(e) => {
            tracing::error!(error = %e, "push is off: cannot build its HTTP client");
            None
        }
    }
}

fn device_view(row: PushDeviceRow) -> PushDeviceView {
    PushDeviceView {
        id: row.id,
        label: row.label,
        created_at: row.created_at,
        last_push_at: row.last_push_at,
    }
}

/// The settings page's view of `user`'s push notifications.
pub async fn settings(state: &AppState, user: i64) -> Result<PushSettingsView, DeviceError> {
    let pusher = state.pusher.as_ref().ok_or(DeviceError::Unavailable)?;
    state
        .lookup_limiter
        .check(user)
        .map_err(DeviceError::SlowDown)?;
    Ok(PushSettingsView {
        public_key: pusher.public_key(),
        previews: state.store.push_previews(user).await?,
        devices: state
            .store
            .push_devices(user)
            .await?
            .into_iter()
            .map(device_view)
            .collect(),
    })
}

/// Turns pushes on for a browser: its subscription's endpoint and keys as
/// `PushSubscription.toJSON()` gives them, and what it calls itself.
pub async fn subscribe(
    state: &AppState,
    user: i64,
    endpoint: &str,
    p256dh: &str,
    auth: &str,
    label: &str,
) -> Result<PushDeviceView, DeviceError> {
    let pusher = state.pusher.as_ref().ok_or(DeviceError::Unavailable)?;
    pusher.check(endpoint)?;
    device_keys(p256dh, auth)?;
    state
        .change_limiter
        .check(user)
        .map_err(DeviceError::SlowDown)?;
    let label: String = label
        .chars()
        .filter(|c| !c.is_control())
        .take(LABEL_CHARS)
        .collect();
    let label = match label.trim() {
        "" => "A browser",
        name => name,
    };
    let device = NewDevice {
        user_id: user,
        endpoint,
        p256dh,
        auth,
        label,
        now: now_ms(),
    };
    let row = state
        .store
        .add_push_device(&device, MAX_DEVICES)
        .await?
        .ok_or(DeviceError::Taken)?;
    Ok(device_view(row))
}

pub async fn remove(state: &AppState, user: i64, id: i64) -> Result<(), DeviceError> {
    state
        .change_limiter
        .check(user)
        .map_err(DeviceError::SlowDown)?;
    if state.store.remove_push_device(user, id).await? {
        Ok(())
    } else {
        Err(DeviceError::NotFound)
    }
}

pub async fn set_previews(state: &AppState, user: i64, on: bool) -> Result<(), DeviceError> {
    state
        .change_limiter
        .check(user)
        .map_err(DeviceError::SlowDown)?;
    state.store.set_push_previews(user, on).await?;
    Ok(())
}

/// Runs the push pass every `check_ms` on this node.
pub fn spawn_push(state: AppState) {
    let Some(pusher) = state.pusher.clone() else {
        return;
    };
    tokio::spawn(async move {
        let every = Duration::from_millis(state.config.push.check_ms);
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_sweep = tokio::time::Instant::now();
        loop {
            ticks.tick().await;
            if let Err(e) = push_due(&state, &pusher).await {
                tracing::warn!(error = %e, "push pass failed");
            }
            if last_sweep.elapsed() >= CLOSE_SWEEP {
                last_sweep = tokio::time::Instant::now();
                if let Err(e) = close_read(&state, &pusher).await {
                    tracing::warn!(error = %e, "closing pushes failed");
                }
            }
        }
    });
}

/// What the service worker gets (JSON, encrypted for the device).
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Payload {
    /// Show (or replace) the conversation's notification.
    Message {
        tag: String,
        title: String,
        body: String,
        /// The newest message in a line ("Ada: text", or "the last from
        /// Ada"), for a notification that adds this push to one shown.
        latest: String,
        /// Where a click leads: the first unread message of this push.
        url: String,
        room: i64,
        /// The newest message this push covers.
        seq: i64,
        /// How many messages it covers.
        count: usize,
        /// Their seqs (the first `LISTED_SEQS`): the service worker counts
        /// only those newer than what it shows, so a push repeated after a
        /// crash alerts nobody twice.
        seqs: Vec<i64>,
    },
    /// The conversation was read up to `seq`: close its notification.
    Close { tag: String, room: i64, seq: i64 },
}

fn tag(room: i64) -> String {
    format!("room-{room}")
}

/// The push service's `Topic` for a conversation: a push for it replaces
/// one the device has not fetched yet. Keyed, so the push service does not
/// learn room ids.
fn topic(state: &AppState, room: i64) -> String {
    match state.store.keys.links() {
        Some(key) => URL_SAFE_NO_PAD.encode(key.sign(format!("push topic {room}").as_bytes())),
        None => tag(room),
    }
}

/// One conversation's push: the title names the conversation, the body
/// who wrote and (with previews) what.
fn message_payload(
    room: i64,
    title: String,
    messages: &[MessageView],
    mentioned: bool,
    previews: bool,
) -> Option<Payload> {
    let (first, last) = (messages.first()?, messages.last()?);
    let count = messages.len();
    let latest = if previews {
        format!("{}: {}", last.sender_name, first_line(last))
    } else {
        format!("the last from {}", last.sender_name)
    };
    let body = match (count, previews) {
        (1, true) => latest.clone(),
        (1, false) if mentioned => format!("{} mentioned you", last.sender_name),
        (1, false) => format!("New message from {}", last.sender_name),
        (n, _) => format!("{n} new messages · {latest}"),
    };
    Some(Payload::Message {
        tag: tag(room),
        title,
        body,
        latest,
        url: format!("/c/{room}/{}", first.seq),
        room,
        seq: last.seq,
        count,
        seqs: messages.iter().take(LISTED_SEQS).map(|m| m.seq).collect(),
    })
}

/// Takes what is due and pushes it, person by person; each person's rows
/// are finished as soon as their pushes are out.
async fn push_due(state: &AppState, pusher: &Pusher) -> Result<(), StoreError> {
    let now = now_ms();
    let grace = (state.config.push.grace_secs * 1000) as i64;
    let lease = (state.config.push.lease_secs * 1000) as i64;
    let taken = state
        .store
        .take_due_pushes(now, now - grace, now - lease, PER_PASS)
        .await?;
    let mut per_person: BTreeMap<i64, Vec<DuePush>> = BTreeMap::new();
    for row in taken {
        per_person.entry(row.user_id).or_default().push(row);
    }
    futures::stream::iter(per_person)
        .for_each_concurrent(CONCURRENT_PEOPLE, |(user, rows)| async move {
            if let Err(e) = push_to(state, pusher, user, &rows).await {
                tracing::warn!(user_id = user, error = %e, "push not sent");
            }
        })
        .await;
    Ok(())
}

async fn push_to(
    state: &AppState,
    pusher: &Pusher,
    user_id: i64,
    rows: &[DuePush],
) -> Result<(), StoreError> {
    let mut undecided: Vec<i64> = rows.iter().map(|r| r.id).collect();
    // Someone using a tab sees the message there.
    if !state.hub.in_use(user_id) {
        let due: Vec<(i64, i64, bool)> =
            rows.iter().map(|r| (r.room_id, r.seq, r.mention)).collect();
        let unread = state.store.unread_of_due(user_id, &due).await?;
        let targets = if unread.is_empty() {
            Vec::new()
        } else {
            state.store.push_targets(user_id).await?
        };
        if let (false, Some(user)) = (targets.is_empty(), state.store.user_by_id(user_id).await?) {
            let previews = state.store.push_previews(user_id).await?;
            for (room, messages) in &unread {
                let Some(about) = state.store.digest_room(*room, user_id).await? else {
                    continue;
                };
                let mentioned = rows.iter().any(|r| {
                    r.room_id == *room && r.mention && messages.iter().any(|m| m.seq == r.seq)
                });
                let title = conversation_title(&about, &user);
                let Some(payload) = message_payload(*room, title, messages, mentioned, previews)
                else {
                    continue;
                };
                deliver(state, pusher, &targets, &payload, *room, Urgency::High).await?;
                // Recorded at once: a crash repeats at most this push.
                let pushed: Vec<i64> = rows
                    .iter()
                    .filter(|r| r.room_id == *room)
                    .map(|r| r.id)
                    .collect();
                state.store.finish_pushes(&pushed).await?;
                undecided.retain(|id| !pushed.contains(id));
                if let Some(last) = messages.last() {
                    state
                        .store
                        .note_push_shown(user_id, *room, last.seq)
                        .await?;
                    // Read while this push was on its way: the reader found
                    // nothing to close yet, so the pusher closes it.
                    close_if_read(state, pusher, user_id, *room, &targets).await?;
                }
            }
        }
    }
    state.store.finish_pushes(&undecided).await
}

/// Sends one payload to each of a person's devices; forgets the devices
/// their push service says are gone.
async fn deliver(
    state: &AppState,
    pusher: &Pusher,
    targets: &[PushTargetRow],
    payload: &Payload,
    room: i64,
    urgency: Urgency,
) -> Result<(), StoreError> {
    let Ok(bytes) = serde_json::to_vec(payload) else {
        return Ok(());
    };
    let topic = topic(state, room);
    for target in targets {
        let to = PushTarget {
            endpoint: &target.endpoint,
            p256dh: &target.p256dh,
            auth: &target.auth,
        };
        match pusher.send(to, &bytes, &topic, urgency).await {
            Ok(Delivery::Accepted) => state.store.note_push_sent(target.id, now_ms()).await?,
            Ok(Delivery::Gone) => {
                tracing::info!(device = target.id, "push subscription gone: forgotten");
                state.store.forget_push_device(target.id).await?;
            }
            Ok(Delivery::Refused(status)) => {
                tracing::warn!(
                    device = target.id,
                    status,
                    "push refused by the push service"
                )
            }
            Err(e) => tracing::warn!(device = target.id, error = %e, "push not delivered"),
        }
    }
    Ok(())
}

/// `user` read `room` further: its shown notification, if read up to,
/// goes away on every device (the closing push is sent in the background;
/// the read mark does not wait for push services).
pub async fn read_moved(state: &AppState, user: i64, room: i64) -> Result<(), StoreError> {
    let Some(pusher) = state.pusher.clone() else {
        return Ok(());
    };
    let Some(seq) = state.store.take_read_push(user, room).await? else {
        return Ok(());
    };
    let state = state.clone();
    tokio::spawn(async move {
        let sent = match state.store.push_targets(user).await {
            Ok(targets) => close(&state, &pusher, &targets, room, seq).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::warn!(user_id = user, room, error = %e, "closing push not sent");
        }
    });
    Ok(())
}

async fn close_if_read(
    state: &AppState,
    pusher: &Pusher,
    user: i64,
    room: i64,
    targets: &[PushTargetRow],
) -> Result<(), StoreError> {
    match state.store.take_read_push(user, room).await? {
        Some(seq) => close(state, pusher, targets, room, seq).await,
        None => Ok(()),
    }
}

async fn close(
    state: &AppState,
    pusher: &Pusher,
    targets: &[PushTargetRow],
    room: i64,
    seq: i64,
) -> Result<(), StoreError> {
    let payload = Payload::Close {
        tag: tag(room),
        room,
        seq,
    };
    deliver(state, pusher, targets, &payload, room, Urgency::Normal).await
}

/// Closes the notifications of conversations read or left since they were
/// pushed, whatever the way (the sweep behind `read_moved`).
async fn close_read(state: &AppState, pusher: &Pusher) -> Result<(), StoreError> {
    for (user, room, seq) in state.store.take_read_pushes().await? {
        let targets = state.store.push_targets(user).await?;
        close(state, pusher, &targets, room, seq).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: i64, sender: &str, body: &str) -> MessageView {
        MessageView {
            room: 7,
            seq,
            sender_name: sender.into(),
            body: body.into(),
            ..MessageView::default()
        }
    }

    #[test]
    fn a_push_names_sender_and_room_and_shows_text_only_with_previews() {
        let one = [message(4, "Ada", "the secret plan\nline two")];
        let Some(Payload::Message { body, url, .. }) =
            message_payload(7, "Ada".into(), &one, false, false)
        else {
            panic!("a message payload");
        };
        assert_eq!(body, "New message from Ada");
        assert_eq!(url, "/c/7/4");

        let Some(Payload::Message { body, .. }) =
            message_payload(7, "#ops".into(), &one, true, false)
        else {
            panic!("a message payload");
        };
        assert_eq!(body, "Ada mentioned you");

        let Some(Payload::Message { body, .. }) =
            message_payload(7, "Ada".into(), &one, false, true)
        else {
            panic!("a message payload");
        };
        assert_eq!(body, "Ada: the secret plan");
    }

    #[test]
    fn several_messages_collapse_into_one_push_per_room() {
        let three = [
            message(4, "Ada", "one"),
            message(5, "Bob", "two"),
            message(9, "Ada", "three"),
        ];
        let payload = message_payload(7, "#ops".into(), &three, false, false);
        assert_eq!(
            payload,
            Some(Payload::Message {
                tag: "room-7".into(),
                title: "#ops".into(),
                body: "3 new messages · the last from Ada".into(),
                latest: "the last from Ada".into(),
                url: "/c/7/4".into(),
                room: 7,
                seq: 9,
                count: 3,
                seqs: vec![4, 5, 9],
            })
        );
        let json = serde_json::to_value(&payload).unwrap();
        assert_eq!(json["kind"], "message");
        assert!(message_payload(7, "x".into(), &[], false, false).is_none());
    }
}
