//! Files in the browser: the files waiting to go with a room's next message
//! (picked with the button, pasted or dropped), each uploading at once with
//! its progress, a cancel button and, when it fails, why and a retry; and
//! the files of a message, as thumbnails that open the viewer or as cards
//! with a download link.
//!
//! An upload is announced (`api::files::start_upload`, with an upload id
//! made here, so asking again finds the same upload) and its bytes sent in
//! one request from where the server is; a broken connection is retried
//! from what the server kept. The message that carries the files goes
//! through the outbox like any other, once every file is up.

use leptos::prelude::*;

use crate::components::chat_client::ChatClient;
use crate::components::on_demand::OnDemand;
#[cfg(feature = "hydrate")]
use crate::realtime::protocol::MAX_FILES_PER_MESSAGE;
use crate::realtime::protocol::{human_size, FileView, MAX_FILE_BYTES};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PendingState {
    Uploading,
    /// Up, with this file id: ready to send.
    Ready(i64),
    Failed(String),
}

/// A file waiting to go with the next message of `room`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingFile {
    /// The upload id: asking the server again with it finds the same upload.
    pub key: String,
    pub room: i64,
    pub name: String,
    pub size: i64,
    /// What the browser says it is (shown while sending; the server reads
    /// the real type from the content).
    pub mime: String,
    /// Bytes the server has.
    pub sent: i64,
    pub state: PendingState,
}

impl PendingFile {
    /// Whether trying again can help: not for a file over the limit or
    /// an empty one.
    pub fn can_retry(&self) -> bool {
        self.size > 0 && self.size <= MAX_FILE_BYTES
    }
}

/// The files waiting in each room's composer, shared through context.
#[derive(Clone, Copy)]
pub struct Attachments {
    pub pending: RwSignal<Vec<PendingFile>>,
    /// The browser's handles on the files and their requests, by key.
    #[cfg(feature = "hydrate")]
    files: StoredValue<std::collections::HashMap<String, web_sys::File>, LocalStorage>,
    #[cfg(feature = "hydrate")]
    requests: StoredValue<std::collections::HashMap<String, web_sys::XmlHttpRequest>, LocalStorage>,
}

/// Why a room's files cannot be sent yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    Uploading,
    Failed,
}

impl NotReady {
    pub fn notice(self) -> &'static str {
        match self {
            NotReady::Uploading => "Wait until the files are uploaded, then send.",
            NotReady::Failed => "A file could not be uploaded: retry it or remove it.",
        }
    }
}

impl Attachments {
    pub fn new() -> Attachments {
        Attachments {
            pending: RwSignal::new(Vec::new()),
            #[cfg(feature = "hydrate")]
            files: StoredValue::new_local(Default::default()),
            #[cfg(feature = "hydrate")]
            requests: StoredValue::new_local(Default::default()),
        }
    }

    /// The files waiting in `room`.
    pub fn of(&self, room: i64) -> Vec<PendingFile> {
        self.pending
            .with(|p| p.iter().filter(|f| f.room == room).cloned().collect())
    }

    /// The files to send with `room`'s next message, if all are up.
    pub fn ready(&self, room: i64) -> Result<Vec<FileView>, NotReady> {
        self.pending.with_untracked(|p| {
            let mut ready = Vec::new();
            for file in p.iter().filter(|f| f.room == room) {
                match &file.state {
                    PendingState::Uploading => return Err(NotReady::Uploading),
                    PendingState::Failed(_) => return Err(NotReady::Failed),
                    PendingState::Ready(id) => ready.push(FileView {
                        id: *id,
                        name: file.name.clone(),
                        size: file.size,
                        mime: file.mime.clone(),
                        width: None,
                        height: None,
                    }),
                }
            }
            Ok(ready)
        })
    }

    /// Forgets `room`'s files (they were sent).
    pub fn sent(&self, room: i64) {
        let keys: Vec<String> = self.pending.with_untracked(|p| {
            p.iter()
                .filter(|f| f.room == room)
                .map(|f| f.key.clone())
                .collect()
        });
        for key in keys {
            self.forget(&key);
        }
    }

    /// Stops an upload and takes the file out of the message.
    pub fn remove(&self, key: &str) {
        #[cfg(feature = "hydrate")]
        if let Some(request) = self.requests.try_update_value(|r| r.remove(key)).flatten() {
            let _ = request.abort();
        }
        self.forget(key);
    }

    fn forget(&self, key: &str) {
        #[cfg(feature = "hydrate")]
        {
            self.files.try_update_value(|f| f.remove(key));
            self.requests.try_update_value(|r| r.remove(key));
        }
        self.pending.try_update(|p| p.retain(|f| f.key != key));
    }
}

impl Default for Attachments {
    fn default() -> Attachments {
        Attachments::new()
    }
}

