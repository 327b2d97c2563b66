//! flagcore's published snapshot layout: a snapshot cut into immutable
//! chunks, and one small head that names them.
//!
//! A publisher writes the chunks first and the head last, so a reader that
//! sees a head can always find its chunks (until they expire). A reader polls
//! the head alone, and reads the chunks only when the head names a snapshot
//! id it does not hold. This module is the layout's one definition: what a
//! head holds, where a snapshot is cut, and how chunks are checked and put
//! back together. Storing the bytes (DynamoDB items, files behind a URL) and
//! compressing them (gzip) is the hosts' job.
//!
//! The head is `head.json`, as a file or as the sort key of a DynamoDB item;
//! each chunk is stored under the name the head gives it, beside the head.
//!
//! Hashes and sizes are those of the chunks' plain bytes, so a chunk that
//! decompresses to something else is caught, whatever went wrong on the way.

use sha2::{Digest, Sha256};

use crate::error::{ErrorCode, SnapshotError};
use crate::snapshot::Snapshot;

/// The `format` of a head this version writes and reads.
pub const FORMAT: &str = "flagcore-published/1";

/// What every version's `format` starts with: a head whose format starts
/// with it but is not [`FORMAT`] was written by another version of
/// flagcore (`PUBLISHED_FORMAT_UNKNOWN`), and is never replaced by this one.
const FORMAT_FAMILY: &str = "flagcore-published/";

/// The most plain bytes in one chunk. Compression only shrinks text like
/// this, and gzip adds at most a few bytes per 16 KB block to data it cannot
/// shrink, so a stored chunk stays under 350 KB, well below DynamoDB's
/// 400 KB item limit, with room for the item's other attributes.
pub const CHUNK_BYTES: usize = 320 * 1024;

/// The name of the head, as a file beside its chunks or as the sort key of
/// its DynamoDB item.
pub const HEAD_NAME: &str = "head.json";

/// The most chunks a head may name: 1,024 chunks of 320 KB, 320 MB of flags.
pub const MAX_CHUNKS: usize = 1024;

/// The most bytes of a snapshot's text any source reads: what the published
/// layout holds at most ([`MAX_CHUNKS`] chunks of [`CHUNK_BYTES`]). The URL
/// and file sources stop reading past it, and the Relay table's reads stop
/// past as many pages of DynamoDB's 1 MB.
pub const MAX_SNAPSHOT_BYTES: usize = MAX_CHUNKS * CHUNK_BYTES;

/// The most bytes of a head's text a reader takes: a head naming
/// [`MAX_CHUNKS`] chunks is about 160 KB. Readers stop reading past it, and
/// [`Head::from_json`] refuses more.
pub const MAX_HEAD_BYTES: usize = 256 * 1024;

/// The most bytes of one stored (gzip) chunk a reader takes: gzip adds a
/// few bytes per 64 KB to what it cannot shrink, so a chunk of
/// [`CHUNK_BYTES`] is never stored larger. Readers stop reading past it.
pub const MAX_STORED_CHUNK_BYTES: usize = CHUNK_BYTES + 16 * 1024;

/// The most names a head lists of each of its source's facts (see
/// [`SourceFacts`]), and the most bytes of each name: the rest are left out
/// when published, so that the head stays small.
pub const MAX_LISTED: usize = 32;
const MAX_LISTED_NAME_BYTES: usize = 200;

/// What a head says of one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkInfo {
    /// Where it is stored, relative to the head: a file's path beside
    /// `head.json`, or a DynamoDB item's sort key beside the head's
    /// (`snapshots/<id>/<n>.json.gz`). Readers take it from the head, so
    /// they share no naming rule with the publisher.
    pub name: String,
    /// The SHA-256 of its plain bytes, in lowercase hex.
    pub hash: String,
    /// How many plain bytes it holds.
    pub size: usize,
}

/// What the publisher's source said of the data it read, carried in the
/// head to every reader: the facts behind [`Snapshot::source_problems`] (a
/// Relay table without its `$inited` marker, items of other namespaces,
/// items without data), so that readers report the warnings the
/// publisher's read gave, and a publisher knows what the snapshot it
/// replaces was read with. In the head's JSON: `"source":
/// {"storeInitialized", "skippedNamespaces", "itemsWithoutData"}`, left
/// out for data that was not read from a Relay table and was read whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceFacts {
    /// Whether the Relay table's `$inited` marker was there (`None`: not a
    /// Relay table).
    pub store_initialized: Option<bool>,
    /// Namespaces of items that were skipped, at most [`MAX_LISTED`].
    pub skipped_namespaces: Vec<String>,
    /// Items without an `item` attribute, at most [`MAX_LISTED`].
    pub items_without_data: Vec<String>,
}

