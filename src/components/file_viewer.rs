//! The image viewer: an image of the conversation at full size (the
//! server's preview, its metadata stripped), the arrows or ← → for the
//! others in the conversation, Esc or a click outside to close (the focus
//! goes back to the thumbnail), and a download of the original. Its code
//! is a WASM file of its own, fetched the first time an image is opened.

use leptos::html::Button;
use leptos::prelude::*;

use crate::components::chat_client::ChatClient;
use crate::realtime::protocol::{human_size, FileView};

/// The images of `room` held by the client, oldest first.
fn images_of(client: ChatClient, room: i64) -> Vec<FileView> {
    client.state.with(|s| {
        s.rooms
            .get(&room)
            .map(|r| {
                r.messages
                    .values()
                    .filter(|m| !m.deleted)
                    .flat_map(|m| m.files.iter().filter(|f| f.is_image()).cloned())
                    .collect()
            })
            .unwrap_or_default()
    })
}

#[leptos::lazy]
pub fn file_viewer() -> AnyView {
    let client = expect_context::<ChatClient>();
    let close_button = NodeRef::<Button>::new();
    // Where the focus goes back to: the thumbnail that was opened.
    let opened_from = StoredValue::new(None::<i64>);
    let current = move || {
        let (room, id) = client.viewing.get()?;
        let images = images_of(client, room);
        let at = images.iter().position(|f| f.id == id)?;
        Some((room, images, at))
    };
    let close = move || {
        let back_to = opened_from
            .get_value()
            .or(client.viewing.get_untracked().map(|v| v.1));
        client.viewing.set(None);
        focus_thumbnail(back_to);
    };
    let step = move |by: isize| {
        if let Some((room, images, at)) = current() {
            let next = (at as isize + by).rem_euclid(images.len() as isize) as usize;
            client.viewing.set(Some((room, images[next].id)));
        }
    };
    Effect::new(move |_| {
        if let Some((_, id)) = client.viewing.get() {
            if opened_from.get_value().is_none() {
                opened_from.set_value(Some(id));
            }
            request_animation_frame(move || {
                if let Some(button) = close_button.try_get_untracked().flatten() {
                    let _ = button.focus();
                }
            });
        } else {
            opened_from.set_value(None);
        }
    });
    let on_key = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            close();
        }
        "ArrowRight" => {
            ev.prevent_default();
            step(1);
        }
        "ArrowLeft" => {
            ev.prevent_default();
            step(-1);
        }
        _ => {}
    };
    view! {
        {move || current().map(|(_, images, at)| {
            let file = images[at].clone();
            let count = images.len();
            view! {
                <div id="viewer" role="dialog" aria-modal="true" aria-label=format!("Image: {}", file.name)
                    class="fixed inset-0 z-50 flex flex-col bg-slate-950/90 p-4"
                    on:keydown=on_key on:click=move |_| close()>
                    <div class="flex items-center gap-3 text-sm text-slate-100" on:click=|ev| ev.stop_propagation()>
                        <p class="min-w-0 flex-1 truncate">
                            <span class="font-semibold">{file.name.clone()}</span>
                            <span class="text-slate-300">{format!(" · {} · {} of {count}", human_size(file.size), at + 1)}</span>
                        </p>
                        <a class="rounded-lg px-3 py-1.5 underline hover:bg-white/10" href=file.download_url()
                            download=file.name.clone()>"Download"</a>
                        <button type="button" id="viewer-close" node_ref=close_button aria-label="Close"
                            class="rounded-lg px-3 py-1.5 hover:bg-white/10" on:click=move |_| close()>"×"</button>
                    </div>
                    <div class="relative flex min-h-0 flex-1 items-center justify-center">
                        {(count > 1).then(|| view! {
                            <button type="button" aria-label="Previous image" class="absolute left-0 rounded-full bg-white/10 px-3 py-2 text-xl text-white hover:bg-white/20"
                                on:click=move |ev| { ev.stop_propagation(); step(-1); }>"‹"</button>
                        })}
                        <img src=file.preview_url() alt=file.name.clone() on:click=|ev| ev.stop_propagation()
                            class="max-h-full max-w-full object-contain"/>
                        {(count > 1).then(|| view! {
                            <button type="button" aria-label="Next image" class="absolute right-0 rounded-full bg-white/10 px-3 py-2 text-xl text-white hover:bg-white/20"
                                on:click=move |ev| { ev.stop_propagation(); step(1); }>"›"</button>
                        })}
                    </div>
                </div>
            }
        })}
    }
    .into_any()
}

/// Puts the focus back on the thumbnail of file `id`, once the viewer is gone.
fn focus_thumbnail(id: Option<i64>) {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        use wasm_bindgen::JsCast;
        let Some(id) = id else {
            return;
        };
        let thumb = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| {
                d.query_selector(&format!("button[data-file=\"{id}\"]"))
                    .ok()
                    .flatten()
            })
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(thumb) = thumb {
            let _ = thumb.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}
