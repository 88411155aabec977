//! Files and their sealed chunks (migrations 0013). An upload is written
//! chunk by chunk as its bytes arrive, each chunk sealed on its own
//! (`crypto::ChunkPlace`); the writer attaches a finished upload to its
//! message (`writer/batch.rs`), and reads here check that the reader is a
//! member of the file's room.

use super::spans::{Span, SPANS};
use super::{id_list, on_pool, Store, StoreError};
use crate::realtime::protocol::FileView;
use crate::server::crypto::ChunkPlace;

/// An upload is stored in chunks of this many bytes (the last may be
/// shorter): a resumed upload starts again at a chunk's start. 64 KiB, as
/// age's STREAM: each upload in flight holds about one chunk (and its
/// sealed copy), and a database connection's buffers stay that small.
pub const CHUNK: i64 = 64 * 1024;

/// The index of the last chunk of an upload of `size` bytes.
pub fn last_index(size: i64) -> i64 {
    (size.max(1) - 1) / CHUNK
}

/// The bytes of the upload as it came.
pub const ORIGINAL: i64 = 0;
/// A small image for the message list.
pub const THUMBNAIL: i64 = 1;
/// A larger image for the viewer.
pub const PREVIEW: i64 = 2;

/// A file as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FileRow {
    pub id: i64,
    pub uploader_id: i64,
    pub upload_id: String,
    pub room_id: i64,
    pub name: String,
    pub size: i64,
    pub received: i64,
    pub mime: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub message_id: Option<i64>,
    pub completed_at: Option<i64>,
}

impl FileRow {
    pub fn view(&self) -> FileView {
        FileView {
            id: self.id,
            name: self.name.clone(),
            size: self.size,
            mime: self
                .mime
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            width: self.width,
            height: self.height,
        }
    }
}

/// An upload to start (or find again by its `upload_id`).
#[derive(Debug, Clone)]
pub struct NewUpload<'a> {
    pub uploader_id: i64,
    pub upload_id: &'a str,
    pub room_id: i64,
    pub name: &'a str,
    pub size: i64,
    pub now: i64,
}

pub(super) const FILE_COLUMNS: &str = "id, uploader_id, upload_id, room_id, name, size, received, mime, width, height, message_id, completed_at";

/// The files of stretches of messages (`spans`, by the messages' seqs).
static FILES_IN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let columns: Vec<String> = FILE_COLUMNS.split(", ").map(|c| format!("f.{c}")).collect();
    format!(
        "SELECT {} FROM files f JOIN messages m ON m.id = f.message_id
         WHERE {SPANS} ORDER BY f.position, f.id",
        columns.join(", ")
    )
});

/// The writer: whether file $1 is a finished upload of $2 into room $3,
/// not sent yet.
pub(super) const FILE_READY: &str = "SELECT id FROM files
     WHERE id = $1 AND uploader_id = $2 AND room_id = $3 AND completed_at IS NOT NULL AND message_id IS NULL";
/// The writer: file $2 goes with message $1, at place $3.
pub(super) const ATTACH_FILE: &str =
    "UPDATE files SET message_id = $1, position = $3 WHERE id = $2";
/// The writer: the files of message $1, as a view shows them.
pub(super) const FILES_OF_MESSAGE: &str =
    "SELECT id, name, size, COALESCE(mime, 'application/octet-stream'), width, height
     FROM files WHERE message_id = $1 ORDER BY position, id";
/// The writer: a deleted message's files go (their chunks cascade).
pub(super) const DROP_MESSAGE_FILES: &str =
    "DELETE FROM files WHERE message_id = (SELECT id FROM messages WHERE room_id = $1 AND seq = $2)";

/// A row of `FILES_OF_MESSAGE`.
pub(super) type FileColumns = (i64, String, i64, String, Option<i64>, Option<i64>);

pub(super) fn file_view((id, name, size, mime, width, height): FileColumns) -> FileView {
    FileView {
        id,
        name,
        size,
        mime,
        width,
        height,
    }
}

