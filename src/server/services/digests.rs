//! Missed-message email: when a message that notifies someone (a direct
//! message, a mention, a support conversation's call: the writer puts a
//! row in the outbox with it) is still unread after the delay that person
//! picked (off, 15 minutes or 1 hour; 1 hour by default), they get one
//! digest listing the conversations and their first lines, with links. The
//! rows the digest covers leave the outbox before the mail is sent, in one
//! statement that only one node can win: no digest is sent twice; a crash
//! between the two loses that one digest (said in docs/protocol.md).
//!
//! Every digest has an unsubscribe link that works without signing in: it
//! carries the account id signed with a key derived from the master key.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::model::EmailSettingsView;
use crate::realtime::protocol::MessageView;
use crate::server::mail::{Mail, Mailer};
use crate::server::state::AppState;
use crate::server::store::{now_ms, DigestRoom, StoreError, UserRow};

/// The delays a person may pick, in minutes (0: no digests).
pub const DELAYS: [i64; 3] = [0, 15, 60];
/// Outbox rows nobody took within this long are dropped (the longest
/// delay, with room to spare for a node that was down).
const KEEP_ROWS: Duration = Duration::from_secs(3 * 60 * 60);
/// People served per pass (the next pass takes the rest).
const PER_PASS: i64 = 200;
/// Lines shown per conversation; the rest are counted.
const LINES_PER_ROOM: usize = 5;
const LINE_CHARS: usize = 140;

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("pick a delay of 0, 15 or 60 minutes")]
    BadDelay,
    #[error("the unsubscribe link is not valid")]
    BadLink,
    #[error("too many changes, retry in {0:?}")]
    SlowDown(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs the digest pass every `check_secs` when email is set up; without
/// it, only drops outbox rows nobody will take.
pub fn spawn_digests(state: AppState) {
    let every = state
        .config
        .email
        .as_ref()
        .map_or(Duration::from_secs(600), |e| {
            Duration::from_secs(e.check_secs)
        });
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            if let Some(mailer) = &state.mailer {
                if let Err(e) = send_due(&state, mailer).await {
                    tracing::warn!(error = %e, "digest pass failed");
                }
            }
            let before = now_ms() - KEEP_ROWS.as_millis() as i64;
            if let Err(e) = state.store.delete_stale_notifications(before).await {
                tracing::warn!(error = %e, "could not drop old outbox rows");
            }
        }
    });
}

/// One pass: every person who is due gets their digest.
async fn send_due(state: &AppState, mailer: &Mailer) -> Result<(), StoreError> {
    state.store.delete_unwanted_notifications().await?;
    let mut per_person: BTreeMap<i64, Vec<(i64, i64, bool)>> = BTreeMap::new();
    for (user, room, seq, mention) in state.store.take_due_digests(now_ms(), PER_PASS).await? {
        per_person
            .entry(user)
            .or_default()
            .push((room, seq, mention));
    }
    for (user_id, due) in per_person {
        let unread = state.store.unread_of_due(user_id, &due).await?;
        if unread.is_empty() {
            continue; // read meanwhile, muted, or gone
        }
        let Some(user) = state.store.user_by_id(user_id).await? else {
            continue;
        };
        let mut rooms = Vec::with_capacity(unread.len());
        for (room, messages) in unread {
            let title = match state.store.digest_room(room, user_id).await? {
                Some(about) => conversation_title(&about, &user),
                None => continue,
            };
            rooms.push((title, messages));
        }
        let delay = state.store.email_delay(user_id).await?;
        let unsubscribe = unsubscribe_links(state, user_id);
        let (subject, text) = compose(
            &state.config.public_origin,
            &user,
            &rooms,
            delay,
            unsubscribe.as_ref().map(|u| u.page.as_str()),
        );
        let mail = Mail {
            to_name: &user.display_name,
            to_email: &user.email,
            subject: &subject,
            text,
            unsubscribe: unsubscribe.as_ref().map(|u| u.one_click.as_str()),
        };
        match mailer.send(mail).await {
            Ok(()) => tracing::info!(user_id, rooms = rooms.len(), "digest sent"),
            Err(e) => tracing::warn!(user_id, error = %e, "digest not sent"),
        }
    }
    Ok(())
}

