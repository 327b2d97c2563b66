//! Where a published layout's bytes are kept: a directory (for an HTTP
//! origin) or a DynamoDB table. Publishing writes through [`Store`]; the
//! edit commands read through it too (the head, a generation's head and
//! chunks, the history records).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use flagcore::edit::record::{HISTORY_DIR, MAX_RECORD_BYTES};
use flagcore::published::{HEAD_NAME, MAX_HEAD_BYTES, MAX_STORED_CHUNK_BYTES};

use crate::dynamodb::Table;
use crate::Failure;

/// Where to publish: a directory, or a DynamoDB table (and a prefix).
#[derive(Clone)]
pub(crate) enum Destination {
    Directory(PathBuf),
    DynamoDb {
        table: String,
        prefix: Option<String>,
    },
}

pub(crate) fn destination(text: &str) -> Result<Destination, String> {
    if let Some(rest) = text.strip_prefix("dynamodb:") {
        let (table, prefix) = match rest.split_once('/') {
            Some((table, prefix)) => (table, Some(prefix)),
            None => (rest, None),
        };
        if table.is_empty() || prefix == Some("") {
            return Err(
                "--to dynamodb: names a table, and optionally a prefix: dynamodb:TABLE[/PREFIX]"
                    .into(),
            );
        }
        return Ok(Destination::DynamoDb {
            table: table.to_owned(),
            prefix: prefix.map(str::to_owned),
        });
    }
    if text.is_empty() {
        return Err("--to names a directory, or dynamodb:TABLE[/PREFIX]".into());
    }
    Ok(Destination::Directory(PathBuf::from(text)))
}

/// What a conditional write of the head did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeadWrite {
    Written,
    /// The head is no longer the one read: another publisher replaced it.
    Replaced,
    /// Another publisher holds the directory's lock on the head (named).
    Busy(String),
}

/// Where the layout's bytes are stored.
pub(crate) trait Store {
    fn describe(&self) -> String;
    /// The head's text as it is now, or `None`.
    fn read_head(&mut self) -> Result<Option<String>, Failure>;
    /// Each chunk's gzip bytes under its name.
    fn write_chunks(&mut self, chunks: &[(String, Vec<u8>)]) -> Result<(), Failure>;
    fn write_generation_head(&mut self, name: &str, text: &str) -> Result<(), Failure>;
    /// The head, unless it is no longer `previous`.
    fn write_head(&mut self, text: &str, previous: Option<&str>) -> Result<HeadWrite, Failure>;
    /// Lets the replaced generation's items expire at `at_seconds`.
    fn expire(&mut self, names: &[String], at_seconds: u64) -> Result<(), Failure>;
    /// A generation's own head's text, or `None`.
    fn read_generation_head(&mut self, name: &str) -> Result<Option<String>, Failure>;
    /// A chunk's gzip bytes (at most `MAX_STORED_CHUNK_BYTES`), or `None`.
    fn read_chunk(&mut self, name: &str) -> Result<Option<Vec<u8>>, Failure>;
    /// A history record, which nothing replaces or expires.
    fn write_record(&mut self, name: &str, text: &str) -> Result<(), Failure>;
    /// The newest `limit` history records' names and texts, newest first.
    fn read_records(&mut self, limit: usize) -> Result<Vec<(String, String)>, Failure>;
    /// A text kept beside the layout (a canary's state) under `name`, at
    /// most `most` bytes (more is refused), or `None`.
    fn read_text(&mut self, name: &str, most: usize) -> Result<Option<String>, Failure>;
    /// Keeps a text beside the layout under `name`, replacing it only if
    /// it is still `previous` (`None`: there is none): `false` when another
    /// writer changed it meanwhile.
    fn write_text(
        &mut self,
        name: &str,
        text: &str,
        previous: Option<&str>,
    ) -> Result<bool, Failure>;
    /// Keeps a text beside the layout under `name`, whatever is there.
    fn replace_text(&mut self, name: &str, text: &str) -> Result<(), Failure>;
}

fn too_large(at: &str, name: &str, most: usize) -> Failure {
    Failure(format!(
        "{at}: {name} is larger than {most} bytes, more than flagcore writes there"
    ))
}

pub(crate) fn open(destination: &Destination) -> Result<Box<dyn Store>, Failure> {
    Ok(match destination {
        Destination::Directory(dir) => Box::new(Directory(dir.clone())),
        Destination::DynamoDb { table, prefix } => {
            Box::new(DynamoDbStore(Table::from_env(table, prefix.as_deref())?))
        }
    })
}

/// Files for an HTTP origin: each written under a temporary name, then
/// renamed into place. Old generations stay: the origin's own rules (an S3
/// lifecycle rule) expire them.
pub(crate) struct Directory(pub(crate) PathBuf);

