//! The whole instance as rows, for `glasschat export` and `import`: each
//! table a stream of JSON objects (column name → value), read and written
//! generically from the database's own list of columns, so one text serves
//! both databases and a new column travels without a change here.
//!
//! What is sealed at rest travels open (the export is for moving an
//! instance, or leaving it): a message's text, a file's bytes and a site's
//! identity secret are opened on the way out and sealed again under the
//! importing instance's key on the way in. Kept out: sessions, password
//! reset links, the notification outbox, push devices (their subscriptions
//! are bound to this instance's VAPID key), the data keys and the search
//! index (rebuilt after an import).

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use futures::TryStreamExt;
use serde_json::Value;
use sqlx::Row;

use super::files::last_index;
use super::{on_pool, Db, Store, StoreError, ORIGINAL};
use crate::server::crypto::ChunkPlace;

/// One row: column name → value (numbers, text, booleans, bytes in base64).
pub type DumpRow = BTreeMap<String, Value>;

/// The tables an export holds, in the order an import writes them
/// (what a row points at comes first), with the order rows are read in.
/// Messages go before room members: inserting a message moves its
/// sender's read mark (a trigger), and the members' marks as exported
/// must be what stays.
pub const TABLES: &[(&str, &str)] = &[
    ("settings", "name"),
    ("departments", "id"),
    ("sites", "id"),
    ("users", "id"),
    ("user_identities", "user_id, created_at"),
    ("agent_departments", "user_id, department_id"),
    ("rooms", "id"),
    ("messages", "id"),
    ("room_members", "room_id, user_id"),
    ("message_changes", "room_id, seq"),
    ("reactions", "room_id, seq"),
    ("mentions", "room_id, message_seq, COALESCE(user_id, 0)"),
    ("files", "id"),
    ("file_chunks", "file_id, variant, idx"),
    ("invitations", "inviter_id, created_at, token"),
    ("invite_links", "id"),
    ("visitors", "user_id"),
    ("canned_replies", "id"),
    ("ratings", "room_id, resolved_seq"),
    ("support_events", "room_id, seq"),
    ("audit_log", "id"),
];

/// Columns that are the instance's own bookkeeping, not its data: the
/// search index's marks (an import rebuilds the index).
const LOCAL_COLUMNS: &[(&str, &str)] = &[("rooms", "search_unindexed_to")];
/// Settings that belong to the running instance (the retention job's lease).
const LOCAL_SETTINGS: &[&str] = &["retention.lease"];

/// Tables with a generated id to move on after an import (Postgres).
const IDENTITIES: &[&str] = &[
    "users",
    "departments",
    "rooms",
    "messages",
    "invite_links",
    "files",
    "sites",
    "canned_replies",
    "audit_log",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
    Blob,
    Bool,
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
}

fn kind_of(declared: &str) -> Kind {
    let declared = declared.to_ascii_lowercase();
    if declared.contains("int") {
        Kind::Int
    } else if declared.contains("bool") {
        Kind::Bool
    } else if declared.contains("blob") || declared.contains("bytea") {
        Kind::Blob
    } else {
        Kind::Text
    }
}

/// Where an import reads its rows from, table by table.
pub trait RowSource {
    /// The next row of `table`, or `None` when its rows are done.
    fn next_row(&mut self, table: &str) -> Result<Option<DumpRow>, String>;
}

fn bad(table: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::Dump(format!("table {table}: {what}"))
}

fn int(row: &DumpRow, table: &str, column: &str) -> Result<i64, StoreError> {
    row.get(column)
        .and_then(Value::as_i64)
        .ok_or_else(|| bad(table, format!("{column} must be a whole number")))
}

fn bytes(value: Option<&Value>, table: &str, column: &str) -> Result<Vec<u8>, StoreError> {
    value
        .and_then(Value::as_str)
        .and_then(|text| B64.decode(text).ok())
        .ok_or_else(|| bad(table, format!("{column} must be base64")))
}

impl Store {
    /// The table's columns, as the database lists them (generated ones left out).
    async fn dump_columns(&self, table: &str) -> Result<Vec<Column>, StoreError> {
        let rows: Vec<(String, String)> = match self.db() {
            Db::Sqlite(pool) => {
                sqlx::query_as("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
                    .bind(table)
                    .fetch_all(pool)
                    .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'
                     ORDER BY ordinal_position",
                )
                .bind(table)
                .fetch_all(pool)
                .await?
            }
        };
        if rows.is_empty() {
            return Err(bad(table, "no such table"));
        }
        Ok(rows
            .into_iter()
            .filter(|(name, _)| !LOCAL_COLUMNS.contains(&(table, name.as_str())))
            .map(|(name, declared)| Column {
                kind: kind_of(&declared),
                name,
            })
            .collect())
    }

    /// Whether the database holds no account and no conversation yet.
    pub async fn is_empty_instance(&self) -> Result<bool, StoreError> {
        Ok(on_pool!(self.db(), pool => {
            sqlx::query_scalar(
                "SELECT NOT EXISTS (SELECT 1 FROM users) AND NOT EXISTS (SELECT 1 FROM rooms)",
            )
            .fetch_one(pool)
            .await?
        }))
    }

