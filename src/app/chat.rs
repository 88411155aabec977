use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect};
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;

use crate::api::auth::current_user;
#[cfg(feature = "hydrate")]
use crate::api::rooms::invitations;
use crate::components::attachments::Attachments;
use crate::components::chat_client::ChatClient;
use crate::components::dialogs::{
    change_password_dialog, new_chat_dialog, new_group_dialog, quick_switcher, Dialogs,
};
use crate::components::message_pane::MessagePane;
use crate::components::notify;
use crate::components::on_demand::OnDemand;
use crate::components::presence::track_activity;
use crate::components::sidebar::Sidebar;
use crate::components::support::contact_support_dialog;
#[cfg(feature = "hydrate")]
use crate::realtime::link::LiveEvent;

/// `/`: the chat shell for a signed-in user; everyone else goes to `/login`.
#[component]
pub fn ChatPage() -> impl IntoView {
    let me = Resource::new_blocking(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| view! { <p class="p-8 text-slate-400">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) => view! { <ChatShell user/><Outlet/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(err) => view! {
                        <p role="alert" class="p-8 text-rose-300">{err.to_string()}</p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

/// The split pane, with the live chat state shared by both sides of it.
/// Under 768 px one pane shows at a time: the list, or the open room.
#[component]
fn ChatShell(user: crate::model::UserView) -> impl IntoView {
    let client = ChatClient::new(user.clone());
    let dialogs = Dialogs::new();
    provide_context(client);
    provide_context(dialogs);
    provide_context(Attachments::new());
    follow_the_address(client);
    notify::track_title(client);
    track_activity(client);
    // The open conversation's members' presence (the socket asks again
    // on every connect).
    Effect::new(move |_| {
        client.selected.track();
        client.show_people();
    });
    // The socket lives in the browser only; the server renders the frame.
    #[cfg(feature = "hydrate")]
    Effect::new(move |started: Option<()>| {
        if started.is_none() {
            crate::realtime::client::start(client.link(), move |event| match event {
                LiveEvent::Message(message) => notify::on_live_message(client, message),
                LiveEvent::RoomAdded(summary) => {
                    // A direct chat with an invited email: that invitation is done.
                    if let Some(email) = &summary.peer_email {
                        client
                            .invitations
                            .update(|list| list.retain(|i| &i.email != email));
                    }
                    notify::on_new_conversation(client, summary);
                }
            });
            leptos::task::spawn_local(async move {
                if let Ok(list) = invitations().await {
                    client.invitations.set(list);
                }
            });
        }
    });
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        let key = ev.key();
        if (ev.ctrl_key() || ev.meta_key()) && key.eq_ignore_ascii_case("k") {
            ev.prevent_default();
            dialogs.close_all();
            dialogs.switcher.set(true);
        } else if (ev.ctrl_key() || ev.meta_key())
            && ev.shift_key()
            && key.eq_ignore_ascii_case("f")
        {
            ev.prevent_default();
            dialogs.close_all();
            dialogs.search.set(true);
        } else if key == "Escape" {
            dialogs.close_all();
        }
    });
    on_cleanup(move || keys.remove());

    let room_open = move || client.selected.get().is_some();
    view! {
        <div class="flex h-dvh gap-0 p-0 md:gap-4 md:p-4">
            <aside aria-label="Conversations"
                class=move || format!("glass-panel w-full shrink-0 flex-col md:flex md:w-80 md:rounded-2xl {}", if room_open() { "hidden" } else { "flex" })>
                <Sidebar user/>
            </aside>
            <main aria-label="Conversation"
                class=move || format!("glass-panel min-w-0 flex-1 flex-col md:flex md:rounded-2xl {}", if room_open() { "flex" } else { "hidden" })>
                <MessagePane/>
            </main>
        </div>
        <div class="sr-only" aria-live="polite" aria-atomic="true" id="announcer">{move || client.announcement.get()}</div>
        // Not in the first download: each dialog's code comes when it first opens.
        <OnDemand wanted=dialogs.new_chat load=new_chat_dialog/>
        <OnDemand wanted=dialogs.new_group load=new_group_dialog/>
        <OnDemand wanted=dialogs.password load=change_password_dialog/>
        <OnDemand wanted=dialogs.switcher load=quick_switcher/>
        <OnDemand wanted=dialogs.contact load=contact_support_dialog/>
    }
}

/// The conversation an address points at: `/c/ROOM` or `/c/ROOM/SEQ`
/// (a message in it); anything else points at none.
pub fn conversation_in(path: &str) -> Option<(i64, Option<i64>)> {
    let mut parts = path.trim_end_matches('/').strip_prefix("/c/")?.split('/');
    let room = parts.next()?.parse::<i64>().ok().filter(|r| *r > 0)?;
    let seq = match parts.next() {
        Some(seq) => Some(seq.parse::<i64>().ok().filter(|s| *s > 0)?),
        None => None,
    };
    parts.next().is_none().then_some((room, seq))
}

/// The address and the open conversation follow each other: a reload, a
/// link or Back/Forward opens what the address names; opening a
/// conversation (a click, Ctrl+K, a new chat) pushes its address.
fn follow_the_address(client: ChatClient) {
    let location = use_location();
    let in_address = Memo::new(move |_| location.pathname.with(|p| conversation_in(p)));
    let follow = move |wanted: Option<(i64, Option<i64>)>| {
        client
            .target
            .set(wanted.and_then(|(room, seq)| seq.map(|s| (room, s))));
        let room = wanted.map(|(room, _)| room);
        if client.selected.get_untracked() != room {
            client.selected.set(room);
        }
    };
    // At once (the server renders the conversation too, and effects run
    // only in the browser), then on every change of address.
    follow(in_address.get_untracked());
    Effect::new(move |_| follow(in_address.get()));
    let navigate = use_navigate();
    Effect::new(move |_| {
        let open = client.selected.get();
        if in_address.get_untracked().map(|(room, _)| room) != open {
            let path = open.map_or_else(|| "/".to_string(), |room| format!("/c/{room}"));
            navigate(&path, NavigateOptions::default());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::conversation_in;

    #[test]
    fn addresses_name_a_conversation_and_a_message() {
        assert_eq!(conversation_in("/c/12"), Some((12, None)));
        assert_eq!(conversation_in("/c/12/"), Some((12, None)));
        assert_eq!(conversation_in("/c/12/345"), Some((12, Some(345))));
        for none in [
            "/", "/c", "/c/", "/c/x", "/c/-1", "/c/0", "/c/1/x", "/c/1/2/3", "/admin",
        ] {
            assert_eq!(conversation_in(none), None, "{none}");
        }
    }
}
