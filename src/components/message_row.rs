//! One message as the list draws it: its header (sender, time), its body
//! (Markdown), a reply's quote, "(edited)", a deleted message's tombstone,
//! the reaction bar, and the actions on hover or focus (react, reply, edit,
//! delete). A message that mentions the reader stands out, and so does
//! each `@Name` it calls.

use leptos::prelude::*;

use crate::components::attachments::FileList;
use crate::components::chat_client::ChatClient;
use crate::components::composer::focus_composer;
use crate::components::dialogs::{open_while, ConfirmDialog};
use crate::components::markdown;
use crate::components::presence::ReceiptLine;
use crate::components::text::{day_label, LocalTime, DELETED};
use crate::realtime::protocol::{MessageKind, MessageView, Reaction, ROOM_MENTION};

/// Messages from one sender closer than this share one header.
const GROUP_GAP_MS: i64 = 5 * 60 * 1000;

/// One message as the list draws it; the key includes what depends on the
/// neighbours, so a row re-renders when older messages arrive above it.
#[derive(Clone, PartialEq)]
pub struct Row {
    pub message: MessageView,
    pub own: bool,
    pub header: bool,
    pub day: Option<String>,
    /// An internal note among the conversation's messages (staff only).
    pub note: bool,
}

/// Rows for `messages` of conversation `room` (lines of another room among
/// them are its notes); with `skip_first`, the first message only serves as
/// the neighbour of the second (it is above the drawn window).
pub fn rows_of(
    room: i64,
    messages: &[MessageView],
    skip_first: bool,
    my_id: i64,
    now: i64,
) -> Vec<Row> {
    let mut rows = Vec::with_capacity(messages.len());
    let mut prev: Option<(&MessageView, LocalTime)> = None;
    for (i, message) in messages.iter().enumerate() {
        let at = LocalTime::of(message.created_at);
        if !(skip_first && i == 0) {
            let new_day = prev.is_none_or(|(_, p)| !p.same_day(&at));
            let header = new_day
                || message.kind == MessageKind::System
                || prev.is_none_or(|(p, _)| {
                    p.kind == MessageKind::System
                        || p.room != message.room
                        || p.sender_id != message.sender_id
                        || message.created_at - p.created_at > GROUP_GAP_MS
                });
            rows.push(Row {
                own: message.sender_id == Some(my_id) && message.kind == MessageKind::Text,
                header,
                day: new_day.then(|| day_label(message.created_at, now)),
                note: message.room != room,
                message: message.clone(),
            });
        }
        prev = Some((message, at));
    }
    rows
}