/// Puts each file (in its message's order) on the view of its message.
pub(super) fn give_files(rows: Vec<FileRow>, views: &mut [crate::realtime::protocol::MessageView]) {
    for row in rows {
        if let Some(view) = views.iter_mut().find(|v| Some(v.id) == row.message_id) {
            view.files.push(row.view());
        }
    }
}

/// A sealed chunk as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
struct ChunkRow {
    key_id: i64,
    nonce: Vec<u8>,
    data: Vec<u8>,
}

/// Whether `user` may read `file`: a member of its room, and the file is
/// part of a message (not deleted). Anything else reads as no file.
const READABLE_FILE: &str =
    "SELECT f.id, f.uploader_id, f.upload_id, f.room_id, f.name, f.size, f.received,
        f.mime, f.width, f.height, f.message_id, f.completed_at
     FROM files f
     JOIN messages m ON m.id = f.message_id AND m.deleted_at IS NULL
     JOIN room_members rm ON rm.room_id = f.room_id AND rm.user_id = $2
     WHERE f.id = $1";

impl Store {
    /// Starts an upload into a room `uploader_id` is a member of, or finds
    /// the one started with the same `upload_id`. `None`: not a member (or
    /// no such room).
    pub async fn start_upload(&self, new: &NewUpload<'_>) -> Result<Option<FileRow>, StoreError> {
        on_pool!(self.db(), pool => {
            sqlx::query(
                "INSERT INTO files (uploader_id, upload_id, room_id, name, size, created_at)
                 SELECT $1, $2, $3, $4, $5, $6
                 WHERE EXISTS (SELECT 1 FROM room_members WHERE room_id = $3 AND user_id = $1)
                 ON CONFLICT (uploader_id, upload_id) DO NOTHING",
            )
            .bind(new.uploader_id).bind(new.upload_id).bind(new.room_id)
            .bind(new.name).bind(new.size).bind(new.now)
            .execute(pool).await?;
        });
        // A row for another room is the same upload id reused: the caller
        // compares. A row only exists where the uploader was a member.
        self.upload_by_id(new.uploader_id, new.upload_id).await
    }

