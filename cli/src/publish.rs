//! `flagcore publish`: a snapshot in flagcore's published layout
//! (`flagcore::published`), written to a directory that an HTTP origin
//! (S3, CloudFront) serves to the URL sources of Node, Python and the edge,
//! or to a DynamoDB table that their `published` sources read.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use flagcore::published::{self, Plan, HEAD_NAME, MAX_HEAD_BYTES};
use flagcore::{ErrorCode, Severity, Snapshot};
use flate2::write::GzEncoder;
use flate2::Compression;

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

/// What `publish` did, as it prints it.
pub(crate) struct Report {
    pub(crate) id: String,
    pub(crate) unchanged: bool,
    pub(crate) chunks: usize,
    pub(crate) bytes: usize,
}

/// How long a replaced generation stays in DynamoDB, by default: a day, so
/// that readers in the middle of reading it finish, and requests pinned to
/// it by a decision token are answered from it.
pub(crate) const DEFAULT_RETENTION_SECONDS: u64 = 24 * 60 * 60;

/// Publishes `snapshot` unless the core's plan refuses it (errors that
/// `check` lists, or a Relay table that lost its `$inited` marker: `force`
/// publishes anyway; a head of a newer layout: never) or the destination's
/// head already names its id (then nothing is written). The order and what
/// is written are the core's (`published::plan`).
pub(crate) fn publish(
    snapshot: &Snapshot,
    destination: &Destination,
    force: bool,
    retention_seconds: u64,
) -> Result<Report, Failure> {
    let mut store: Box<dyn Store> = match destination {
        Destination::Directory(dir) => Box::new(Directory(dir.clone())),
        Destination::DynamoDb { table, prefix } => {
            Box::new(DynamoDbStore(Table::from_env(table, prefix.as_deref())?))
        }
    };
    let previous = store.read_head()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let plan = published::plan(snapshot, previous.as_deref().map(str::as_bytes), now, force)
        .map_err(|e| refused(snapshot, &store.describe(), &e))?;
    let Plan::Write(writes) = plan else {
        return Ok(Report {
            id: snapshot.id().to_owned(),
            unchanged: true,
            chunks: 0,
            bytes: 0,
        });
    };
    let laid_out = &writes.published;
    let mut compressed = Vec::with_capacity(laid_out.chunks.len());
    for (chunk, info) in laid_out.chunks.iter().zip(&laid_out.head.chunks) {
        let bytes = gzip(chunk).map_err(|e| Failure(format!("cannot compress: {e}")))?;
        compressed.push((info.name.clone(), bytes));
    }
    let bytes = compressed.iter().map(|(_, bytes)| bytes.len()).sum();
    let head_text = laid_out.head.to_json();
    store.write_chunks(&compressed)?;
    if !store.write_head(&head_text, previous.as_deref())? {
        return Err(Failure(format!(
            "{}: another publisher replaced the head meanwhile; its snapshot stays",
            store.describe()
        )));
    }
    // Only once the head is this publisher's: one that lost the race leaves
    // no sequence of its own on a generation.
    store.write_generation_head(&writes.generation_head, &head_text)?;
    let expire_at = (now as u64) / 1000 + retention_seconds;
    store.expire(&writes.replaced, expire_at)?;
    Ok(Report {
        id: laid_out.head.id.clone(),
        unchanged: false,
        chunks: laid_out.chunks.len(),
        bytes,
    })
}

/// Why the plan refused, for a person: with every error `check` lists
/// when those were the reason.
fn refused(snapshot: &Snapshot, place: &str, error: &flagcore::SnapshotError) -> Failure {
    let errors: Vec<String> = snapshot
        .check()
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| format!("  error  {}  {}  {}", p.code, p.path, p.message))
        .collect();
    match error.code() {
        ErrorCode::PublishRefused if !errors.is_empty() => Failure(format!(
            "the snapshot has {} error(s); nothing was published (--force publishes anyway):\n{}",
            errors.len(),
            errors.join("\n")
        )),
        ErrorCode::PublishRefused => {
            Failure(format!("{}; --force publishes anyway", error.message()))
        }
        _ => Failure(format!("{place}: {error}")),
    }
}

/// Where the layout's bytes are stored.
trait Store {
    fn describe(&self) -> String;
    /// The head's text as it is now, or `None`.
    fn read_head(&mut self) -> Result<Option<String>, Failure>;
    /// Each chunk's gzip bytes under its name.
    fn write_chunks(&mut self, chunks: &[(String, Vec<u8>)]) -> Result<(), Failure>;
    fn write_generation_head(&mut self, name: &str, text: &str) -> Result<(), Failure>;
    /// The head, unless it is no longer `previous`: then `Ok(false)`.
    fn write_head(&mut self, text: &str, previous: Option<&str>) -> Result<bool, Failure>;
    /// Lets the replaced generation's items expire at `at_seconds`.
    fn expire(&mut self, names: &[String], at_seconds: u64) -> Result<(), Failure>;
}

/// Files for an HTTP origin: each written under a temporary name, then
/// renamed into place. Old generations stay: the origin's own rules (an S3
/// lifecycle rule) expire them.
struct Directory(PathBuf);

/// The lock a directory's publisher holds from comparing the head to
/// replacing it, so that the compare and the swap are one step: an
/// exclusive lock on `head.json.lock` (the file stays), which the system
/// lets go of when the file is closed, so a publisher that crashed or was
/// killed leaves nothing held.
struct HeadLock(fs::File);

