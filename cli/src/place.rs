//! `--at PLACE`: where the edit commands (and `eval`, `rollout`, `diff`)
//! find the flags. A published place (a directory, or
//! `dynamodb:TABLE[/PREFIX]`) keeps every generation and a history record
//! beside each; a plain JSON file holds one snapshot, rewritten in place
//! (keep it in git for its history).

use std::fs;
use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use flagcore::canary::{State, MAX_STATE_BYTES};
use flagcore::edit::record::{record_name, Record};
use flagcore::published::{
    canonical_json, generation_head_name, Head, CHUNK_BYTES, MAX_SNAPSHOT_BYTES,
    MAX_STORED_CHUNK_BYTES,
};
use flagcore::{Snapshot, Value};
use flate2::read::GzDecoder;

use crate::publish::{self, Destination, Options, Published};
use crate::store::{self, read_bounded, write_whole, HeadWrite};
use crate::Failure;

/// `--at PLACE`.
#[derive(Args, Clone)]
pub(crate) struct At {
    /// Where the flags are: a directory, dynamodb:TABLE[/PREFIX], or a JSON file
    #[arg(long, env = "FLAGCORE_AT", value_name = "PLACE", value_parser = place)]
    pub(crate) at: Place,
}

#[derive(Clone)]
pub(crate) enum Place {
    Published(Destination),
    File(PathBuf),
}

/// `--at`: `dynamodb:TABLE[/PREFIX]`, a directory, or a file (one that
/// exists, or a name ending in `.json`).
pub(crate) fn place(text: &str) -> Result<Place, String> {
    let path = PathBuf::from(text);
    if !text.starts_with("dynamodb:") && (path.is_file() || text.ends_with(".json")) {
        return Ok(Place::File(path));
    }
    publish::destination(text)
        .map(Place::Published)
        .map_err(|e| e.replace("--to", "--at"))
}

/// The flags at a place as an edit read them.
pub(crate) struct Current {
    pub(crate) snapshot: Snapshot,
    /// The head's text (published), or the file's bytes: what the write is
    /// conditional on.
    seen: Option<Vec<u8>>,
    /// The head, when there is one that reads.
    pub(crate) head: Option<Head>,
}

impl Current {
    /// The id of what is there: the head's, or a plain file's snapshot's;
    /// `None` when nothing is.
    pub(crate) fn id(&self) -> Option<&str> {
        match &self.head {
            Some(head) => Some(head.id.as_str()),
            None => self.seen.as_ref().map(|_| self.snapshot.id()),
        }
    }
}

/// What a write did.
pub(crate) enum Written {
    /// Published: the new snapshot id.
    Done { id: String },
    /// Another edit changed the place since it was read: nothing written.
    Lost(String),
}

/// What an edit leaves in the history.
pub(crate) struct Note<'a> {
    pub(crate) author: &'a str,
    pub(crate) comment: &'a str,
    pub(crate) changes: Vec<String>,
    /// The canary's decisions that led to the edit (see `Record::decisions`).
    pub(crate) decisions: Vec<Value>,
    /// How many older decisions the controller's state could not keep.
    pub(crate) decisions_left_out: u64,
}