#[cfg(feature = "hydrate")]
impl Attachments {
    fn set(&self, key: &str, change: impl FnOnce(&mut PendingFile)) {
        self.pending.try_update(|p| {
            if let Some(file) = p.iter_mut().find(|f| f.key == key) {
                change(file);
            }
        });
    }

    /// Adds files to `room`'s next message and starts uploading them
    /// (the code that does is fetched the first time: `take_files`).
    pub fn add(&self, client: ChatClient, room: i64, files: Vec<web_sys::File>) {
        if files.is_empty() {
            return;
        }
        let this = *self;
        leptos::task::spawn_local(take_files(this, client, room, files));
    }

    /// What `add` does. A file over the size limit is refused here, before
    /// a byte is sent; past `MAX_FILES_PER_MESSAGE` the rest are left out,
    /// with a notice.
    fn take_in(&self, client: ChatClient, room: i64, files: Vec<web_sys::File>) {
        let already = self
            .pending
            .with_untracked(|p| p.iter().filter(|f| f.room == room).count());
        let room_left = MAX_FILES_PER_MESSAGE.saturating_sub(already);
        if files.len() > room_left {
            client.notice.set(Some(format!(
                "A message can carry at most {MAX_FILES_PER_MESSAGE} files: {} left out.",
                files.len() - room_left
            )));
        }
        for file in files.into_iter().take(room_left) {
            let size = file.size() as i64;
            let name = file.name();
            let key = new_upload_id();
            let state = if size > MAX_FILE_BYTES {
                PendingState::Failed(format!(
                    "{name} is larger than {}, the most a file may be.",
                    human_size(MAX_FILE_BYTES)
                ))
            } else if size == 0 {
                PendingState::Failed(format!("{name} is empty."))
            } else {
                PendingState::Uploading
            };
            let uploading = state == PendingState::Uploading;
            self.pending.update(|p| {
                p.push(PendingFile {
                    key: key.clone(),
                    room,
                    name: if name.is_empty() {
                        "pasted image.png".into()
                    } else {
                        name.clone()
                    },
                    size,
                    mime: file.type_(),
                    sent: 0,
                    state,
                })
            });
            self.files.update_value(|f| {
                f.insert(key.clone(), file);
            });
            if uploading {
                self.upload(key);
            }
        }
    }

    /// Tries a failed upload again (it resumes where the server is).
    pub fn retry(&self, key: &str) {
        let hopeless = self
            .pending
            .with_untracked(|p| p.iter().any(|f| f.key == key && !f.can_retry()));
        if hopeless {
            return;
        }
        self.set(key, |f| f.state = PendingState::Uploading);
        self.upload(key.to_string());
    }

    fn upload(&self, key: String) {
        let this = *self;
        leptos::task::spawn_local(async move {
            let state = upload_file(this, key.clone()).await;
            this.set(&key, |f| f.state = state);
            this.requests.try_update_value(|r| r.remove(&key));
        });
    }

    /// Uploads one file to the end: announce, send the rest, and after a
    /// cut ask where the server is and go on from there (three tries).
    async fn run(&self, key: &str) -> PendingState {
        use crate::api::files::start_upload;
        use crate::api::files::transfer::{send, Outcome};
        use crate::api::ApiError;

        let mut tries = 0u32;
        loop {
            let Some((file, room, name)) =
                self.files
                    .with_value(|f| f.get(key).cloned())
                    .and_then(|file| {
                        self.pending.with_untracked(|p| {
                            p.iter()
                                .find(|f| f.key == key)
                                .map(|f| (file, f.room, f.name.clone()))
                        })
                    })
            else {
                return PendingState::Failed("Cancelled.".into()); // removed meanwhile
            };
            let size = file.size() as i64;
            let lost = |tries: &mut u32| {
                *tries += 1;
                *tries <= 3
            };
            let state = match start_upload(key.to_string(), room, name, size).await {
                Ok(state) => state,
                Err(ApiError::Transport) if lost(&mut tries) => {
                    pause(tries).await;
                    continue;
                }
                Err(err) => return PendingState::Failed(err.to_string()),
            };
            self.set(key, |f| f.sent = state.received);
            if state.complete {
                return PendingState::Ready(state.id);
            }
            let Ok(rest) = file.slice_with_f64_and_f64(state.received as f64, size as f64) else {
                return PendingState::Failed("The file could not be read.".into());
            };
            let this = *self;
            let progress_key = key.to_string();
            let from = state.received;
            let progress = move |loaded: f64| {
                this.set(&progress_key, |f| f.sent = from + loaded as i64);
            };
            let Ok((request, done)) = send(state.id, from, &rest, progress) else {
                return PendingState::Failed("The upload could not start.".into());
            };
            self.requests.update_value(|r| {
                r.insert(key.to_string(), request);
            });
            match done.await {
                Outcome::Stored(state) if state.complete => return PendingState::Ready(state.id),
                // Part of it: go on from where the server is.
                Outcome::Stored(_) | Outcome::Refused { status: 409, .. } => {}
                Outcome::Refused { reason, .. } => return PendingState::Failed(reason),
                Outcome::Aborted => return PendingState::Failed("Cancelled.".into()),
                Outcome::Lost if lost(&mut tries) => pause(tries).await,
                Outcome::Lost => {
                    return PendingState::Failed(
                        "The connection was lost during the upload.".into(),
                    )
                }
            }
        }
    }
}

