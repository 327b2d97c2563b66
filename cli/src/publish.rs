//! `flagcore publish`: a snapshot in flagcore's published layout
//! (`flagcore::published`), written to a directory that an HTTP origin
//! (S3, CloudFront) serves to the URL sources of Node, Python and the edge,
//! or to a DynamoDB table that their `published` sources read.

use std::io::Write;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use flagcore::published::{self, Plan};
use flagcore::{ErrorCode, Severity, Snapshot};
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::store::{self, HeadWrite, Store};
pub(crate) use crate::store::{destination, Destination};
use crate::Failure;

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
    let mut store = store::open(destination)?;
    let previous = store.read_head()?;
    let options = Options {
        force,
        retention_seconds: Some(retention_seconds),
        now: now_ms(),
    };
    match publish_over(
        store.as_mut(),
        snapshot,
        previous.as_deref(),
        &options,
        |_| None,
    )? {
        Published::Done(report) => Ok(report),
        Published::Lost(HeadWrite::Busy(lock)) => Err(Failure(format!(
            "{}: another publisher is replacing the head (it holds {lock}); try again",
            store.describe()
        ))),
        Published::Lost(_) => Err(Failure(format!(
            "{}: another publisher replaced the head meanwhile; its snapshot stays",
            store.describe()
        ))),
    }
}

/// How a publish goes.
pub(crate) struct Options {
    pub(crate) force: bool,
    /// How long the replaced generation's items stay; `None`: they stay
    /// (the edit commands keep every generation: they are the history).
    pub(crate) retention_seconds: Option<u64>,
    /// The publisher's clock, in milliseconds since the epoch.
    pub(crate) now: i64,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What [`publish_over`] did.
pub(crate) enum Published {
    Done(Report),
    /// The head was no longer `previous` (or was being replaced): nothing
    /// but chunks, which no head names, was written.
    Lost(HeadWrite),
}

/// Publishes `snapshot` over the head whose text was `previous`, in the
/// core's order, and then, as the generation's own head, the text `record`
/// gives for the head written (a history record's name and text).
pub(crate) fn publish_over(
    store: &mut dyn Store,
    snapshot: &Snapshot,
    previous: Option<&str>,
    options: &Options,
    record: impl FnOnce(&published::Head) -> Option<(String, String)>,
) -> Result<Published, Failure> {
    let plan = published::plan(
        snapshot,
        previous.map(str::as_bytes),
        options.now,
        options.force,
    )
    .map_err(|e| refused(snapshot, &store.describe(), &e))?;
    let Plan::Write(writes) = plan else {
        return Ok(Published::Done(Report {
            id: snapshot.id().to_owned(),
            unchanged: true,
            chunks: 0,
            bytes: 0,
        }));
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
    match store.write_head(&head_text, previous)? {
        HeadWrite::Written => {}
        lost => return Ok(Published::Lost(lost)),
    }
    // Only once the head is this publisher's: one that lost the race leaves
    // no sequence of its own on a generation. The generation is live from
    // here on, so what follows is tried again, and a failure is a warning
    // that names what is missing, never a report that nothing was written.
    let place = store.describe();
    let id = &laid_out.head.id;
    after_head(&place, id, "its own head (pinned requests read it)", || {
        store.write_generation_head(&writes.generation_head, &head_text)
    });
    if let Some((name, text)) = record(&laid_out.head) {
        after_head(&place, id, "its history record", || {
            store.write_record(&name, &text)
        });
    }
    if let Some(retention) = options.retention_seconds {
        let expire_at = (options.now as u64) / 1000 + retention;
        after_head(&place, id, "the replaced generation's expiry", || {
            store.expire(&writes.replaced, expire_at)
        });
    }
    Ok(Published::Done(Report {
        id: laid_out.head.id.clone(),
        unchanged: false,
        chunks: laid_out.chunks.len(),
        bytes,
    }))
}

/// A write after the head's, tried three times; then a warning.
fn after_head(place: &str, id: &str, what: &str, mut write: impl FnMut() -> Result<(), Failure>) {
    let mut last = None;
    for attempt in 0..3u64 {
        match write() {
            Ok(()) => return,
            Err(Failure(e)) => last = Some(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(100 << attempt));
    }
    eprintln!(
        "flagcore: warning: {place}: generation {id} is published, but {what} was not written ({})",
        last.unwrap_or_default()
    );
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

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::best());
    encoder.write_all(bytes)?;
    encoder.finish()
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
    use crate::store::{Begin, Directory};
    use std::fs;
    use std::path::PathBuf;

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
        let Begin::Locked(b_lock) = b.begin_head(first.as_deref()).unwrap() else {
            panic!("B holds the lock")
        };

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
        assert!(matches!(
            a.begin_head(first.as_deref()).unwrap(),
            Begin::Other(HeadWrite::Replaced)
        ));
        // And A, run again, publishes over B's head.
        let report = publish(&a_snapshot, &destination, false, 60).unwrap();
        assert_eq!(report.id, a_snapshot.id());
        fs::remove_dir_all(&dir).unwrap();
    }
}