impl Row {
    /// The list's key: what depends on the neighbours, and what a change to
    /// the message alters (an edit its time, a delete its flag, reactions
    /// and a quote their content), so such a change redraws the row.
    pub fn key(&self) -> ((i64, i64), bool, Option<String>, Option<i64>, bool, u64) {
        let m = &self.message;
        // FNV-1a over what has no cheaper summary.
        let mut print: u64 = 0xcbf2_9ce4_8422_2325;
        let mut fold = |bytes: &[u8]| {
            for b in bytes {
                print = (print ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
            }
        };
        for reaction in &m.reactions {
            fold(reaction.emoji.as_bytes());
            for user in &reaction.users {
                fold(&user.id.to_le_bytes());
            }
        }
        if let Some(quote) = &m.reply {
            fold(&[u8::from(quote.gone)]);
            fold(quote.text.as_bytes());
        }
        (
            (m.room, m.seq),
            self.header,
            self.day.clone(),
            m.edited_at,
            m.deleted,
            print,
        )
    }
}

#[component]
pub fn MessageRow(row: Row, highlighted: RwSignal<Option<i64>>) -> impl IntoView {
    let Row {
        message,
        own,
        header,
        day,
        note,
    } = row;
    let day = day.map(|d| {
        view! {
            <div class="day my-3 flex items-center gap-3 text-xs text-slate-300" role="separator">
                <span class="h-px flex-1 bg-white/10"></span>{d}<span class="h-px flex-1 bg-white/10"></span>
            </div>
        }
    });
    if message.kind == MessageKind::System {
        return view! {
            {day}
            <article class="message system my-2 text-center text-xs text-slate-300" data-seq=message.seq>
                <p class="body break-words wrap-anywhere">{message.body.clone()}</p>
            </article>
        }
        .into_any();
    }
    let client = expect_context::<ChatClient>();
    let seq = message.seq;
    let time = LocalTime::of(message.created_at).clock();
    let side = if own {
        "ml-auto items-end"
    } else {
        "mr-auto items-start"
    };
    // Who it calls, for the marks in its text; the reader's own name (or
    // `@room`, when someone else said it) stands out most.
    let me = client.my_id();
    let mut called: Vec<markdown::Called> = message
        .mentions
        .iter()
        .map(|p| (p.name.clone(), p.id == me))
        .collect();
    if message.mentions_room {
        called.push((ROOM_MENTION[1..].to_string(), !own));
    }
    let calls_me = !own && !message.deleted && message.mentions_user(me);
    let bubble = if message.deleted {
        "rounded-2xl border border-dashed border-white/20 px-4 py-2"
    } else if note {
        // Apart from what the customer sees: amber, dashed, labelled.
        "rounded-2xl border border-dashed border-amber-300/70 bg-amber-400/15 px-4 py-2"
    } else if own {
        "rounded-2xl bg-gradient-to-br from-sky-500/45 to-violet-500/45 px-4 py-2"
    } else {
        "rounded-2xl bg-white/10 px-4 py-2"
    };
    // A reply's quote: the original's author and first line; a click opens
    // the conversation at it (loading older history when needed).
    let room = message.room;
    let quoted = message.reply.clone().map(|q| {
        let href = format!("/c/{room}/{}", q.seq);
        view! {
            <a class="quote mb-1 block max-w-full truncate border-l-2 border-sky-300/70 pl-2 text-xs text-slate-200 hover:text-white" href=href data-seq=q.seq>
                {if q.gone {
                    view! { <span class="italic">"Original message deleted"</span> }.into_any()
                } else {
                    view! { <span class="font-semibold">{q.sender_name}</span>" "{q.text} }.into_any()
                }}
            </a>
        }
    });
    let body = if message.deleted {
        view! { <p class="body italic text-slate-300">{DELETED}</p> }.into_any()
    } else if message.body.is_empty() {
        ().into_any() // files alone
    } else {
        // Markdown, drawn as elements and text nodes (never markup).
        view! { <div class="body whitespace-pre-wrap break-words wrap-anywhere">{markdown::render(&message.body, &called)}</div> }.into_any()
    };
    let edited = (message.edited_at.is_some() && !message.deleted).then(|| {
        let at = message.edited_at.map(|t| LocalTime::of(t).clock()).unwrap_or_default();
        view! { <span class="edited text-xs text-slate-300" title=format!("Edited at {at}")>" (edited)"</span> }
    });
    let files = (!message.deleted && !message.files.is_empty()).then(|| {
        let files = message.files.clone();
        view! { <FileList room files/> }
    });
    let reactions = (!message.reactions.is_empty()).then(|| {
        let list = message.reactions.clone();
        view! { <Reactions room seq list/> }
    });
    let actions = (!message.deleted).then(|| {
        let may = client.may_change(&message);
        let name = message.sender_name.clone();
        view! { <Actions room seq name own may reply=!note/> }
    });
    // A note keys its row by its own room's seq, apart from the
    // conversation's `data-seq` (which the list scrolls and anchors by).
    let (data_seq, data_note) = if note {
        (None, Some(seq))
    } else {
        (Some(seq), None)
    };
    view! {
        {day}
        <article class=format!("message group relative flex min-w-0 max-w-[80%] flex-col {side} {}", if header { "mt-3" } else { "mt-0.5" })
            class:target=move || !note && highlighted.get() == Some(seq)
            class:mentioned=calls_me
            class:note=note
            data-seq=data_seq data-note=data_note data-own=own.to_string() data-deleted=message.deleted.to_string()>
            {actions}
            {header.then(|| view! {
                <p class="mb-0.5 px-1 text-xs text-slate-300">
                    {note.then(|| view! { <span class="font-semibold text-amber-200">"Internal note"</span>" · " })}
                    {(!own).then(|| view! { <span class="sender font-semibold text-slate-100">{message.sender_name.clone()}</span>" · " })}
                    <time>{time.clone()}</time>
                </p>
            })}
            // Wrap anywhere: a long URL or hash must never widen the list.
            <div class=format!("{bubble} max-w-full {}", if calls_me { "ring-2 ring-amber-300/60" } else { "" }) title=time.clone()>
                {quoted}
                {body}
                {files}
                {edited}
            </div>
            {reactions}
            {(!note).then(|| view! { <ReceiptLine seq/> })}
        </article>
    }
    .into_any()
}

/// The actions beside a message, shown on hover or keyboard focus: react,
/// reply, and for whoever may, edit and delete. A row carries only what it
/// draws; a click reads the message from the client's state.
#[component]
fn Actions(
    room: i64,
    seq: i64,
    name: String,
    own: bool,
    may: (bool, bool),
    reply: bool,
) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let (can_edit, can_delete) = may;
    // Over the bubble's top edge, from the side of the list the bubble
    // keeps to: a toolbar beside a wide bubble would stick out of the list.
    let place = if own { "right-0" } else { "left-0" };
    let start_reply = move |_| {
        if let Some(message) = client.message(room, seq) {
            client.start_reply(&message);
            focus_composer();
        }
    };
    let edit = move |_| {
        if let Some(message) = client.message(room, seq) {
            client.start_edit(&message);
            focus_composer();
        }
    };
    const BUTTON: &str = "rounded-lg px-2 py-0.5 text-xs text-slate-200 hover:bg-white/10";
    view! {
        <div class=format!("actions absolute -top-3 {place} z-10 flex gap-0.5 rounded-lg border border-white/10 bg-slate-800/95 p-0.5 opacity-0 shadow-lg focus-within:opacity-100 group-hover:opacity-100")>
            <button type="button" class=format!("react {BUTTON}") aria-label=format!("React to {name}'s message")
                aria-haspopup="dialog" on:click=move |_| client.picking.set(Some((room, seq)))>"React"</button>
            {reply.then(|| view! {
                <button type="button" class=format!("reply {BUTTON}") aria-label=format!("Reply to {name}") on:click=start_reply>"Reply"</button>
            })}
            {can_edit.then(|| view! {
                <button type="button" class=format!("edit {BUTTON}") aria-label="Edit your message" on:click=edit>"Edit"</button>
            })}
            {can_delete.then(|| view! {
                <button type="button" class=format!("delete {BUTTON} text-rose-200") aria-label=format!("Delete {name}'s message")
                    aria-haspopup="dialog" on:click=move |_| client.deleting.set(Some((room, seq)))>"Delete"</button>
            })}
        </div>
    }
}