impl SourceFacts {
    fn of(snapshot: &Snapshot) -> SourceFacts {
        let source = snapshot.source();
        let listed = |names: &[String]| -> Vec<String> {
            names
                .iter()
                .take(MAX_LISTED)
                .map(|name| {
                    let mut end = name.len().min(MAX_LISTED_NAME_BYTES);
                    while !name.is_char_boundary(end) {
                        end -= 1;
                    }
                    name[..end].to_owned()
                })
                .collect()
        };
        SourceFacts {
            store_initialized: source.store_initialized,
            skipped_namespaces: listed(&source.skipped_namespaces),
            items_without_data: listed(&source.items_without_data),
        }
    }

    fn is_empty(&self) -> bool {
        *self == SourceFacts::default()
    }

    /// Whether the data was a Relay table read without its `$inited` marker.
    pub fn uninitialized(&self) -> bool {
        self.store_initialized == Some(false)
    }
}

/// The head of a published snapshot: the one small record readers poll.
/// Its JSON has these fields in camelCase (`publishedAt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Always [`FORMAT`].
    pub format: String,
    /// The snapshot's content id ([`Snapshot::id`]): the same flags give the
    /// same id from any source, so an unchanged snapshot is never published
    /// twice.
    pub id: String,
    /// The plain bytes of the whole snapshot.
    pub size: usize,
    /// The SHA-256 of the whole snapshot's plain bytes, in lowercase hex.
    pub hash: String,
    /// When it was published, in milliseconds since the epoch, by the
    /// publisher's clock: for people, never for ordering.
    pub published_at: i64,
    /// The generation's place in the order of publishes: each publish
    /// writes more than the head it replaces (see [`plan`]), under the
    /// condition that the head is still that one, so no publisher's clock
    /// can put a generation before the one it replaced. A head written
    /// before this field existed reads its `publishedAt` here.
    pub sequence: i64,
    /// What the publisher's source said of its data.
    pub source: SourceFacts,
    /// Its chunks, in order.
    pub chunks: Vec<ChunkInfo>,
}

/// A snapshot laid out for publishing: its head, and its chunks' plain bytes.
#[derive(Debug, Clone)]
pub struct Published {
    /// The head, written last.
    pub head: Head,
    /// The chunks, in order, written first.
    pub chunks: Vec<Vec<u8>>,
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a chunk's name stays beside the head, wherever a reader resolves
/// it (a URL, a path, a sort key).
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && !name.starts_with('/')
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
}

/// The snapshot as a polling payload (`{"flags": ..., "segments": ...}`),
/// keys sorted: the text its chunks hold. It reads back as the same snapshot,
/// with the same id.
pub fn canonical_json(snapshot: &Snapshot) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * 1024);
    out.extend_from_slice(b"{\"flags\":");
    write_object(
        &mut out,
        snapshot.flags_sorted().map(|flag| (&flag.key, flag)),
    );
    out.extend_from_slice(b",\"segments\":");
    write_object(
        &mut out,
        snapshot
            .segments_sorted()
            .map(|segment| (&segment.key, segment)),
    );
    out.push(b'}');
    out
}

/// Writes `{"key": item, ...}` in the order given.
fn write_object<'a, T: serde::Serialize + 'a>(
    out: &mut Vec<u8>,
    items: impl Iterator<Item = (&'a String, &'a T)>,
) {
    out.push(b'{');
    for (n, (key, item)) in items.enumerate() {
        if n > 0 {
            out.push(b',');
        }
        // Writing a key or a model cannot fail: every map has string keys.
        let _ = serde_json::to_writer(&mut *out, key);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, item);
    }
    out.push(b'}');
}

