//! Files: starting an upload, receiving its bytes as they stream in
//! (sealed chunk by chunk, never whole in memory), finishing it (the type
//! sniffed from the content, thumbnails of images made within bounds), and
//! who may read a file. Sending a file is sending a message that names it
//! (`messages::submit`; the writer attaches it in the message's
//! transaction).

use std::io::Cursor;
use std::sync::LazyLock;
use std::time::Duration;

use axum::body::Body;
use futures::StreamExt;
use tokio::sync::Semaphore;

use crate::model::UploadState;
use crate::realtime::protocol::human_size;
use crate::server::state::AppState;
use crate::server::store::{
    last_index, now_ms, FileRow, NewUpload, StoreError, CHUNK, ORIGINAL, PREVIEW, THUMBNAIL,
};

/// The longest file name kept, in characters (longer ones are cut,
/// keeping the extension).
pub const MAX_NAME_CHARS: usize = 200;
/// Thumbnails fit in this square (shown at half that on a 2x screen).
const THUMBNAIL_EDGE: u32 = 480;
/// Previews (the viewer) fit in this square.
const PREVIEW_EDGE: u32 = 2048;
/// Images with more pixels than this are not decoded (a pixel bomb): they
/// stay downloadable files. 50 megapixels: any camera's photo.
const MAX_PIXELS: u64 = 50_000_000;
/// The most memory one decode may take.
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
/// Unsent uploads are deleted after this long.
const UNSENT_KEPT_MS: i64 = 24 * 3600 * 1000;

/// Image decodes run one at a time (each may take up to `MAX_DECODE_BYTES`).
static DECODES: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(1));

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("you cannot upload into this conversation")]
    NotMember,
    /// No such upload of this user, or no file this user may read.
    #[error("no such file")]
    NotFound,
    #[error("the file is empty")]
    Empty,
    #[error("the file {name} is larger than {max}, the most a file may be")]
    TooLarge { name: String, max: String },
    #[error("this would take you over your {quota} of file storage: delete some files first")]
    OverQuota { quota: String },
    #[error("the upload id must be 1-64 letters, digits, '-' or '_'")]
    BadUploadId,
    #[error("the file needs a name")]
    BadName,
    #[error("this upload id belongs to another file")]
    Reused,
    #[error("the upload is at byte {received}: send from there")]
    WrongOffset { received: i64 },
    #[error("more bytes came than the file's size")]
    TooManyBytes,
    #[error("slow down")]
    SlowDown(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl FileError {
    /// What the uploader reads: "the file is empty" as "The file is empty."
    pub fn sentence(&self) -> String {
        let text = self.to_string();
        let mut chars = text.chars();
        let first: String = chars
            .next()
            .map(|c| c.to_uppercase().collect())
            .unwrap_or_default();
        format!("{first}{}.", chars.as_str())
    }
}

fn state_of(row: &FileRow) -> UploadState {
    UploadState {
        id: row.id,
        received: row.received,
        size: row.size,
        complete: row.completed_at.is_some(),
    }
}

/// Starts an upload of `size` bytes named `name` into `room`, or finds the
/// one this user started with `upload_id` (a retry, or a resume after a
/// cut): where it stands.
pub async fn start(
    state: &AppState,
    user: i64,
    upload_id: &str,
    room: i64,
    name: &str,
    size: i64,
) -> Result<UploadState, FileError> {
    if !super::messages::valid_client_id(upload_id) {
        return Err(FileError::BadUploadId);
    }
    let name = clean_name(name).ok_or(FileError::BadName)?;
    let limits = &state.config.limits;
    if size < 1 {
        return Err(FileError::Empty);
    }
    if size > limits.max_file_bytes {
        return Err(FileError::TooLarge {
            name,
            max: human_size(limits.max_file_bytes),
        });
    }
    let store = &state.store;
    // A resume is not a new upload: no budget, no quota.
    if let Some(found) = store.upload_by_id(user, upload_id).await? {
        return same_upload(&found, room, &name, size);
    }
    state
        .upload_limiter
        .check(user)
        .map_err(FileError::SlowDown)?;
    if let Some(quota) = limits.file_quota_bytes {
        if store.bytes_of(user).await?.saturating_add(size) > quota {
            return Err(FileError::OverQuota {
                quota: human_size(quota),
            });
        }
    }
    let new = NewUpload {
        uploader_id: user,
        upload_id,
        room_id: room,
        name: &name,
        size,
        now: now_ms(),
    };
    let row = store
        .start_upload(&new)
        .await?
        .ok_or(FileError::NotMember)?;
    same_upload(&row, room, &name, size)
}

/// The upload found by its id, if it is the same file.
fn same_upload(row: &FileRow, room: i64, name: &str, size: i64) -> Result<UploadState, FileError> {
    if row.room_id != room || row.name != name || row.size != size {
        return Err(FileError::Reused);
    }
    Ok(state_of(row))
}

/// A file name as shown and offered for download: no path, no control
/// characters, at most `MAX_NAME_CHARS` (the extension kept).
pub fn clean_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_string();
    if clean.is_empty() {
        return None;
    }
    if clean.chars().count() <= MAX_NAME_CHARS {
        return Some(clean);
    }
    let (stem, ext) = match clean.rsplit_once('.') {
        Some((stem, ext)) if ext.chars().count() <= 10 => (stem, format!(".{ext}")),
        _ => (clean.as_str(), String::new()),
    };
    let keep = MAX_NAME_CHARS - ext.chars().count();
    Some(stem.chars().take(keep).collect::<String>() + &ext)
}