/// The lock a directory's publisher holds from comparing the head to
/// replacing it, so that the compare and the swap are one step: an
/// exclusive lock on `head.json.lock` (the file stays), which the system
/// lets go of when the file is closed, so a publisher that crashed or was
/// killed leaves nothing held.
pub(crate) struct HeadLock(fs::File);

/// What taking the head's lock found.
pub(crate) enum Begin {
    Locked(HeadLock),
    Other(HeadWrite),
}

impl Directory {
    /// Takes the head's lock and compares the head with `previous`.
    pub(crate) fn begin_head(&self, previous: Option<&str>) -> Result<Begin, Failure> {
        let path = self.0.join(format!("{HEAD_NAME}.lock"));
        let fail = |e: std::io::Error| Failure(format!("cannot lock {}: {e}", path.display()));
        let file = open_lock(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Ok(Begin::Other(HeadWrite::Busy(path.display().to_string())))
            }
            Err(fs::TryLockError::Error(e)) => return Err(fail(e)),
        }
        let lock = HeadLock(file);
        let now = read_bounded(&self.0.join(HEAD_NAME), MAX_HEAD_BYTES + 1)?;
        if now.as_deref().map(String::from_utf8_lossy).as_deref() != previous {
            return Ok(Begin::Other(HeadWrite::Replaced));
        }
        Ok(Begin::Locked(lock))
    }

    /// Replaces the head under the lock `begin_head` gave, then lets go of it.
    pub(crate) fn commit_head(&self, lock: HeadLock, text: &str) -> Result<(), Failure> {
        write_whole(&self.0.join(HEAD_NAME), text.as_bytes())?;
        drop(lock.0);
        Ok(())
    }
}

impl Store for Directory {
    fn describe(&self) -> String {
        self.0.join(HEAD_NAME).display().to_string()
    }