/// Takes files into a room's next message (`Attachments::take_in`), as a
/// WASM file of its own with the uploading, fetched the first time a file
/// is attached.
#[cfg(feature = "hydrate")]
#[leptos::lazy]
fn take_files(attachments: Attachments, client: ChatClient, room: i64, files: Vec<web_sys::File>) {
    attachments.take_in(client, room, files);
}

/// Uploads file `key` to the end. Its code (and the transfer's) is a WASM
/// file of its own, fetched the first time a file is attached.
#[cfg(feature = "hydrate")]
#[leptos::lazy]
async fn upload_file(attachments: Attachments, key: String) -> PendingState {
    attachments.run(&key).await
}

#[cfg(feature = "hydrate")]
async fn pause(tries: u32) {
    gloo_timers::future::TimeoutFuture::new(500 * 2u32.pow(tries.min(4))).await;
}

#[cfg(feature = "hydrate")]
fn new_upload_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The files of an event (a paste, a drop, the file picker), if any.
#[cfg(feature = "hydrate")]
pub fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// The files waiting under a room's composer: name, size, progress,
/// cancel; a failed one says why, with a retry. Fetched the first time a
/// file is attached (see `on_demand`).
#[component]
pub fn AttachmentTray(room: i64) -> impl IntoView {
    let attachments = expect_context::<Attachments>();
    let any = Signal::derive(move || {
        attachments
            .pending
            .with(|p| p.iter().any(|f| f.room == room))
    });
    view! { <OnDemand wanted=any load=move || attachment_tray(room)/> }
}

#[leptos::lazy]
fn attachment_tray(room: i64) -> AnyView {
    let attachments = expect_context::<Attachments>();
    let files = move || attachments.of(room);
    view! {
        <Show when=move || !files().is_empty()>
            <ul id="attachments" class="mb-2 flex flex-col gap-1" aria-label="Files to send">
                <For each=files key=|f| (f.key.clone(), f.state.clone(), f.sent) let:file>
                    <PendingRow file/>
                </For>
            </ul>
        </Show>
    }
    .into_any()
}

#[component]
fn PendingRow(file: PendingFile) -> impl IntoView {
    let attachments = expect_context::<Attachments>();
    let percent = if file.size > 0 {
        (file.sent.clamp(0, file.size) * 100 / file.size) as i32
    } else {
        0
    };
    let key = file.key.clone();
    let remove = move |_| attachments.remove(&key);
    let name = file.name.clone();
    let (status, failed) = match &file.state {
        PendingState::Uploading => (
            format!("{} of {}", human_size(file.sent), human_size(file.size)),
            None,
        ),
        PendingState::Ready(_) => (human_size(file.size), None),
        // A file over the limit or empty cannot succeed on a retry.
        PendingState::Failed(why) if file.can_retry() => (why.clone(), Some(file.key.clone())),
        PendingState::Failed(why) => (why.clone(), None),
    };
    let failed_state = matches!(file.state, PendingState::Failed(_));
    let uploading = file.state == PendingState::Uploading;
    view! {
        <li class="pending-file rounded-lg bg-white/5 px-3 py-1.5 text-xs text-slate-200" data-state=match file.state {
            PendingState::Uploading => "uploading",
            PendingState::Ready(_) => "ready",
            PendingState::Failed(_) => "failed",
        }>
            <div class="flex items-center gap-2">
                <span aria-hidden="true">{icon_for(&file.mime, &file.name)}</span>
                <span class="min-w-0 flex-1 truncate font-medium text-slate-100">{name.clone()}</span>
                <span class=if failed_state { "status text-rose-200" } else { "status text-slate-300" }
                    role=failed_state.then_some("alert")>{status}</span>
                {failed.map(|key| view! {
                    <button type="button" class="retry rounded px-1.5 underline hover:bg-white/10"
                        aria-label=format!("Retry {name}") on:click=move |_| {
                            #[cfg(feature = "hydrate")]
                            attachments.retry(&key);
                            #[cfg(not(feature = "hydrate"))]
                            let _ = &key;
                        }>"Retry"</button>
                })}
                <button type="button" class="cancel rounded px-1.5 hover:bg-white/10"
                    aria-label=format!("Remove {}", file.name) on:click=remove>"×"</button>
            </div>
            {uploading.then(|| view! {
                <div class="mt-1 h-1 overflow-hidden rounded bg-white/10" role="progressbar"
                    aria-label=format!("Uploading {}", file.name) aria-valuemin="0" aria-valuemax="100"
                    aria-valuenow=percent.to_string()>
                    <div class="h-full bg-sky-400" style=format!("width: {percent}%")></div>
                </div>
            })}
        </li>
    }
}

