//! `flagcore publish`: a snapshot in flagcore's published layout
//! (`flagcore::published`), written to a directory that an HTTP origin
//! (S3, CloudFront) serves to the URL sources of Node, Python and the edge,
//! or to a DynamoDB table that their `published` sources read.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use flagcore::published::{self, Plan, HEAD_NAME};
use flagcore::{Severity, Snapshot};
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

/// Publishes `snapshot` unless it holds errors (`force` publishes anyway) or
/// the destination's head already names its id (then nothing is written).
/// The order and what is written are the core's (`published::plan`).
pub(crate) fn publish(
    snapshot: &Snapshot,
    destination: &Destination,
    force: bool,
    retention_seconds: u64,
) -> Result<Report, Failure> {
    let errors: Vec<_> = snapshot
        .check()
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    if !errors.is_empty() && !force {
        let listed: Vec<String> = errors
            .iter()
            .map(|p| format!("  error  {}  {}  {}", p.code, p.path, p.message))
            .collect();
        return Err(Failure(format!(
            "the snapshot has {} error(s); nothing was published (--force publishes anyway):\n{}",
            errors.len(),
            listed.join("\n")
        )));
    }
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
    let plan = published::plan(snapshot, previous.as_deref().map(str::as_bytes), now)
        .map_err(|e| Failure(e.to_string()))?;
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
    store.write_generation_head(&writes.generation_head, &head_text)?;
    if !store.write_head(&head_text, previous.as_deref())? {
        return Err(Failure(format!(
            "{}: another publisher replaced the head meanwhile; its snapshot stays",
            store.describe()
        )));
    }
    let expire_at = (now as u64) / 1000 + retention_seconds;
    store.expire(&writes.replaced, expire_at)?;
    Ok(Report {
        id: laid_out.head.id.clone(),
        unchanged: false,
        chunks: laid_out.chunks.len(),
        bytes,
    })
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
        let now = read_head_bytes(&self.0)?;
        if now.as_deref().map(String::from_utf8_lossy).as_deref() != previous {
            return Ok(false);
        }
        write_whole(&self.0.join(HEAD_NAME), text.as_bytes())?;
        Ok(true)
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

fn read_head_bytes(dir: &Path) -> Result<Option<Vec<u8>>, Failure> {
    let path = dir.join(HEAD_NAME);
    match fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure(format!("cannot read {}: {e}", path.display()))),
    }
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