    /// Hands every row of `table` to `each`, opened where it is sealed.
    pub async fn dump_table(
        &self,
        table: &str,
        mut each: impl FnMut(DumpRow) -> Result<(), String>,
    ) -> Result<u64, StoreError> {
        let Some(&(_, order)) = TABLES.iter().find(|(t, _)| *t == table) else {
            return Err(bad(table, "not exported"));
        };
        let columns = self.dump_columns(table).await?;
        let list = columns
            .iter()
            .map(|c| match c.kind {
                Kind::Int => format!("CAST(\"{0}\" AS BIGINT) AS \"{0}\"", c.name),
                _ => format!("\"{}\"", c.name),
            })
            .collect::<Vec<_>>()
            .join(", ");
        // The chunk's place in its file: whether it is the last (bound into its seal).
        let extra = if table == "file_chunks" {
            ", (SELECT f.size FROM files f WHERE f.id = file_chunks.file_id) AS file_size,
               (SELECT CAST(MAX(l.idx) AS BIGINT) FROM file_chunks l
                 WHERE l.file_id = file_chunks.file_id AND l.variant = file_chunks.variant) AS last_idx"
        } else {
            ""
        };
        let sql = format!("SELECT {list}{extra} FROM {table} ORDER BY {order}");
        let mut count = 0;
        on_pool!(self.db(), pool => {
            let mut rows = sqlx::query(&sql).fetch(pool);
            while let Some(row) = rows.try_next().await? {
                let mut out = DumpRow::new();
                for (i, column) in columns.iter().enumerate() {
                    let value = match column.kind {
                        Kind::Int => row.try_get::<Option<i64>, _>(i)?.map(Value::from),
                        Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Value::from),
                        Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(Value::from),
                        Kind::Blob => row
                            .try_get::<Option<Vec<u8>>, _>(i)?
                            .map(|b| Value::from(B64.encode(b))),
                    };
                    out.insert(column.name.clone(), value.unwrap_or(Value::Null));
                }
                if table == "file_chunks" {
                    let size: Option<i64> = row.try_get("file_size")?;
                    let last_idx: Option<i64> = row.try_get("last_idx")?;
                    let variant = int(&out, table, "variant")?;
                    let idx = int(&out, table, "idx")?;
                    let last = if variant == ORIGINAL {
                        Some(idx) == size.map(last_index)
                    } else {
                        Some(idx) == last_idx
                    };
                    out.insert("last".into(), Value::from(last));
                }
                if table == "settings"
                    && out
                        .get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| LOCAL_SETTINGS.contains(&n))
                {
                    continue;
                }
                self.open_row(table, &mut out)?;
                each(out).map_err(|e| bad(table, e))?;
                count += 1;
            }
        });
        Ok(count)
    }

    /// What is sealed at rest, opened: a message's `text` (null for a
    /// deleted one), a chunk's `data`, a site's `secret`.
    fn open_row(&self, table: &str, row: &mut DumpRow) -> Result<(), StoreError> {
        match table {
            "messages" => {
                let body = bytes(row.remove("body").as_ref(), table, "body")?;
                let key_id = row.remove("key_id").and_then(|v| v.as_i64());
                let nonce = match row.remove("nonce") {
                    Some(Value::Null) | None => None,
                    nonce => Some(bytes(nonce.as_ref(), table, "nonce")?),
                };
                let (room, seq) = (int(row, table, "room_id")?, int(row, table, "seq")?);
                let text = if row.get("deleted_at").is_some_and(|v| !v.is_null()) {
                    Value::Null
                } else {
                    let plain = self.keys.open(room, seq, key_id, nonce.as_deref(), &body)?;
                    Value::from(String::from_utf8(plain).map_err(|_| {
                        bad(table, format!("message {seq} of room {room} is not UTF-8"))
                    })?)
                };
                row.insert("text".into(), text);
            }
            "file_chunks" => {
                let data = bytes(row.remove("data").as_ref(), table, "data")?;
                let nonce = bytes(row.remove("nonce").as_ref(), table, "nonce")?;
                let key_id = int(row, table, "key_id")?;
                row.remove("key_id");
                let place = self.chunk_place(row, table)?;
                let plain = self.keys.open_chunk(place, key_id, &nonce, &data)?;
                row.insert("data".into(), Value::from(B64.encode(plain)));
            }
            "sites" => {
                let sealed = bytes(row.remove("secret").as_ref(), table, "secret")?;
                let nonce = bytes(row.remove("secret_nonce").as_ref(), table, "secret_nonce")?;
                let key_id = int(row, table, "secret_key_id")?;
                row.remove("secret_key_id");
                let site_key = row
                    .get("public_key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(table, "public_key must be text"))?
                    .to_string();
                let plain = self
                    .keys
                    .open_site_secret(&site_key, key_id, &nonce, &sealed)?;
                row.insert("secret".into(), Value::from(B64.encode(plain)));
            }
            _ => {}
        }
        Ok(())
    }

    /// The other way: seals what `open_row` opened, under the current key.
    fn seal_row(&self, table: &str, row: &mut DumpRow) -> Result<(), StoreError> {
        match table {
            "messages" => {
                let (room, seq) = (int(row, table, "room_id")?, int(row, table, "seq")?);
                let (body, key_id, nonce) = match row.remove("text") {
                    Some(Value::String(text)) => {
                        let sealed = self.keys.seal(room, seq, text.as_bytes())?;
                        (
                            Value::from(B64.encode(sealed.body)),
                            Value::from(sealed.key_id),
                            Value::from(B64.encode(sealed.nonce)),
                        )
                    }
                    Some(Value::Null) | None => (Value::from(""), Value::Null, Value::Null),
                    Some(_) => return Err(bad(table, "text must be text or null")),
                };
                row.insert("body".into(), body);
                row.insert("key_id".into(), key_id);
                row.insert("nonce".into(), nonce);
            }
            "file_chunks" => {
                let plain = bytes(row.remove("data").as_ref(), table, "data")?;
                let place = self.chunk_place(row, table)?;
                row.remove("last");
                let sealed = self.keys.seal_chunk(place, &plain)?;
                row.insert("data".into(), Value::from(B64.encode(sealed.body)));
                row.insert("key_id".into(), Value::from(sealed.key_id));
                row.insert("nonce".into(), Value::from(B64.encode(sealed.nonce)));
            }
            "sites" => {
                let plain = bytes(row.remove("secret").as_ref(), table, "secret")?;
                let site_key = row
                    .get("public_key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(table, "public_key must be text"))?
                    .to_string();
                let sealed = self.keys.seal_site_secret(&site_key, &plain)?;
                row.insert("secret".into(), Value::from(B64.encode(sealed.body)));
                row.insert("secret_key_id".into(), Value::from(sealed.key_id));
                row.insert("secret_nonce".into(), Value::from(B64.encode(sealed.nonce)));
            }
            _ => {}
        }
        Ok(())
    }

    fn chunk_place(&self, row: &DumpRow, table: &str) -> Result<ChunkPlace, StoreError> {
        Ok(ChunkPlace {
            file: int(row, table, "file_id")?,
            variant: int(row, table, "variant")?,
            index: int(row, table, "idx")?,
            last: row
                .get("last")
                .and_then(Value::as_bool)
                .ok_or_else(|| bad(table, "last must be true or false"))?,
        })
    }

    /// Writes every table's rows from `source`, in `TABLES` order, in one
    /// transaction: all of it or nothing. The database must be a fresh one
    /// (the caller checks: what these tables hold is replaced). Returns
    /// each table's count.
    pub async fn load_tables(
        &self,
        source: &mut dyn RowSource,
    ) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let mut columns = Vec::new();
        for (table, _) in TABLES {
            columns.push(self.dump_columns(table).await?);
        }
        let mut counts = Vec::new();
        on_pool!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            // A fresh database has a few rows of its own (the default
            // departments): the export's take their place.
            for (table, _) in TABLES.iter().rev() {
                sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
            }
            for ((table, _), columns) in TABLES.iter().zip(&columns) {
                let mut count = 0;
                while let Some(mut row) = source.next_row(table).map_err(|e| bad(table, e))? {
                    self.seal_row(table, &mut row)?;
                    if let Some(unknown) = row.keys().find(|k| !columns.iter().any(|c| &c.name == *k)) {
                        return Err(bad(table, format!("no column {unknown} here (an export from a newer Glasschat?)")));
                    }
                    let present: Vec<&Column> = columns.iter().filter(|c| row.contains_key(&c.name)).collect();
                    let names = present.iter().map(|c| format!("\"{}\"", c.name)).collect::<Vec<_>>().join(", ");
                    let marks = (1..=present.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                    let sql = format!("INSERT INTO {table} ({names}) VALUES ({marks})");
                    let mut query = sqlx::query(&sql);
                    for column in present {
                        let value = &row[&column.name];
                        let wrong = || bad(table, format!("{} has a value of the wrong type", column.name));
                        query = match (column.kind, value) {
                            (Kind::Int, Value::Null) => query.bind(None::<i64>),
                            (Kind::Int, v) => query.bind(Some(v.as_i64().ok_or_else(wrong)?)),
                            (Kind::Text, Value::Null) => query.bind(None::<String>),
                            (Kind::Text, v) => query.bind(Some(v.as_str().ok_or_else(wrong)?.to_string())),
                            (Kind::Bool, Value::Null) => query.bind(None::<bool>),
                            (Kind::Bool, v) => query.bind(Some(v.as_bool().ok_or_else(wrong)?)),
                            (Kind::Blob, Value::Null) => query.bind(None::<Vec<u8>>),
                            (Kind::Blob, v) => query.bind(Some(bytes(Some(v), table, &column.name)?)),
                        };
                    }
                    query.execute(&mut *tx).await?;
                    count += 1;
                }
                counts.push((*table, count));
            }
            if matches!(self.db(), Db::Postgres(_)) {
                for table in IDENTITIES {
                    let sql = format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    );
                    sqlx::query(&sql).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
        });
        Ok(counts)
    }
}