/// An icon for a file's type, from its type or its name's extension.
pub fn icon_for(mime: &str, name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match (mime, ext.as_str()) {
        (m, _) if m.starts_with("image/") => "🖼️",
        (m, _) if m.starts_with("video/") => "🎞️",
        (m, _) if m.starts_with("audio/") => "🎵",
        ("application/pdf", _) | (_, "pdf") => "📕",
        (_, "zip" | "gz" | "tgz" | "7z" | "rar" | "xz" | "bz2" | "zst") => "🗜️",
        (_, "xls" | "xlsx" | "csv" | "ods" | "numbers") => "📊",
        (_, "ppt" | "pptx" | "odp" | "key") => "📽️",
        (_, "doc" | "docx" | "odt" | "rtf" | "pages") => "📝",
        (m, _) if m.starts_with("text/") => "📄",
        (_, "txt" | "md" | "log" | "json" | "yaml" | "yml" | "toml") => "📄",
        _ => "📎",
    }
}

/// The largest a thumbnail is drawn, in CSS pixels.
const THUMB_BOX: i64 = 240;

/// A thumbnail's drawn size: the image's, fitted into `THUMB_BOX` (given
/// up front, so the list does not jump when it loads).
pub fn thumb_size(file: &FileView) -> (i64, i64) {
    let (w, h) = (
        file.width.unwrap_or(1).max(1),
        file.height.unwrap_or(1).max(1),
    );
    if w <= THUMB_BOX && h <= THUMB_BOX {
        return (w, h);
    }
    // The longer side becomes the box's; the other keeps the proportion.
    if w >= h {
        (THUMB_BOX, ((h * THUMB_BOX + w / 2) / w).max(1))
    } else {
        (((w * THUMB_BOX + h / 2) / h).max(1), THUMB_BOX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(width: i64, height: i64) -> FileView {
        FileView {
            id: 1,
            name: "a.png".into(),
            size: 1,
            mime: "image/png".into(),
            width: Some(width),
            height: Some(height),
        }
    }

    #[test]
    fn thumbnails_fit_the_box_and_keep_their_shape() {
        assert_eq!(thumb_size(&image(1600, 900)), (240, 135));
        assert_eq!(thumb_size(&image(600, 800)), (180, 240));
        assert_eq!(thumb_size(&image(100, 50)), (100, 50));
        assert_eq!(thumb_size(&image(10_000, 1)), (240, 1));
    }
}

/// A message's files: images as thumbnails (a click opens the viewer),
/// anything else as a card with a download link.
#[component]
pub fn FileList(room: i64, files: Vec<FileView>) -> impl IntoView {
    let client = expect_context::<ChatClient>();
    view! {
        <div class="files mt-1 flex flex-col gap-1.5">
            {files.into_iter().map(|file| {
                if file.is_image() {
                    let (w, h) = thumb_size(&file);
                    let id = file.id;
                    view! {
                        <button type="button" class="file-thumb block w-fit overflow-hidden rounded-lg ring-sky-300 focus-visible:ring-2"
                            aria-label=format!("View {}", file.name) data-file=id
                            on:click=move |_| client.viewing.set(Some((room, id)))>
                            <img src=file.thumbnail_url() alt=file.name.clone() width=w height=h loading="lazy"
                                class="block bg-white/5 object-cover" style=format!("width: {w}px; height: {h}px")/>
                        </button>
                    }.into_any()
                } else {
                    view! {
                        <div class="file-card flex min-w-0 items-center gap-3 rounded-lg border border-white/10 bg-slate-900/40 px-3 py-2" data-file=file.id>
                            <span class="text-2xl" aria-hidden="true">{icon_for(&file.mime, &file.name)}</span>
                            <div class="min-w-0 flex-1">
                                <p class="truncate text-sm font-medium text-slate-100">{file.name.clone()}</p>
                                <p class="text-xs text-slate-300">{human_size(file.size)}</p>
                            </div>
                            <a class="download rounded-lg px-2 py-1 text-xs text-sky-200 underline hover:bg-white/10"
                                href=file.download_url() download=file.name.clone()
                                aria-label=format!("Download {}", file.name)>"Download"</a>
                        </div>
                    }.into_any()
                }
            }).collect_view()}
        </div>
    }
}