/// A conversation's name as `reader` knows it (pushes use it too).
pub fn conversation_title(about: &DigestRoom, reader: &UserRow) -> String {
    let or = |name: &Option<String>, fallback: &str| {
        name.clone().unwrap_or_else(|| fallback.to_string())
    };
    match about.kind.as_str() {
        "direct" => or(&about.other, "Direct message"),
        "group" => format!("#{}", or(&about.name, "group")),
        "support" if about.member_id == Some(reader.id) => {
            format!("Support · {}", or(&about.department, "support"))
        }
        "support" => format!(
            "{} (support, {})",
            or(&about.member, "a member"),
            or(&about.department, "no department")
        ),
        "notes" => "Internal notes".to_string(),
        _ => "A conversation".to_string(),
    }
}

/// The subject and the text of a digest.
fn compose(
    origin: &str,
    user: &UserRow,
    rooms: &[(String, Vec<MessageView>)],
    delay: i64,
    unsubscribe: Option<&str>,
) -> (String, String) {
    let total: usize = rooms.iter().map(|(_, m)| m.len()).sum();
    let messages = if total == 1 { "message" } else { "messages" };
    let subject = match rooms {
        [(title, _)] => format!("{total} unread {messages} from {title}"),
        _ => format!("{total} unread {messages} in {} conversations", rooms.len()),
    };
    let mut text = format!(
        "Hello {},\n\nyou have {total} unread {messages} in Glasschat.\n",
        user.display_name
    );
    for (title, list) in rooms {
        text.push_str(&format!("\n{title}\n"));
        for message in list.iter().take(LINES_PER_ROOM) {
            text.push_str(&format!(
                "  {}: {}\n",
                message.sender_name,
                first_line(message)
            ));
        }
        if list.len() > LINES_PER_ROOM {
            text.push_str(&format!("  … and {} more\n", list.len() - LINES_PER_ROOM));
        }
        if let Some(first) = list.first() {
            text.push_str(&format!(
                "  Open: {origin}/c/{}/{}\n",
                first.room, first.seq
            ));
        }
    }
    let after = if delay == 15 { "15 minutes" } else { "an hour" };
    text.push_str(&format!(
        "\nYou get this email when a message for you waits unread for {after}.\n\
         Change this or turn it off: {origin}/settings\n"
    ));
    if let Some(link) = unsubscribe {
        text.push_str(&format!("Stop these emails with one click: {link}\n"));
    }
    (subject, text)
}

/// A message's first line, shortened; a message of files only says so.
pub fn first_line(message: &MessageView) -> String {
    let line = message.body.lines().find(|l| !l.trim().is_empty());
    match line {
        Some(line) if line.chars().count() > LINE_CHARS => {
            let cut: String = line.chars().take(LINE_CHARS - 1).collect();
            format!("{}…", cut.trim_end())
        }
        Some(line) => line.trim().to_string(),
        None if !message.files.is_empty() => format!("(sent {} file(s))", message.files.len()),
        None => String::new(),
    }
}

const UNSUBSCRIBE: &[u8] = b"glasschat unsubscribe v1:";

fn signed_message(user: i64) -> Vec<u8> {
    let mut message = UNSUBSCRIBE.to_vec();
    message.extend_from_slice(&user.to_be_bytes());
    message
}

/// The ways to turn `user`'s digests off without signing in: the page the
/// mail's text links to (`/unsubscribe`, one button), and the address mail
/// programs post to in one click (the `List-Unsubscribe` header, RFC 8058;
/// a GET there only sends the reader on to the page).
pub struct Unsubscribe {
    pub page: String,
    pub one_click: String,
}