impl Directory {
    /// Takes the head's lock and compares the head with `previous`: the
    /// lock, or `None` when the head is no longer `previous`.
    fn begin_head(&self, previous: Option<&str>) -> Result<Option<HeadLock>, Failure> {
        let path = self.0.join(format!("{HEAD_NAME}.lock"));
        let fail = |e: std::io::Error| Failure(format!("cannot lock {}: {e}", path.display()));
        fs::create_dir_all(&self.0).map_err(fail)?;
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(fail)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Failure(format!(
                    "{}: another publisher is replacing the head (it holds {}); try again",
                    self.describe(),
                    path.display()
                )))
            }
            Err(fs::TryLockError::Error(e)) => return Err(fail(e)),
        }
        let lock = HeadLock(file);
        let now = read_head_bytes(&self.0)?;
        if now.as_deref().map(String::from_utf8_lossy).as_deref() != previous {
            return Ok(None);
        }
        Ok(Some(lock))
    }

    /// Replaces the head under the lock `begin_head` gave, then lets go of it.
    fn commit_head(&self, lock: HeadLock, text: &str) -> Result<(), Failure> {
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
        Ok(read_head_bytes(&self.0)?.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
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

    fn write_head(&mut self, text: &str, previous: Option<&str>) -> Result<bool, Failure> {
        match self.begin_head(previous)? {
            Some(lock) => self.commit_head(lock, text).map(|()| true),
            None => Ok(false),
        }
    }

    fn expire(&mut self, _names: &[String], _at_seconds: u64) -> Result<(), Failure> {
        Ok(())
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
        self.0.write_generation_head(name, text)
    }

    fn write_head(&mut self, text: &str, previous: Option<&str>) -> Result<bool, Failure> {
        self.0.write_head(text, previous)
    }

    fn expire(&mut self, names: &[String], at_seconds: u64) -> Result<(), Failure> {
        self.0.expire(names, at_seconds)
    }
}

/// The head's bytes, read no further than one past the most a head holds
/// (more reads as a head that does not parse).
fn read_head_bytes(dir: &Path) -> Result<Option<Vec<u8>>, Failure> {
    use std::io::Read;
    let path = dir.join(HEAD_NAME);
    let fail = |e: std::io::Error| Failure(format!("cannot read {}: {e}", path.display()));
    let file = match fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_HEAD_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    Ok(Some(bytes))
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::best());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Writes a file under a temporary name, then renames it into place: no
/// reader sees it half-written.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure(format!("cannot write {}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(fail)?;
    }
    let temporary = path.with_extension(format!("partial-{}", std::process::id()));
    fs::write(&temporary, bytes).map_err(fail)?;
    fs::rename(&temporary, path).map_err(fail)
}

pub(crate) fn print(report: &Report, json: bool) -> ExitCode {
    if json {
        println!(
            "{}",
            serde_json::json!({"id": report.id, "unchanged": report.unchanged,
                "chunks": report.chunks, "bytes": report.bytes})
        );
    } else if report.unchanged {
        println!("{} (unchanged: nothing written)", report.id);
    } else {
        println!("{}", report.id);
        eprintln!(
            "published {} chunk(s), {} bytes compressed",
            report.chunks, report.bytes
        );
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(flag: bool) -> Snapshot {
        let text = serde_json::json!({"flags": {"canary": {"key": "canary", "on": flag,
            "variations": [false, true], "offVariation": 0, "fallthrough": {"variation": 1}}}});
        Snapshot::from_json(text.to_string().as_bytes()).unwrap()
    }

    fn temporary() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "flagcore-publish-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Two publishers of one directory, interleaved where the race was:
    /// B has compared the head and is about to replace it when A publishes.
    /// A is refused (the lock is B's), B's head is written, and A, run
    /// again, replaces B's head, never losing it unnoticed.
    #[test]
    fn two_publishers_of_one_directory_never_both_succeed() {
        let dir = temporary();
        let destination = Destination::Directory(dir.clone());
        publish(&snapshot(false), &destination, false, 60).unwrap();
        let first = Directory(dir.clone()).read_head().unwrap();

        let b = Directory(dir.clone());
        let b_plan = published::plan(
            &snapshot(true),
            first.as_deref().map(str::as_bytes),
            2,
            false,
        );
        let Ok(Plan::Write(b_writes)) = b_plan else {
            panic!("B has a snapshot to publish")
        };
        let b_lock = b
            .begin_head(first.as_deref())
            .unwrap()
            .expect("B holds the lock");

        let a_snapshot = Snapshot::from_json(
            br#"{"flags": {"other": {"key": "other", "on": true, "variations": [1],
                "offVariation": 0, "fallthrough": {"variation": 0}}}}"#,
        )
        .unwrap();
        let Err(Failure(refused)) = publish(&a_snapshot, &destination, false, 60) else {
            panic!("A must not publish while B replaces the head")
        };
        assert!(
            refused.contains("another publisher is replacing the head"),
            "{refused}"
        );

        b.commit_head(b_lock, &b_writes.published.head.to_json())
            .unwrap();
        let now = Directory(dir.clone()).read_head().unwrap().unwrap();
        assert!(now.contains(snapshot(true).id()), "B's head is there");

        // A stale compare is refused too: A read B's predecessor.
        let a = Directory(dir.clone());
        assert!(a.begin_head(first.as_deref()).unwrap().is_none());
        // And A, run again, publishes over B's head.
        let report = publish(&a_snapshot, &destination, false, 60).unwrap();
        assert_eq!(report.id, a_snapshot.id());
        fs::remove_dir_all(&dir).unwrap();
    }
}
