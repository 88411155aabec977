//! Telling the user about messages they are not looking at: the tab title
//! "(@1 · 3) Glasschat" (mentions, then unread), a polite live region for
//! screen readers, and browser notifications (permission asked on a click,
//! never on page load; none for own messages, the room in view of a visible
//! tab, support conversations another agent handles, or muted rooms unless
//! the message mentions the user, as in Slack).

use leptos::prelude::*;

use crate::components::chat_client::ChatClient;
use crate::realtime::protocol::{MessageKind, MessageView, RoomSummary};

/// The tab title for `unread` messages in total, `mentions` of them
/// calling the user.
pub fn title_for(unread: i64, mentions: i64, open: Option<&str>) -> String {
    let name = match open {
        Some(room) if !room.is_empty() => format!("{room} · Glasschat"),
        _ => "Glasschat".to_string(),
    };
    match (mentions, unread) {
        (0, 0) => name,
        (0, unread) => format!("({unread}) {name}"),
        (mentions, unread) => format!("(@{mentions} · {unread}) {name}"),
    }
}

/// Keeps the tab title in step with the open conversation and the total
/// unread (browser only).
pub fn track_title(client: ChatClient) {
    Effect::new(move |_| {
        let open = client.selected.get();
        let title = client.state.with(|s| {
            let name = open.and_then(|room| s.rooms.get(&room).map(|r| r.summary.name.clone()));
            title_for(s.total_unread(), s.total_mentions(), name.as_deref())
        });
        #[cfg(feature = "hydrate")]
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            doc.set_title(&title);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = title;
    });
}

/// A live message arrived on the socket (not a catch-up of old ones).
pub fn on_live_message(client: ChatClient, message: &MessageView) {
    if message.kind != MessageKind::Text || message.sender_id == Some(client.my_id()) {
        return;
    }
    let me = client.my_id();
    // Staff are called by an unassigned conversation of their department,
    // then only the assignee is.
    // A mention calls through a mute.
    let mentioned = message.mentions_user(me);
    // A note calls as its conversation's messages do, under its name.
    let Some((conversation, room_name, quiet)) = client.state.with_untracked(|s| {
        let room = s.rooms.get(&message.room)?;
        let conversation = s.conversation_of(&room.summary)?;
        Some((
            conversation.room,
            conversation.name.clone(),
            (room.summary.muted && !mentioned) || !conversation.calls(me),
        ))
    }) else {
        return;
    };
    let in_view = client.selected.get_untracked() == Some(conversation) && page_visible();
    let what = if mentioned { "mentioned you" } else { "wrote" };
    client
        .announcement
        .set(format!("{} {what} in {}", message.sender_name, room_name));
    if !in_view && !quiet {
        show_notification(&room_name, conversation, message, mentioned);
    }
}

/// The page can be read: its tab is visible, and (in a website widget's
/// panel) the host page shows the panel.
#[cfg(feature = "hydrate")]
pub fn page_visible() -> bool {
    !PANEL_HIDDEN.get()
        && web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| !d.hidden())
}

#[cfg(feature = "hydrate")]
thread_local! {
    static PANEL_HIDDEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The host page closed or opened the widget's panel: its frame lives on
/// unseen, and nothing in it counts as read meanwhile. Told like a tab
/// that was hidden or shown (a `visibilitychange`), so whatever reads on
/// visibility looks again.
#[cfg(feature = "hydrate")]
pub fn set_panel_hidden(hidden: bool) {
    PANEL_HIDDEN.set(hidden);
    let event = web_sys::EventInit::new();
    event.set_bubbles(true);
    if let (Some(doc), Ok(changed)) = (
        web_sys::window().and_then(|w| w.document()),
        web_sys::Event::new_with_event_init_dict("visibilitychange", &event),
    ) {
        let _ = doc.dispatch_event(&changed);
    }
}

#[cfg(not(feature = "hydrate"))]
pub fn page_visible() -> bool {
    false
}

/// A support conversation was just opened with one of the user's
/// departments (it has no message yet): every online agent of it hears.
pub fn on_new_conversation(client: ChatClient, summary: &RoomSummary) {
    let me = client.my_id();
    let Some(info) = summary.support.as_ref() else {
        return;
    };
    if summary.last_seq > 0 || !summary.staffed_by(me) || !summary.calls(me) {
        return;
    }
    let line = format!("{} contacted {}", info.member_name, info.department);
    client.announcement.set(line.clone());
    notify(&line, "Waiting in the queue", summary.room);
}

fn show_notification(room_name: &str, room: i64, message: &MessageView, mentioned: bool) {
    let text = message.text_or_files();
    let mut body: String = text.chars().take(140).collect();
    if body.len() < text.len() {
        body.push('…');
    }
    let title = match (mentioned, room_name == message.sender_name) {
        (true, _) => format!("{} mentioned you in {room_name}", message.sender_name),
        (false, true) => message.sender_name.clone(),
        (false, false) => format!("{} · {room_name}", message.sender_name),
    };
    notify(&title, &body, room);
}

#[cfg(feature = "hydrate")]
fn notify(title: &str, body: &str, room: i64) {
    use web_sys::{Notification, NotificationOptions, NotificationPermission};
    if Notification::permission() != NotificationPermission::Granted {
        return;
    }
    let options = NotificationOptions::new();
    options.set_body(body);
    options.set_tag(&format!("room-{room}"));
    let _ = Notification::new_with_options(title, &options);
}

#[cfg(not(feature = "hydrate"))]
fn notify(_title: &str, _body: &str, _room: i64) {}

/// The menu entry that asks for notification permission, on a click.
#[component]
pub fn NotificationToggle() -> impl IntoView {
    // "granted", "denied", "default", or "unsupported" (and "" before hydration).
    let permission = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| permission.set(current_permission()));
    }
    let ask = move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Ok(promise) = web_sys::Notification::request_permission() {
                leptos::task::spawn_local(async move {
                    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
                    permission.set(current_permission());
                });
            }
        }
    };
    view! {
        {move || match permission.get().as_str() {
            "default" => view! {
                <button id="enable-notifications" type="button" on:click=ask
                    class="w-full rounded-lg px-3 py-2 text-left text-sm text-slate-100 hover:bg-white/10">
                    "Enable notifications"
                </button>
            }.into_any(),
            "granted" => view! { <p class="px-3 py-2 text-xs text-slate-300">"Notifications are on"</p> }.into_any(),
            "denied" => view! { <p class="px-3 py-2 text-xs text-slate-300">"Notifications are blocked in this browser"</p> }.into_any(),
            _ => ().into_any(),
        }}
    }
}

#[cfg(feature = "hydrate")]
fn current_permission() -> String {
    let supported = web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &"Notification".into()).ok())
        .is_some_and(|n| !n.is_undefined());
    if !supported {
        return "unsupported".into();
    }
    match web_sys::Notification::permission() {
        web_sys::NotificationPermission::Granted => "granted".into(),
        web_sys::NotificationPermission::Denied => "denied".into(),
        _ => "default".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_counts_unread() {
        assert_eq!(title_for(0, 0, None), "Glasschat");
        assert_eq!(title_for(3, 0, None), "(3) Glasschat");
        assert_eq!(title_for(0, 0, Some("Launch")), "Launch · Glasschat");
        assert_eq!(title_for(2, 0, Some("Launch")), "(2) Launch · Glasschat");
        assert_eq!(
            title_for(5, 2, Some("Launch")),
            "(@2 · 5) Launch · Glasschat"
        );
    }
}