/// Receives the bytes of upload `id` from `offset` on (a chunk's start at
/// or below what is stored; bytes already there are skipped), storing each
/// whole chunk as it fills. A body that stops early keeps every whole
/// chunk: the upload resumes from there. The last byte finishes the file.
pub async fn receive(
    state: &AppState,
    user: i64,
    id: i64,
    offset: i64,
    body: Body,
) -> Result<UploadState, FileError> {
    let store = &state.store;
    let row = store
        .upload_of(id, user)
        .await?
        .ok_or(FileError::NotFound)?;
    if row.completed_at.is_some() {
        return Ok(state_of(&row));
    }
    if offset < 0 || offset > row.received || offset % CHUNK != 0 {
        return Err(FileError::WrongOffset {
            received: row.received,
        });
    }
    let mut skip = (row.received - offset) as usize;
    let mut at = row.received;
    let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK as usize);
    let mut stream = body.into_data_stream();
    let mut cut = false;
    while let Some(frame) = stream.next().await {
        let Ok(bytes) = frame else {
            cut = true; // the client went away: keep what is whole
            break;
        };
        let mut bytes = &bytes[..];
        if skip > 0 {
            let n = skip.min(bytes.len());
            bytes = &bytes[n..];
            skip -= n;
        }
        while !bytes.is_empty() {
            let take = (CHUNK as usize - buffer.len()).min(bytes.len());
            buffer.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if at + buffer.len() as i64 > row.size {
                return Err(FileError::TooManyBytes);
            }
            if buffer.len() == CHUNK as usize {
                at = store_chunk(state, &row, at, &buffer).await?;
                buffer.clear();
            }
        }
    }
    if !cut && !buffer.is_empty() && at + buffer.len() as i64 == row.size {
        at = store_chunk(state, &row, at, &buffer).await?;
    }
    if at == row.size {
        finish(state, &row).await?;
    }
    let row = store
        .upload_of(id, user)
        .await?
        .ok_or(FileError::NotFound)?;
    Ok(state_of(&row))
}

/// Stores the chunk that starts at byte `at`; where the upload is after it.
async fn store_chunk(
    state: &AppState,
    row: &FileRow,
    at: i64,
    bytes: &[u8],
) -> Result<i64, FileError> {
    let index = at / CHUNK;
    let to = at + bytes.len() as i64;
    let last = to == row.size;
    if !state
        .store
        .put_chunk(row.id, index, last, bytes, (at, to))
        .await?
    {
        // Another request of the same upload stored it first.
        let now = state.store.upload_of(row.id, row.uploader_id).await?;
        return Err(FileError::WrongOffset {
            received: now.map_or(at, |r| r.received),
        });
    }
    Ok(to)
}