pub fn unsubscribe_links(state: &AppState, user: i64) -> Option<Unsubscribe> {
    let key = state.store.keys.links()?;
    let mut token = user.to_be_bytes().to_vec();
    token.extend_from_slice(&key.sign(&signed_message(user)));
    let (origin, token) = (&state.config.public_origin, URL_SAFE_NO_PAD.encode(token));
    Some(Unsubscribe {
        page: format!("{origin}/unsubscribe?token={token}"),
        one_click: format!("{origin}/api/email/unsubscribe?token={token}"),
    })
}

/// Turns digests off for the account an unsubscribe token names.
pub async fn unsubscribe(state: &AppState, token: &str) -> Result<(), DigestError> {
    let raw = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| DigestError::BadLink)?;
    let Some(key) = state.store.keys.links() else {
        return Err(DigestError::BadLink);
    };
    let (id, signature) = raw.split_at_checked(8).ok_or(DigestError::BadLink)?;
    let user = i64::from_be_bytes(id.try_into().map_err(|_| DigestError::BadLink)?);
    if !key.verify(&signed_message(user), signature) {
        return Err(DigestError::BadLink);
    }
    state.store.set_email_delay(user, 0).await?;
    tracing::info!(user_id = user, "digests turned off by an unsubscribe link");
    Ok(())
}

/// The settings page's view of `user`'s email.
pub async fn settings(state: &AppState, user: i64) -> Result<EmailSettingsView, DigestError> {
    state
        .lookup_limiter
        .check(user)
        .map_err(DigestError::SlowDown)?;
    Ok(EmailSettingsView {
        available: state.mailer.is_some(),
        delay_minutes: state.store.email_delay(user).await?,
    })
}

pub async fn set_delay(state: &AppState, user: i64, minutes: i64) -> Result<(), DigestError> {
    if !DELAYS.contains(&minutes) {
        return Err(DigestError::BadDelay);
    }
    state
        .lookup_limiter
        .check(user)
        .map_err(DigestError::SlowDown)?;
    state.store.set_email_delay(user, minutes).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(room: i64, seq: i64, sender: &str, body: &str) -> MessageView {
        MessageView {
            room,
            seq,
            sender_name: sender.into(),
            body: body.into(),
            ..MessageView::default()
        }
    }

    #[test]
    fn a_digest_lists_each_conversation_with_its_first_lines_and_a_link() {
        let user = UserRow {
            id: 1,
            email: "ada@example.com".into(),
            display_name: "Ada".into(),
            password_hash: String::new(),
            role: "member".into(),
            site_id: None,
            deactivated_at: None,
        };
        let long = "x".repeat(300);
        let rooms = vec![
            (
                "Bob".to_string(),
                vec![
                    message(7, 3, "Bob", "\n\nhello there\nsecond line"),
                    message(7, 4, "Bob", &long),
                ],
            ),
            (
                "#design".to_string(),
                (1..=7).map(|s| message(9, s, "Cy", "hi")).collect(),
            ),
        ];
        let (subject, text) = compose(
            "https://chat.example.com",
            &user,
            &rooms,
            60,
            Some("https://u"),
        );
        assert_eq!(subject, "9 unread messages in 2 conversations");
        assert!(text.contains("Bob\n  Bob: hello there\n"), "{text}");
        assert!(!text.contains("second line"));
        assert!(text.contains(&format!("  Bob: {}…\n", "x".repeat(139))));
        assert!(text.contains("Open: https://chat.example.com/c/7/3"));
        assert!(text.contains("… and 2 more"));
        assert!(text.contains("waits unread for an hour"));
        assert!(text.contains("https://u"));
        let one = vec![("Bob".to_string(), vec![message(7, 3, "Bob", "hi")])];
        assert_eq!(
            compose("o", &user, &one, 15, None).0,
            "1 unread message from Bob"
        );
    }
}