/// Lays `snapshot` out for publishing at `published_at` (milliseconds since
/// the epoch): its text cut into chunks of at most [`CHUNK_BYTES`], and the
/// head that names them. Refused (`PUBLISHED_HEAD_INVALID`) for a snapshot
/// of more than [`MAX_CHUNKS`] chunks, whose head no reader would take.
pub fn publish(snapshot: &Snapshot, published_at: i64) -> Result<Published, SnapshotError> {
    let text = canonical_json(snapshot);
    let chunks = cut(&text, CHUNK_BYTES, MAX_CHUNKS)?;
    let head = Head {
        format: FORMAT.to_owned(),
        id: snapshot.id().to_owned(),
        size: text.len(),
        hash: hex_sha256(&text),
        published_at,
        sequence: published_at,
        source: SourceFacts::of(snapshot),
        chunks: chunks
            .iter()
            .enumerate()
            .map(|(n, chunk)| ChunkInfo {
                name: format!("snapshots/{}/{n}.json.gz", snapshot.id()),
                hash: hex_sha256(chunk),
                size: chunk.len(),
            })
            .collect(),
    };
    Ok(Published { head, chunks })
}

/// What a publisher writes to replace the head it read with `snapshot`.
#[derive(Debug, Clone)]
pub enum Plan {
    /// The head already names the snapshot's content id, and says what its
    /// source says of it now: nothing is written.
    Unchanged,
    /// Write these, in this order (see [`Writes`]).
    Write(Box<Writes>),
}

/// A publish, in the order every publisher writes it: the chunks (gzip,
/// each under the name the head gives it), then the head, on the condition
/// that it is still the one read (so two publishers never interleave), then
/// the generation's own head (the head's text under
/// [`Writes::generation_head`]). Only a publisher whose head was written
/// writes the generation's own head, so a publisher that lost a race never
/// leaves there a sequence the winner's generation does not follow. Then
/// the replaced generation's items may expire, after a retention window
/// that lets readers, and requests pinned to it, finish.
#[derive(Debug, Clone)]
pub struct Writes {
    /// The layout: the head and the chunks' plain bytes.
    pub published: Published,
    /// Where the generation's own head goes ([`generation_head_name`]).
    pub generation_head: String,
    /// The replaced generation's items (its own head and its chunks), to
    /// expire; none when there was no head, or one that does not read.
    pub replaced: Vec<String>,
}

/// The publish that replaces `previous` (the head's bytes as the publisher
/// read them, or `None` when there is none) with `snapshot`, at
/// `published_at`: the one rule of every publisher (`flagcore publish`, the
/// Node package's `publish()` and its sync handler).
///
/// - A head that already names the snapshot's content id, read from a
///   source that said the same of it: nothing is written. When the source
///   now says otherwise (a Relay table's `$inited` marker came back), the
///   head is written again, naming the same generation, which nothing
///   expires.
/// - What [`Snapshot::check`] calls an error is not published
///   (`PUBLISH_REFUSED`, at the first error's path), and neither is a Relay
///   table read without its `$inited` marker to replace a snapshot read with
///   it (`PUBLISH_REFUSED` at `$`: the table is being written anew, and may
///   hold a part), unless `force`.
/// - A head of a layout this version does not know (a newer flagcore
///   wrote it), or larger than any head this version writes, is never
///   replaced: `PUBLISHED_FORMAT_UNKNOWN`, even with `force`.
/// - A head that does not read otherwise (a broken write) is replaced like
///   any other, and names nothing to expire.
/// - The new head's `sequence` is above the replaced head's, whatever the
///   publishers' clocks say: the replaced one's plus 1, or `published_at`
///   when that is more.
///
/// The writes: the chunks, then the head on the condition that it is still
/// `previous`, then the generation's own head (see [`Writes`]).
pub fn plan(
    snapshot: &Snapshot,
    previous: Option<&[u8]>,
    published_at: i64,
    force: bool,
) -> Result<Plan, SnapshotError> {
    let unknown = |path: &str, what: &str| {
        SnapshotError::new(
            ErrorCode::FormatUnknown,
            path,
            format!("the head there is {what}; nothing was published: publish with the flagcore that wrote it, or remove it"),
        )
    };
    let previous = match previous {
        Some(bytes) if bytes.len() > MAX_HEAD_BYTES => {
            return Err(unknown("$", "larger than any head this version writes"))
        }
        Some(bytes) => match Head::from_json(bytes) {
            Ok(head) => Some(head),
            Err(error) if error.code() == ErrorCode::FormatUnknown => {
                return Err(unknown(
                    error.path(),
                    &format!("of a newer flagcore ({})", error.message()),
                ))
            }
            Err(_) => None,
        },
        None => None,
    };
    let same = previous.as_ref().filter(|head| head.id == snapshot.id());
    if same.is_some_and(|head| head.source == SourceFacts::of(snapshot)) {
        return Ok(Plan::Unchanged);
    }
    if !force {
        refuse_errors(snapshot, previous.as_ref())?;
    }
    let mut published = publish(snapshot, published_at)?;
    if let Some(head) = &previous {
        published.head.sequence = head.sequence.saturating_add(1).max(published_at);
    }
    let generation_head = generation_head_name(&published.head.id)?;
    let replaced = match previous {
        Some(head) if head.id != published.head.id => {
            std::iter::once(generation_head_name(&head.id))
                .filter_map(Result::ok)
                .chain(head.chunks.into_iter().map(|chunk| chunk.name))
                .collect()
        }
        _ => Vec::new(),
    };
    Ok(Plan::Write(Box::new(Writes {
        published,
        generation_head,
        replaced,
    })))
}