fn empty() -> Snapshot {
    // An empty payload always reads.
    Snapshot::from_json(br#"{"flags": {}, "segments": {}}"#).unwrap_or_else(|_| unreachable!())
}

impl Place {
    pub(crate) fn describe(&self) -> String {
        match self {
            Place::Published(Destination::Directory(dir)) => dir.display().to_string(),
            Place::Published(Destination::DynamoDb { table, prefix }) => match prefix {
                Some(prefix) => format!("dynamodb:{table}/{prefix}"),
                None => format!("dynamodb:{table}"),
            },
            Place::File(path) => path.display().to_string(),
        }
    }

    /// The flags there now: none when nothing was published yet.
    pub(crate) fn read(&self) -> Result<Current, Failure> {
        match self {
            Place::File(path) => {
                let Some(bytes) = read_bounded(path, MAX_SNAPSHOT_BYTES + 1)? else {
                    return Ok(Current {
                        snapshot: empty(),
                        seen: None,
                        head: None,
                    });
                };
                let snapshot = crate::parse(path, &bytes, None)?;
                Ok(Current {
                    snapshot,
                    seen: Some(bytes),
                    head: None,
                })
            }
            Place::Published(destination) => {
                let mut store = store::open(destination)?;
                let Some(text) = store.read_head()? else {
                    return Ok(Current {
                        snapshot: empty(),
                        seen: None,
                        head: None,
                    });
                };
                let head = Head::from_json(text.as_bytes()).map_err(|e| {
                    let fix = if e.code() == flagcore::ErrorCode::FormatUnknown {
                        "a newer flagcore wrote it: edit it with that version"
                    } else {
                        "publish a snapshot there with `flagcore publish`, which replaces it"
                    };
                    Failure(format!(
                        "{}: the head does not read ({} at {}: {}): {fix}",
                        store.describe(),
                        e.code(),
                        e.path(),
                        e.message()
                    ))
                })?;
                let snapshot = assemble(store.as_mut(), &head)?;
                Ok(Current {
                    snapshot,
                    seen: Some(text.into_bytes()),
                    head: Some(head),
                })
            }
        }
    }

    /// Generation `id`'s snapshot, from its own head and chunks.
    pub(crate) fn generation(&self, id: &str) -> Result<(Head, Snapshot), Failure> {
        let Place::Published(destination) = self else {
            return Err(Failure(format!(
                "{} is a plain file: it keeps no generations (its history is in git)",
                self.describe()
            )));
        };
        let mut store = store::open(destination)?;
        let name = generation_head_name(id).map_err(|_| {
            Failure(format!(
                "{id:?} is not a generation id: `flagcore history` lists them"
            ))
        })?;
        let Some(text) = store.read_generation_head(&name)? else {
            return Err(Failure(format!(
                "{}: there is no generation {id} (`flagcore history` lists them)",
                self.describe()
            )));
        };
        let head = Head::from_json(text.as_bytes()).map_err(|e| {
            Failure(format!(
                "{}: generation {id}'s head does not read: {e}",
                self.describe()
            ))
        })?;
        let snapshot = assemble(store.as_mut(), &head)?;
        Ok((head, snapshot))
    }

    /// Writes `next` in place of what `current` read, with `note` as its
    /// history record, unless the place changed since.
    pub(crate) fn write(
        &self,
        current: &Current,
        next: &Snapshot,
        note: &Note,
        force: bool,
    ) -> Result<Written, Failure> {
        match self {
            Place::File(path) => write_file(path, current, next),
            Place::Published(destination) => {
                let mut store = store::open(destination)?;
                let options = Options {
                    force,
                    retention_seconds: None,
                    now: publish::now_ms(),
                };
                let previous = current.seen.as_deref().map(String::from_utf8_lossy);
                let previous_id = current.head.as_ref().map(|head| head.id.clone());
                let written = publish::publish_over(
                    store.as_mut(),
                    next,
                    previous.as_deref(),
                    &options,
                    |head| {
                        let record = Record {
                            sequence: head.sequence,
                            id: head.id.clone(),
                            previous: previous_id,
                            published_at: head.published_at,
                            author: note.author.to_owned(),
                            comment: note.comment.to_owned(),
                            changes: note.changes.clone(),
                            decisions: note.decisions.clone(),
                            decisions_left_out: note.decisions_left_out,
                        };
                        Some((record_name(head.sequence), record.to_json()))
                    },
                )?;
                Ok(match written {
                    Published::Done(report) => Written::Done { id: report.id },
                    Published::Lost(HeadWrite::Busy(lock)) => {
                        Written::Lost(format!("another edit holds {lock}"))
                    }
                    Published::Lost(_) => Written::Lost("another edit replaced the head".into()),
                })
            }
        }
    }

    /// The canary's state for `flag` kept here, if any (a plain file keeps none).
    pub(crate) fn canary_state(&self, flag: &str) -> Result<Option<State>, Failure> {
        let Place::Published(destination) = self else {
            return Ok(None);
        };
        Ok(read_state(store::open(destination)?.as_mut(), self, flag)?.1)
    }

    /// The newest `limit` history records, newest first.
    pub(crate) fn history(&self, limit: usize) -> Result<Vec<Record>, Failure> {
        let Place::Published(destination) = self else {
            return Err(Failure(format!(
                "{} is a plain file: it keeps no history (keep it in git, or edit a directory or dynamodb:TABLE)",
                self.describe()
            )));
        };
        let mut store = store::open(destination)?;
        let mut records = Vec::new();
        for (name, text) in store.read_records(limit)? {
            match Record::from_json(text.as_bytes()) {
                Ok(record) => records.push(record),
                // One record that does not read hides no other.
                Err(e) => eprintln!(
                    "flagcore: warning: {}: history record {name} does not read ({e}): left out",
                    store.describe()
                ),
            }
        }
        Ok(records)
    }
}

/// Where a canary's controller keeps its state, beside the flags.
pub(crate) fn state_name(flag: &str) -> String {
    format!("canary/{flag}.json")
}

/// A canary's state as stored (its text), and the state it reads as.
pub(crate) fn read_state(
    store: &mut dyn store::Store,
    place: &Place,
    flag: &str,
) -> Result<(Option<String>, Option<State>), Failure> {
    let name = state_name(flag);
    let Some(text) = store.read_text(&name, MAX_STATE_BYTES)? else {
        return Ok((None, None));
    };
    let state = State::from_json(text.as_bytes())
        .map_err(|e| Failure(format!("{}: {name}: {e}", place.describe())))?;
    Ok((Some(text), Some(state)))
}

/// The snapshot `head` names, from its chunks (each gunzipped no further
/// than a chunk's most).
fn assemble(store: &mut dyn store::Store, head: &Head) -> Result<Snapshot, Failure> {
    let mut chunks = Vec::with_capacity(head.chunks.len());
    for info in &head.chunks {
        let Some(gzip) = store.read_chunk(&info.name)? else {
            break;
        };
        if gzip.len() > MAX_STORED_CHUNK_BYTES {
            return Err(Failure(format!(
                "{}: chunk {} is larger than any chunk flagcore writes: not read",
                store.describe(),
                info.name
            )));
        }
        let mut plain = Vec::with_capacity(info.size.min(CHUNK_BYTES));
        GzDecoder::new(gzip.as_slice())
            .take(CHUNK_BYTES as u64 + 1)
            .read_to_end(&mut plain)
            .map_err(|e| {
                Failure(format!(
                    "{}: chunk {} does not gunzip: {e}",
                    store.describe(),
                    info.name
                ))
            })?;
        chunks.push(plain);
    }
    head.assemble(&chunks).map_err(|e| {
        Failure(format!(
            "{}: generation {}: {} at {}: {}",
            store.describe(),
            head.id,
            e.code(),
            e.path(),
            e.message()
        ))
    })
}

/// A plain file, rewritten whole (pretty JSON, keys sorted, for review in
/// git) under an exclusive lock on `FILE.lock`, if it still holds what was
/// read.
fn write_file(
    path: &std::path::Path,
    current: &Current,
    next: &Snapshot,
) -> Result<Written, Failure> {
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    let fail = |e: std::io::Error| Failure(format!("cannot lock {}: {e}", lock_path.display()));
    let lock = store::open_lock(&lock_path)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            return Ok(Written::Lost(format!(
                "another edit holds {}",
                lock_path.display()
            )))
        }
        Err(fs::TryLockError::Error(e)) => return Err(fail(e)),
    }
    if read_bounded(path, MAX_SNAPSHOT_BYTES + 1)? != current.seen {
        return Ok(Written::Lost("another edit rewrote the file".into()));
    }
    let value: serde_json::Value = serde_json::from_slice(&canonical_json(next))
        .map_err(|e| Failure(format!("cannot write {}: {e}", path.display())))?;
    let mut text = serde_json::to_string_pretty(&value)
        .map_err(|e| Failure(format!("cannot write {}: {e}", path.display())))?;
    text.push('\n');
    write_whole(path, text.as_bytes())?;
    drop(lock);
    Ok(Written::Done {
        id: next.id().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flagcore::edit::{apply, Change};

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("flagcore-place-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn note() -> Note<'static> {
        Note {
            author: "ana",
            comment: "c",
            changes: vec!["x".into()],
            decisions: Vec::new(),
            decisions_left_out: 0,
        }
    }

    fn create(current: &Current, key: &str) -> Snapshot {
        let change = Change::Create {
            key: key.into(),
            variations: None,
        };
        apply(&current.snapshot, &change).unwrap()
    }

    /// Two editors read the same place; the first to write wins, and the
    /// second's write, conditional on what it read, is refused: no update is
    /// lost, whichever kind of place.
    #[test]
    fn of_two_editors_that_read_alike_only_the_first_writes() {
        let dir = scratch("race");
        for at in [
            Place::Published(Destination::Directory(dir.join("flags"))),
            Place::File(dir.join("flags.json")),
        ] {
            let seed = at.read().unwrap();
            assert!(matches!(
                at.write(&seed, &create(&seed, "seed"), &note(), false)
                    .unwrap(),
                Written::Done { .. }
            ));
            let (a, b) = (at.read().unwrap(), at.read().unwrap());
            let Written::Done { id } = at.write(&a, &create(&a, "from-a"), &note(), false).unwrap()
            else {
                panic!("A read first and writes first")
            };
            assert!(matches!(
                at.write(&b, &create(&b, "from-b"), &note(), false).unwrap(),
                Written::Lost(_)
            ));
            let now = at.read().unwrap();
            assert_eq!(now.id(), Some(id.as_str()));
            assert!(now.snapshot.flag_keys().iter().any(|k| k == "from-a"));
            // B, reading again, writes over A's, keeping it.
            let again = at.read().unwrap();
            assert!(matches!(
                at.write(&again, &create(&again, "from-b"), &note(), false)
                    .unwrap(),
                Written::Done { .. }
            ));
            let keys = at.read().unwrap().snapshot.flag_keys().to_vec();
            assert_eq!(keys, ["from-a", "from-b", "seed"]);
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