/// The types shown inline (as a thumbnail and a preview the server made).
const INLINE_IMAGES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Reads what the finished upload is, makes an image's thumbnail and
/// preview, and marks it complete.
async fn finish(state: &AppState, row: &FileRow) -> Result<(), FileError> {
    let store = &state.store;
    let last = last_index(row.size);
    let head = store
        .chunk(row.id, ORIGINAL, 0, last == 0)
        .await?
        .unwrap_or_default();
    let mime = infer::get(&head)
        .map(|kind| kind.mime_type())
        .unwrap_or("application/octet-stream");
    let mut image = None;
    if INLINE_IMAGES.contains(&mime) {
        // One image in memory at a time: its bytes (up to the file limit)
        // and its decode are both under the permit.
        let permit = DECODES.acquire().await;
        let mut bytes = Vec::with_capacity(row.size as usize);
        bytes.extend_from_slice(&head);
        for index in 1..=last {
            match store.chunk(row.id, ORIGINAL, index, index == last).await? {
                Some(part) => bytes.extend_from_slice(&part),
                None => return Ok(()), // cannot happen: every chunk is there
            }
        }
        let made = tokio::task::spawn_blocking(move || derive_images(&bytes))
            .await
            .ok()
            .flatten();
        drop(permit);
        if let Some(made) = made {
            store
                .put_variant(row.id, THUMBNAIL, &made.thumbnail, CHUNK as usize)
                .await?;
            store
                .put_variant(row.id, PREVIEW, &made.preview, CHUNK as usize)
                .await?;
            image = Some((made.width, made.height));
        }
    }
    store.complete_upload(row.id, mime, image, now_ms()).await?;
    Ok(())
}

/// An image's size after its orientation, and its thumbnail and preview,
/// encoded afresh (no metadata of the upload survives).
#[derive(Debug)]
pub struct DerivedImages {
    pub width: i64,
    pub height: i64,
    pub thumbnail: Vec<u8>,
    pub preview: Vec<u8>,
}

/// Decodes an image within bounds (dimensions, pixels, memory) and makes
/// its thumbnail and preview; `None` when it is not a decodable image
/// within them (a pixel or decompression bomb, a broken file): it is then
/// only offered for download.
pub fn derive_images(bytes: &[u8]) -> Option<DerivedImages> {
    use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().ok()?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS || decoder.total_bytes() > MAX_DECODE_BYTES {
        return None;
    }
    let orientation = decoder.orientation().ok()?;
    let mut image = DynamicImage::from_decoder(decoder).ok()?;
    image.apply_orientation(orientation);
    let (width, height) = (i64::from(image.width()), i64::from(image.height()));
    let thumbnail = encode(&image.thumbnail(THUMBNAIL_EDGE, THUMBNAIL_EDGE))?;
    let preview = if image.width() > PREVIEW_EDGE || image.height() > PREVIEW_EDGE {
        encode(&image.resize(
            PREVIEW_EDGE,
            PREVIEW_EDGE,
            image::imageops::FilterType::Triangle,
        ))?
    } else {
        encode(&image)?
    };
    Some(DerivedImages {
        width,
        height,
        thumbnail,
        preview,
    })
}

/// PNG when the image has transparency, JPEG otherwise.
fn encode(image: &image::DynamicImage) -> Option<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    if image.color().has_alpha() {
        image
            .to_rgba8()
            .write_to(&mut out, image::ImageFormat::Png)
            .ok()?;
    } else {
        let rgb = image.to_rgb8();
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82);
        rgb.write_with_encoder(encoder).ok()?;
    }
    Some(out.into_inner())
}