/// What no publisher publishes: a snapshot [`Snapshot::check`] finds errors
/// in, and a Relay table read without its `$inited` marker to replace one
/// read with it (the clients' rule for the same table: see
/// `FlagClient`'s refresh).
fn refuse_errors(snapshot: &Snapshot, previous: Option<&Head>) -> Result<(), SnapshotError> {
    let problems = snapshot.check();
    let errors: Vec<_> = problems
        .iter()
        .filter(|p| p.severity == crate::Severity::Error)
        .collect();
    if let Some(first) = errors.first() {
        return Err(SnapshotError::new(
            ErrorCode::PublishRefused,
            first.path.clone(),
            format!(
                "the snapshot has {} error(s) (`flagcore check` lists them), the first: {}: {}; nothing was published",
                errors.len(),
                first.code,
                first.message
            ),
        ));
    }
    // Only a head whose source had the marker says that it was lost: one
    // of another source, or written before heads carried their source,
    // says nothing of it.
    let lost_marker = snapshot.source().store_initialized == Some(false)
        && previous.is_some_and(|head| head.source.store_initialized == Some(true));
    if lost_marker {
        return Err(SnapshotError::new(
            ErrorCode::PublishRefused,
            "$",
            "the Relay table has no $inited marker, which the published snapshot's table had: it is being written anew and may hold a part; nothing was published (the published snapshot stays until the marker is back)",
        ));
    }
    Ok(())
}

/// `text` in chunks of at most `chunk_bytes`, or refused past `max_chunks`.
fn cut(text: &[u8], chunk_bytes: usize, max_chunks: usize) -> Result<Vec<Vec<u8>>, SnapshotError> {
    if text.len().div_ceil(chunk_bytes) > max_chunks {
        return Err(invalid(
            "$.chunks".into(),
            "the snapshot is too large to publish: a head names at most 1,024 chunks of 320 KB",
        ));
    }
    Ok(text.chunks(chunk_bytes).map(<[u8]>::to_vec).collect())
}

/// What a function answers a pinned request from: the snapshot `pinned`
/// (its head's [`Head::sequence`] `pinned_sequence`) that an upstream
/// function answered from, when the function itself holds `held` (whose
/// latest head read gave `held_sequence`).
///
/// The kill switch wins: unless `pinned` is the newer, the answer is
/// `pinned`'s flags with `held`'s switched-off flags in their place (off, or
/// with a prerequisite off or gone), and without the flags `held` lacks
/// (see [`Snapshot`]'s composite: prerequisites follow, as they are looked
/// up in it). When `pinned` is the newer (a head read lagged behind
/// upstream's), it is the newest the function knows, and is answered from
/// as it is: `None`. Either way the answer keeps `pinned`'s id, so that
/// tokens issued from it pin the next function to it too.
///
/// Generations are ordered by sequence, not by `publishedAt`: a publisher
/// whose clock runs fast cannot make an older generation look newer than
/// the kill switch that replaced it, and a snapshot published again (a
/// rollback) is newer than every generation before it.
pub fn pinned(
    pinned: &Snapshot,
    pinned_sequence: i64,
    held: &Snapshot,
    held_sequence: i64,
) -> Option<Snapshot> {
    if pinned_sequence > held_sequence || pinned.id() == held.id() {
        return None;
    }
    Some(pinned.with_kill_switches_of(held))
}

#[inline(never)]
fn invalid(path: String, message: &str) -> SnapshotError {
    SnapshotError::new(ErrorCode::HeadInvalid, path, message)
}

mod head;
pub use head::generation_head_name;

#[cfg(test)]
mod tests;