    fn read_head(&mut self) -> Result<Option<String>, Failure> {
        // A head that is not text reads as one that does not parse: replaced.
        let bytes = read_bounded(&self.0.join(HEAD_NAME), MAX_HEAD_BYTES + 1)?;
        Ok(bytes.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn write_chunks(&mut self, chunks: &[(String, Vec<u8>)]) -> Result<(), Failure> {
        for (name, bytes) in chunks {
            write_whole(&self.0.join(name), bytes)?;
        }
        Ok(())
    }

    fn write_generation_head(&mut self, name: &str, text: &str) -> Result<(), Failure> {
        write_whole(&self.0.join(name), text.as_bytes())
    }

    fn write_head(&mut self, text: &str, previous: Option<&str>) -> Result<HeadWrite, Failure> {
        match self.begin_head(previous)? {
            Begin::Locked(lock) => self.commit_head(lock, text).map(|()| HeadWrite::Written),
            Begin::Other(other) => Ok(other),
        }
    }

    fn expire(&mut self, _names: &[String], _at_seconds: u64) -> Result<(), Failure> {
        Ok(())
    }

    fn read_generation_head(&mut self, name: &str) -> Result<Option<String>, Failure> {
        let bytes = read_bounded(&self.0.join(name), MAX_HEAD_BYTES + 1)?;
        Ok(bytes.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn read_chunk(&mut self, name: &str) -> Result<Option<Vec<u8>>, Failure> {
        read_bounded(&self.0.join(name), MAX_STORED_CHUNK_BYTES + 1)
    }

    fn write_record(&mut self, name: &str, text: &str) -> Result<(), Failure> {
        write_whole(&self.0.join(name), text.as_bytes())
    }

    fn read_records(&mut self, limit: usize) -> Result<Vec<(String, String)>, Failure> {
        let dir = self.0.join(HISTORY_DIR);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Failure(format!("cannot read {}: {e}", dir.display()))),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| name.len() == 25 && name.ends_with(".json"))
            .collect();
        names.sort_unstable_by(|a, b| b.cmp(a));
        let mut texts = Vec::new();
        for name in names.into_iter().take(limit) {
            if let Some(bytes) = read_bounded(&dir.join(&name), MAX_RECORD_BYTES + 1)? {
                texts.push((name, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
        Ok(texts)
    }

    fn read_text(&mut self, name: &str, most: usize) -> Result<Option<String>, Failure> {
        let Some(bytes) = read_bounded(&self.0.join(name), most + 1)? else {
            return Ok(None);
        };
        if bytes.len() > most {
            return Err(too_large(&self.0.display().to_string(), name, most));
        }
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn write_text(
        &mut self,
        name: &str,
        text: &str,
        previous: Option<&str>,
    ) -> Result<bool, Failure> {
        // The compare and the write under an exclusive lock on NAME.lock,
        // as the head's: a writer that dies lets go of it.
        let path = self.0.join(name);
        let lock_path = self.0.join(format!("{name}.lock"));
        let lock = open_lock(&lock_path)?;
        lock.lock()
            .map_err(|e| Failure(format!("cannot lock {}: {e}", lock_path.display())))?;
        // One byte past what was read is enough to see it changed.
        let now = read_bounded(&path, previous.map_or(0, str::len) + 1)?;
        if now.as_deref().map(String::from_utf8_lossy).as_deref() != previous {
            return Ok(false);
        }
        write_whole(&path, text.as_bytes())?;
        drop(lock);
        Ok(true)
    }

    fn replace_text(&mut self, name: &str, text: &str) -> Result<(), Failure> {
        write_whole(&self.0.join(name), text.as_bytes())
    }
}

struct DynamoDbStore(Table);

impl Store for DynamoDbStore {
    fn describe(&self) -> String {
        self.0.describe()
    }

    fn read_head(&mut self) -> Result<Option<String>, Failure> {
        self.0.read_head()
    }

    fn write_chunks(&mut self, chunks: &[(String, Vec<u8>)]) -> Result<(), Failure> {
        self.0.write_chunks(chunks)
    }

    fn write_generation_head(&mut self, name: &str, text: &str) -> Result<(), Failure> {
        self.0.write_text(name, "head", text)
    }

    fn write_head(&mut self, text: &str, previous: Option<&str>) -> Result<HeadWrite, Failure> {
        Ok(if self.0.write_head(text, previous)? {
            HeadWrite::Written
        } else {
            HeadWrite::Replaced
        })
    }

    fn expire(&mut self, names: &[String], at_seconds: u64) -> Result<(), Failure> {
        self.0.expire(names, at_seconds)
    }

    fn read_generation_head(&mut self, name: &str) -> Result<Option<String>, Failure> {
        let item = self.0.read_item(name)?;
        Ok(item.and_then(|item| item["head"]["S"].as_str().map(str::to_owned)))
    }

    fn read_chunk(&mut self, name: &str) -> Result<Option<Vec<u8>>, Failure> {
        let Some(item) = self.0.read_item(name)? else {
            return Ok(None);
        };
        let text = item["data"]["B"].as_str().unwrap_or_default();
        if text.len() > MAX_STORED_CHUNK_BYTES / 3 * 4 + 4 {
            return Err(Failure(format!(
                "{}: chunk {name} is larger than any chunk flagcore writes",
                self.describe()
            )));
        }
        flagcore::base64::decode_standard(text)
            .map(Some)
            .ok_or_else(|| Failure(format!("{}: chunk {name} is not base64", self.describe())))
    }

    fn write_record(&mut self, name: &str, text: &str) -> Result<(), Failure> {
        self.0.write_text(name, "record", text)
    }

    fn read_records(&mut self, limit: usize) -> Result<Vec<(String, String)>, Failure> {
        let items = self.0.newest_under(&format!("{HISTORY_DIR}/"), limit)?;
        Ok(items
            .iter()
            .map(|item| {
                let name = item["key"]["S"].as_str().unwrap_or_default().to_owned();
                let text = item["record"]["S"].as_str().unwrap_or_default().to_owned();
                (name, text)
            })
            .collect())
    }

    fn read_text(&mut self, name: &str, most: usize) -> Result<Option<String>, Failure> {
        let item = self.0.read_item(name)?;
        let text = item.and_then(|item| item["text"]["S"].as_str().map(str::to_owned));
        match text {
            Some(text) if text.len() > most => Err(too_large(&self.describe(), name, most)),
            text => Ok(text),
        }
    }

    fn write_text(
        &mut self,
        name: &str,
        text: &str,
        previous: Option<&str>,
    ) -> Result<bool, Failure> {
        self.0.write_text_if(name, text, previous)
    }

    fn replace_text(&mut self, name: &str, text: &str) -> Result<(), Failure> {
        self.0.write_text(name, "text", text)
    }
}

/// The lock file `path` (its folder made first), to lock: the file stays,
/// and the system lets go of its lock when the file is closed, so a writer
/// that crashed or was killed leaves nothing held.
pub(crate) fn open_lock(path: &Path) -> Result<fs::File, Failure> {
    let fail = |e: std::io::Error| Failure(format!("cannot lock {}: {e}", path.display()));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(fail)?;
    }
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(fail)
}

/// A file's bytes, read no further than `most` (more reads as a file of
/// `most` bytes, which its reader refuses), or `None` when there is none.
pub(crate) fn read_bounded(path: &Path, most: usize) -> Result<Option<Vec<u8>>, Failure> {
    let fail = |e: std::io::Error| Failure(format!("cannot read {}: {e}", path.display()));
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(e)),
    };
    let mut bytes = Vec::new();
    file.take(most as u64)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    Ok(Some(bytes))
}

/// Writes a file under a temporary name, then renames it into place: no
/// reader sees it half-written.
pub(crate) fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure(format!("cannot write {}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(fail)?;
    }
    let temporary = path.with_extension(format!("partial-{}", std::process::id()));
    fs::write(&temporary, bytes).map_err(fail)?;
    fs::rename(&temporary, path).map_err(fail)
}
