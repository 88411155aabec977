//! `glasschat export --out DIR` and `glasschat import DIR`: the whole
//! instance as JSON lines, one file per table plus `manifest.json`, and
//! back into a fresh database (of either kind: this is also how an
//! instance moves from SQLite to Postgres). An export is decrypted, so it
//! is written readable by this account only, says so, and is in the audit
//! log; an import seals everything again under the new instance's key and
//! rebuilds the search index. The rows themselves are the store's
//! (`store/dump.rs`).

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::audit::{self, Who};
use super::search;
use crate::server::store::{now_ms, DumpRow, RowSource, Store, StoreError, TABLES};

/// What `manifest.json` says an export is.
const FORMAT: &str = "glasschat-export";
const VERSION: i64 = 1;
/// Said at the top of the manifest and on the terminal.
pub const WARNING: &str = "this export holds every message, file and site secret in clear text (and the accounts' password hashes): keep it as safe as the database and its key, and delete it when done";

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} is not empty: export into a new folder")]
    NotEmptyFolder(String),
    #[error("the database is not empty: import into a fresh one (no accounts, no conversations)")]
    NotEmptyDatabase,
    #[error("{0}")]
    BadExport(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, TransferError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TransferError + '_ {
    move |source| TransferError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A new file readable by this account only.
fn private_file(path: &Path) -> Result<BufWriter<File>> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    Ok(BufWriter::new(file))
}

/// Writes every table to `out` (a new or empty folder). Returns the text to print.
pub async fn export(store: &Store, out: &Path) -> Result<String> {
    if out.exists() {
        let mut entries = fs::read_dir(out).map_err(io(out))?;
        if entries.next().is_some() {
            return Err(TransferError::NotEmptyFolder(out.display().to_string()));
        }
    } else {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(out)
            .map_err(io(out))?;
    }
    let mut counts = serde_json::Map::new();
    let mut total = 0;
    for (table, _) in TABLES {
        let path = out.join(format!("{table}.jsonl"));
        let mut file = private_file(&path)?;
        let count = store
            .dump_table(table, |row| {
                serde_json::to_writer(&mut file, &row).map_err(|e| e.to_string())?;
                file.write_all(b"\n").map_err(|e| e.to_string())
            })
            .await?;
        file.flush().map_err(io(&path))?;
        counts.insert((*table).into(), Value::from(count));
        total += count;
    }
    let manifest = json!({
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now_ms(),
        "warning": WARNING,
        "tables": counts,
    });
    let path = out.join("manifest.json");
    let mut file = private_file(&path)?;
    serde_json::to_writer_pretty(&mut file, &manifest)
        .map_err(|e| TransferError::BadExport(e.to_string()))?;
    file.flush().map_err(io(&path))?;
    audit::record(
        store,
        &Who::command_line(),
        "export.instance",
        &out.display().to_string(),
        &format!("{total} rows"),
    )
    .await;
    Ok(format!(
        "exported {total} rows of {} tables to {}\nwarning: {WARNING}\n",
        TABLES.len(),
        out.display()
    ))
}

/// The rows of an export folder, table by table, checked against its manifest.
struct Folder {
    dir: PathBuf,
    expected: serde_json::Map<String, Value>,
    table: Option<&'static str>,
    lines: Option<std::io::Lines<BufReader<File>>>,
    line: u64,
}

impl Folder {
    fn open(dir: &Path) -> Result<Folder> {
        let path = dir.join("manifest.json");
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        let manifest: Value = serde_json::from_str(&text)
            .map_err(|e| TransferError::BadExport(format!("{}: {e}", path.display())))?;
        if manifest["format"] != FORMAT {
            return Err(TransferError::BadExport(format!(
                "{} is not a Glasschat export",
                dir.display()
            )));
        }
        if manifest["version"].as_i64() != Some(VERSION) {
            return Err(TransferError::BadExport(format!(
                "this Glasschat reads exports of version {VERSION}; {} is version {}",
                dir.display(),
                manifest["version"]
            )));
        }
        let expected = manifest["tables"].as_object().cloned().unwrap_or_default();
        Ok(Folder {
            dir: dir.to_path_buf(),
            expected,
            table: None,
            lines: None,
            line: 0,
        })
    }
}

impl RowSource for Folder {
    fn next_row(&mut self, table: &str) -> std::result::Result<Option<DumpRow>, String> {
        if self.table != Some(table) {
            let Some(&(name, _)) = TABLES.iter().find(|(t, _)| *t == table) else {
                return Err("not in an export".into());
            };
            self.table = Some(name);
            self.line = 0;
            let path = self.dir.join(format!("{table}.jsonl"));
            self.lines = match File::open(&path) {
                Ok(file) => Some(BufReader::new(file).lines()),
                // An export from before the table existed.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
                Err(err) => return Err(format!("{}: {err}", path.display())),
            };
        }
        let expected = self
            .expected
            .get(table)
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let Some(lines) = self.lines.as_mut() else {
            return if expected == 0 {
                Ok(None)
            } else {
                Err(format!(
                    "{table}.jsonl is missing ({expected} rows expected)"
                ))
            };
        };
        loop {
            match lines.next() {
                None if self.line == expected => return Ok(None),
                None => {
                    return Err(format!(
                        "{table}.jsonl has {} rows, the manifest says {expected} (cut short?)",
                        self.line
                    ))
                }
                Some(Err(err)) => return Err(format!("{table}.jsonl: {err}")),
                Some(Ok(text)) if text.trim().is_empty() => continue,
                Some(Ok(text)) => {
                    self.line += 1;
                    return serde_json::from_str::<DumpRow>(&text)
                        .map(Some)
                        .map_err(|e| format!("{table}.jsonl line {}: {e}", self.line));
                }
            }
        }
    }
}

/// Reads an export folder into this (fresh) database. Returns the text to print.
pub async fn import(store: &Store, dir: &Path) -> Result<String> {
    let mut folder = Folder::open(dir)?;
    if !store.is_empty_instance().await? {
        return Err(TransferError::NotEmptyDatabase);
    }
    let counts = store.load_tables(&mut folder).await?;
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let index = search::reindex(store).await?;
    let messages = counts
        .iter()
        .find(|(t, _)| *t == "messages")
        .map_or(0, |(_, n)| *n);
    Ok(format!(
        "imported {total} rows ({messages} messages) from {}; everyone signs in again (sessions are not exported), and push notifications are set up again per device\n{index}",
        dir.display()
    ))
}