/// Under a message: each emoji with its count, yours highlighted, who
/// reacted on hover; a click adds or takes back yours.
#[component]
fn Reactions(room: i64, seq: i64, list: Vec<Reaction>) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    let me = client.my_id();
    view! {
        <div class="reactions mt-1 flex flex-wrap gap-1">
            {list.into_iter().map(|reaction| {
                let mine = reaction.users.iter().any(|u| u.id == me);
                let names = reaction.users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>().join(", ");
                let count = reaction.users.len();
                let label = format!("{names} reacted with {}", reaction.emoji);
                let emoji = reaction.emoji.clone();
                let class = if mine {
                    "reaction rounded-full border border-sky-300/70 bg-sky-500/30 px-2 py-0.5 text-sm"
                } else {
                    "reaction rounded-full border border-white/15 bg-white/5 px-2 py-0.5 text-sm hover:bg-white/10"
                };
                view! {
                    <button type="button" class=class title=label.clone() aria-label=label aria-pressed=mine.to_string()
                        data-emoji=emoji.clone()
                        on:click=move |_| client.react(room, seq, emoji.clone(), !mine)>
                        {reaction.emoji}" "<span class="count text-xs">{count}</span>
                    </button>
                }
            }).collect_view()}
        </div>
    }
}

/// "Delete this message?", fetched the first time a delete is asked for.
#[leptos::lazy]
pub fn delete_confirmation() -> AnyView {
    let client = expect_context::<ChatClient>();
    let open = open_while(client.deleting);
    view! {
        <ConfirmDialog open id="confirm-delete" title="Delete this message?"
            message="It is deleted for everyone in the conversation. This cannot be undone."
            confirm_label="Delete"
            on_confirm=Callback::new(move |_| {
                if let Some((room, seq)) = client.deleting.get_untracked() {
                    client.delete(room, seq);
                }
            })/>
    }
    .into_any()
}
