//! `flagcore publish`: a snapshot in flagcore's published layout
//! (`flagcore::published`), written to a directory that an HTTP origin
//! (S3, CloudFront) serves to the URL sources of Node, Python and the edge.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use flagcore::published::{self, Head, HEAD_NAME};
use flagcore::{Severity, Snapshot};
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::Failure;

/// Where to publish: a directory (the only store this binary writes).
#[derive(Clone)]
pub(crate) enum Destination {
    Directory(PathBuf),
}

pub(crate) fn destination(text: &str) -> Result<Destination, String> {
    if text.starts_with("dynamodb:") {
        return Err(
            "this binary publishes to a directory; DynamoDB publishing is not built yet".into(),
        );
    }
    if text.is_empty() {
        return Err("--to names a directory".into());
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

/// Publishes `snapshot` unless it holds errors (`force` publishes anyway) or
/// the destination's head already names its id (then nothing is written).
pub(crate) fn publish(
    snapshot: &Snapshot,
    destination: &Destination,
    force: bool,
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
    let Destination::Directory(dir) = destination;
    let previous = read_head_bytes(dir)?;
    // A head that does not read (a broken upload) is replaced like any other.
    let previous_id = previous
        .as_deref()
        .and_then(|bytes| Head::from_json(bytes).ok())
        .map(|head| head.id);
    if previous_id.as_deref() == Some(snapshot.id()) {
        return Ok(Report {
            id: snapshot.id().to_owned(),
            unchanged: true,
            chunks: 0,
            bytes: 0,
        });
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let laid_out = published::publish(snapshot, now).map_err(|e| Failure(e.to_string()))?;
    // The chunks first, each whole before it has its name: a reader never
    // finds a head whose chunks are not all there.
    let mut bytes = 0;
    for (chunk, info) in laid_out.chunks.iter().zip(&laid_out.head.chunks) {
        let compressed = gzip(chunk).map_err(|e| Failure(format!("cannot compress: {e}")))?;
        bytes += compressed.len();
        write_whole(&dir.join(&info.name), &compressed)?;
    }
    // The generation's own copy of its head, for readers pinned to it by a
    // decision token: it stays when the head moves on.
    let head_text = laid_out.head.to_json();
    let generation_head =
        published::generation_head_name(&laid_out.head.id).map_err(|e| Failure(e.to_string()))?;
    write_whole(&dir.join(generation_head), head_text.as_bytes())?;
    // Then the head, unless another publisher replaced it meanwhile.
    if read_head_bytes(dir)? != previous {
        return Err(Failure(format!(
            "{} changed while publishing: another publisher wrote it; its snapshot stays",
            dir.join(HEAD_NAME).display()
        )));
    }
    write_whole(&dir.join(HEAD_NAME), head_text.as_bytes())?;
    Ok(Report {
        id: laid_out.head.id,
        unchanged: false,
        chunks: laid_out.chunks.len(),
        bytes,
    })
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