    /// The upload `uploader` started with `upload_id`, if any.
    pub async fn upload_by_id(
        &self,
        uploader: i64,
        upload_id: &str,
    ) -> Result<Option<FileRow>, StoreError> {
        let sql =
            format!("SELECT {FILE_COLUMNS} FROM files WHERE uploader_id = $1 AND upload_id = $2");
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(&sql).bind(uploader).bind(upload_id).fetch_optional(pool).await?
        }))
    }

    /// The upload `id` of `uploader` (not someone else's).
    pub async fn upload_of(&self, id: i64, uploader: i64) -> Result<Option<FileRow>, StoreError> {
        let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE id = $1 AND uploader_id = $2");
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(&sql).bind(id).bind(uploader).fetch_optional(pool).await?
        }))
    }

    /// Bytes of every file `uploader` has stored or is uploading.
    pub async fn bytes_of(&self, uploader: i64) -> Result<i64, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar::<_, Option<i64>>("SELECT CAST(SUM(size) AS BIGINT) FROM files WHERE uploader_id = $1")
                .bind(uploader).fetch_one(pool).await?.unwrap_or(0)
        }))
    }

    /// Seals and stores chunk `index` of `file`'s upload, moving `received`
    /// from `from` to `to` in the same transaction. False when `received`
    /// was not `from` any more (another request for the same upload got
    /// there first): nothing is stored.
    pub async fn put_chunk(
        &self,
        file: i64,
        index: i64,
        last: bool,
        plain: &[u8],
        (from, to): (i64, i64),
    ) -> Result<bool, StoreError> {
        let place = ChunkPlace {
            file,
            variant: ORIGINAL,
            index,
            last,
        };
        let sealed = self.keys.seal_chunk(place, plain)?;
        let _turn = self.chunk_writers.acquire().await;
        on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query("UPDATE files SET received = $3 WHERE id = $1 AND received = $2 AND completed_at IS NULL")
                .bind(file).bind(from).bind(to)
                .execute(&mut *tx).await?.rows_affected();
            if moved == 0 {
                return Ok(false);
            }
            sqlx::query("INSERT INTO file_chunks (file_id, variant, idx, key_id, nonce, data) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(file).bind(ORIGINAL).bind(index).bind(sealed.key_id).bind(&sealed.nonce).bind(&sealed.body)
                .execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(true)
    }

    /// Stores a derived image (`variant`) of `file` in chunks of `chunk` bytes.
    pub async fn put_variant(
        &self,
        file: i64,
        variant: i64,
        bytes: &[u8],
        chunk: usize,
    ) -> Result<(), StoreError> {
        let mut parts: Vec<&[u8]> = bytes.chunks(chunk).collect();
        if parts.is_empty() {
            parts.push(&[]);
        }
        let count = parts.len();
        for (index, part) in parts.into_iter().enumerate() {
            let place = ChunkPlace {
                file,
                variant,
                index: index as i64,
                last: index + 1 == count,
            };
            let sealed = self.keys.seal_chunk(place, part)?;
            let _turn = self.chunk_writers.acquire().await;
            on_pool!(self.db(), pool => {
                sqlx::query("INSERT INTO file_chunks (file_id, variant, idx, key_id, nonce, data) VALUES ($1, $2, $3, $4, $5, $6)
                             ON CONFLICT (file_id, variant, idx) DO NOTHING")
                    .bind(file).bind(variant).bind(index as i64).bind(sealed.key_id).bind(&sealed.nonce).bind(&sealed.body)
                    .execute(pool).await?;
            });
        }
        Ok(())
    }

    /// Marks an upload whose bytes are all there as complete, with what its
    /// content turned out to be.
    pub async fn complete_upload(
        &self,
        file: i64,
        mime: &str,
        image: Option<(i64, i64)>,
        now: i64,
    ) -> Result<(), StoreError> {
        let (width, height) = image.unzip();
        on_pool!(self.db(), pool => {
            sqlx::query("UPDATE files SET mime = $2, width = $3, height = $4, completed_at = $5 WHERE id = $1 AND completed_at IS NULL")
                .bind(file).bind(mime).bind(width).bind(height).bind(now)
                .execute(pool).await?;
        });
        Ok(())
    }

    /// Opens chunk `index` of `variant` of `file` (`last`: whether it is
    /// the last one, as sealed). `None` when there is no such chunk.
    pub async fn chunk(
        &self,
        file: i64,
        variant: i64,
        index: i64,
        last: bool,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<ChunkRow> = on_pool!(self.db(), pool => {
            sqlx::query_as("SELECT key_id, nonce, data FROM file_chunks WHERE file_id = $1 AND variant = $2 AND idx = $3")
                .bind(file).bind(variant).bind(index).fetch_optional(pool).await?
        });
        let Some(row) = row else {
            return Ok(None);
        };
        let place = ChunkPlace {
            file,
            variant,
            index,
            last,
        };
        Ok(Some(
            self.keys
                .open_chunk(place, row.key_id, &row.nonce, &row.data)?,
        ))
    }

    /// How many chunks `variant` of `file` has (0: none).
    pub async fn chunk_count(&self, file: i64, variant: i64) -> Result<i64, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM file_chunks WHERE file_id = $1 AND variant = $2")
                .bind(file).bind(variant).fetch_one(pool).await?
        }))
    }

    /// File `id` if `user` may read it now; `None` otherwise (no such file,
    /// not sent yet, its message deleted, or not a member of its room).
    pub async fn readable_file(&self, id: i64, user: i64) -> Result<Option<FileRow>, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_as(READABLE_FILE).bind(id).bind(user).fetch_optional(pool).await?
        }))
    }

    /// Deletes uploads never sent in a message, started before `before`
    /// (their chunks go with them). The number deleted.
    pub async fn drop_unsent_uploads(&self, before: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query("DELETE FROM files WHERE message_id IS NULL AND created_at < $1")
                .bind(before).execute(pool).await?.rows_affected()
        }))
    }

    /// The files of the messages in `spans` (by seq).
    pub(super) async fn files_in(&self, spans: &[Span]) -> Result<Vec<FileRow>, StoreError> {
        self.rows_in_spans(&FILES_IN, ("m.room_id", "m.seq"), spans)
            .await
    }

    /// Fills in the files of `views` (messages of any rooms, by id).
    pub(super) async fn attach_files_by_id(
        &self,
        views: &mut [crate::realtime::protocol::MessageView],
    ) -> Result<(), StoreError> {
        if views.is_empty() {
            return Ok(());
        }
        let list = id_list(views.iter().map(|v| v.id));
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM files WHERE message_id IN ({list}) ORDER BY position, id"
        );
        let rows: Vec<FileRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        give_files(rows, views);
        Ok(())
    }

    /// Re-seals up to `limit` file chunks after (`file`, `variant`, `idx`)
    /// that are not under the current key; the number moved, and where the
    /// next batch starts (`None`: done).
    pub async fn reencrypt_chunks(
        &self,
        after: (i64, i64, i64),
        limit: i64,
    ) -> Result<(u64, Option<(i64, i64, i64)>), StoreError> {
        let Some(current) = self.keys.current() else {
            return Ok((0, None));
        };
        #[derive(sqlx::FromRow)]
        struct Old {
            file_id: i64,
            variant: i64,
            idx: i64,
            key_id: i64,
            nonce: Vec<u8>,
            data: Vec<u8>,
            size: i64,
            last_variant_idx: i64,
        }
        let rows: Vec<Old> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT c.file_id, CAST(c.variant AS BIGINT) AS variant, CAST(c.idx AS BIGINT) AS idx, c.key_id, c.nonce, c.data, f.size,
                        (SELECT CAST(MAX(l.idx) AS BIGINT) FROM file_chunks l WHERE l.file_id = c.file_id AND l.variant = c.variant) AS last_variant_idx
                 FROM file_chunks c JOIN files f ON f.id = c.file_id
                 WHERE (c.file_id, c.variant, c.idx) > ($1, $2, $3) AND c.key_id <> $4
                 ORDER BY c.file_id, c.variant, c.idx LIMIT $5",
            )
            .bind(after.0).bind(after.1).bind(after.2).bind(current).bind(limit)
            .fetch_all(pool).await?
        });
        let next = rows.last().map(|r| (r.file_id, r.variant, r.idx));
        let mut moved = 0;
        for row in rows {
            let last = if row.variant == ORIGINAL {
                row.idx == last_index(row.size)
            } else {
                row.idx == row.last_variant_idx
            };
            let place = ChunkPlace {
                file: row.file_id,
                variant: row.variant,
                index: row.idx,
                last,
            };
            let plain = match self
                .keys
                .open_chunk(place, row.key_id, &row.nonce, &row.data)
            {
                Ok(plain) => plain,
                Err(err) => {
                    tracing::warn!(file = row.file_id, chunk = row.idx, error = %err, "a file chunk does not decrypt; left as is");
                    continue;
                }
            };
            let sealed = self.keys.seal_chunk(place, &plain)?;
            moved += on_pool!(self.db(), pool => {
                sqlx::query(
                    "UPDATE file_chunks SET key_id = $4, nonce = $5, data = $6
                     WHERE file_id = $1 AND variant = $2 AND idx = $3 AND nonce = $7",
                )
                .bind(row.file_id).bind(row.variant).bind(row.idx)
                .bind(sealed.key_id).bind(&sealed.nonce).bind(&sealed.body).bind(&row.nonce)
                .execute(pool).await?.rows_affected()
            });
        }
        Ok((moved, next))
    }
}