/// Which bytes of a file a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Original,
    Thumbnail,
    Preview,
}

/// A file someone may read now, and how to send it.
#[derive(Debug, Clone)]
pub struct Readable {
    pub file: FileRow,
    pub variant: i64,
    /// The number of chunks of that variant.
    pub chunks: i64,
}

/// File `id` for `user` if they may read it now (a member of its room, the
/// message that carries it still there); `NotFound` for anything else,
/// whether the file exists or not.
pub async fn open(
    state: &AppState,
    user: i64,
    id: i64,
    variant: Variant,
) -> Result<Readable, FileError> {
    let store = &state.store;
    let file = store
        .readable_file(id, user)
        .await?
        .ok_or(FileError::NotFound)?;
    let (variant, chunks) = match variant {
        Variant::Original => (ORIGINAL, last_index(file.size) + 1),
        Variant::Thumbnail | Variant::Preview if file.width.is_none() => {
            return Err(FileError::NotFound)
        }
        Variant::Thumbnail => (THUMBNAIL, store.chunk_count(id, THUMBNAIL).await?),
        Variant::Preview => (PREVIEW, store.chunk_count(id, PREVIEW).await?),
    };
    Ok(Readable {
        file,
        variant,
        chunks,
    })
}

/// The type a file is sent as: what was sniffed, except types a browser
/// would run or render as a page (sent as plain bytes; they are downloads
/// anyway).
pub fn served_type(mime: &str) -> &str {
    let active = mime.starts_with("text/")
        || mime.contains("html")
        || mime.contains("xml")
        || mime.contains("javascript")
        || mime.contains("svg");
    if active {
        "application/octet-stream"
    } else {
        mime
    }
}

/// The background task that deletes uploads never sent, a day after they
/// began (so an abandoned upload does not hold storage or quota).
pub fn spawn_unsent_sweep(state: AppState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            match state
                .store
                .drop_unsent_uploads(now_ms() - UNSENT_KEPT_MS)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(uploads = n, "deleted uploads never sent"),
                Err(err) => tracing::warn!(error = %err, "could not delete unsent uploads"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_and_control_characters_and_keep_their_extension() {
        assert_eq!(
            clean_name("C:\\Users\\ada\\report.pdf").as_deref(),
            Some("report.pdf")
        );
        assert_eq!(clean_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(clean_name("a\u{0}b\nc.txt").as_deref(), Some("abc.txt"));
        assert_eq!(clean_name("  ").as_deref(), None);
        assert_eq!(clean_name(".htaccess").as_deref(), Some("htaccess"));
        let long = format!("{}.png", "x".repeat(500));
        let cut = clean_name(&long).unwrap();
        assert_eq!(cut.chars().count(), MAX_NAME_CHARS);
        assert!(cut.ends_with(".png"));
    }

    #[test]
    fn what_a_browser_would_run_is_served_as_bytes() {
        assert_eq!(served_type("text/html"), "application/octet-stream");
        assert_eq!(served_type("image/svg+xml"), "application/octet-stream");
        assert_eq!(served_type("application/xml"), "application/octet-stream");
        assert_eq!(served_type("application/pdf"), "application/pdf");
        assert_eq!(served_type("image/png"), "image/png");
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]));
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn an_image_gets_a_bounded_thumbnail_and_preview() {
        let made = derive_images(&png(3000, 1000)).unwrap();
        assert_eq!((made.width, made.height), (3000, 1000));
        let thumb = image::load_from_memory(&made.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (480, 160));
        let preview = image::load_from_memory(&made.preview).unwrap();
        assert_eq!((preview.width(), preview.height()), (2048, 683));
    }

    /// What is not an image within bounds is not decoded (pixel bombs
    /// are tested end to end in tests/files.rs).
    #[test]
    fn what_does_not_decode_is_no_image() {
        assert!(derive_images(b"not an image at all").is_none());
        let mut cut = png(100, 100);
        cut.truncate(cut.len() / 2);
        assert!(derive_images(&cut).is_none());
    }
}
