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

use serde_json::{Map, Value};
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

impl Head {
    /// Reads a head from its JSON text; refused, with `HEAD_INVALID`, when it
    /// is not a head of [`FORMAT`] or does not add up.
    pub fn from_json(input: &[u8]) -> Result<Head, SnapshotError> {
        if input.len() > MAX_HEAD_BYTES {
            return Err(invalid(
                "$".into(),
                "a head is at most 262,144 bytes: this is not one a publisher wrote",
            ));
        }
        // Read through a JSON value, whose parser every build holds already,
        // and with plain messages: the WASM module has a size budget.
        let value = std::str::from_utf8(input)
            .ok()
            .and_then(|text| crate::json::parse(text).ok());
        let Some(Value::Object(object)) = value else {
            return Err(invalid(
                "$".into(),
                "not a published snapshot's head: not a JSON object",
            ));
        };
        let head = Head::from_object(&object)?;
        head.validate()?;
        Ok(head)
    }

    #[inline(never)]
    fn from_object(object: &Map<String, Value>) -> Result<Head, SnapshotError> {
        // One pass over the properties, the checks after it: compact code,
        // for the WASM module's size budget.
        let mut head = Head {
            format: String::new(),
            id: String::new(),
            size: usize::MAX,
            hash: String::new(),
            published_at: i64::MIN,
            sequence: i64::MIN,
            source: SourceFacts::default(),
            chunks: Vec::new(),
        };
        let mut listed = None;
        let mut sequence = None;
        for (name, value) in object {
            match name.as_str() {
                "format" => head.format = text(value),
                "id" => head.id = text(value),
                "hash" => head.hash = text(value),
                "size" => head.size = size(value),
                "publishedAt" => head.published_at = value.as_i64().unwrap_or(i64::MIN),
                "sequence" => sequence = Some(value.as_i64().unwrap_or(i64::MIN)),
                "chunks" => listed = value.as_array(),
                "source" => head.source = source_facts(value),
                _ => {}
            }
        }
        // The layout is checked before anything else: a head of another
        // layout may mean anything by its other properties.
        if head.format != FORMAT {
            return Err(if head.format.starts_with(FORMAT_FAMILY) {
                SnapshotError::new(
                    ErrorCode::FormatUnknown,
                    "$.format",
                    format!(
                        "{}: a layout this version of flagcore does not read",
                        head.format
                    ),
                )
            } else {
                invalid("$.format".into(), "not a flagcore-published/1 head")
            });
        }
        let Some(listed) = listed else {
            return Err(invalid("$.chunks".into(), "must be an array"));
        };
        for (n, chunk) in listed.iter().enumerate() {
            let mut info = ChunkInfo {
                name: String::new(),
                hash: String::new(),
                size: usize::MAX,
            };
            if let Value::Object(fields) = chunk {
                for (name, value) in fields {
                    match name.as_str() {
                        "name" => info.name = text(value),
                        "hash" => info.hash = text(value),
                        "size" => info.size = size(value),
                        _ => {}
                    }
                }
            }
            if info.size == usize::MAX {
                return Err(invalid(
                    format!("$.chunks[{n}].size"),
                    "must be a number of bytes",
                ));
            }
            head.chunks.push(info);
        }
        if head.size == usize::MAX {
            return Err(invalid("$.size".into(), "must be a number of bytes"));
        }
        if head.published_at == i64::MIN {
            return Err(invalid(
                "$.publishedAt".into(),
                "must be milliseconds since the epoch",
            ));
        }
        head.sequence = sequence.unwrap_or(head.published_at);
        if head.sequence == i64::MIN {
            return Err(invalid("$.sequence".into(), "must be an integer"));
        }
        Ok(head)
    }

    /// The head as a JSON value.
    pub fn to_value(&self) -> Value {
        crate::json::parse(&self.to_json()).unwrap_or(Value::Null)
    }

    /// The head as JSON text. Written by hand, not through a JSON value:
    /// the WASM module, which answers heads as text, has a size budget.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256 + 160 * self.chunks.len());
        out.push_str("{\"format\":");
        quoted(&mut out, &self.format);
        out.push_str(",\"id\":");
        quoted(&mut out, &self.id);
        out.push_str(&format!(",\"size\":{},\"hash\":", self.size));
        quoted(&mut out, &self.hash);
        out.push_str(&format!(
            ",\"publishedAt\":{},\"sequence\":{},\"chunks\":[",
            self.published_at, self.sequence
        ));
        for (n, chunk) in self.chunks.iter().enumerate() {
            out.push_str(if n == 0 { "{\"name\":" } else { ",{\"name\":" });
            quoted(&mut out, &chunk.name);
            out.push_str(",\"hash\":");
            quoted(&mut out, &chunk.hash);
            out.push_str(&format!(",\"size\":{}}}", chunk.size));
        }
        out.push(']');
        if !self.source.is_empty() {
            let facts = &self.source;
            out.push_str(",\"source\":{\"storeInitialized\":");
            out.push_str(match facts.store_initialized {
                Some(true) => "true",
                Some(false) => "false",
                None => "null",
            });
            for (name, list) in [
                ("skippedNamespaces", &facts.skipped_namespaces),
                ("itemsWithoutData", &facts.items_without_data),
            ] {
                out.push_str(&format!(",\"{name}\":["));
                for (n, item) in list.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    quoted(&mut out, item);
                }
                out.push(']');
            }
            out.push('}');
        }
        out.push('}');
        out
    }

    fn validate(&self) -> Result<(), SnapshotError> {
        if self.format != FORMAT {
            return Err(invalid(
                "$.format".into(),
                "not a flagcore-published/1 head",
            ));
        }
        if self.id.is_empty() || !self.id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("$.id".into(), "the snapshot id must be hex digits"));
        }
        if self.chunks.is_empty() || self.chunks.len() > MAX_CHUNKS {
            return Err(invalid("$.chunks".into(), "a head names 1 to 1,024 chunks"));
        }
        for (n, chunk) in self.chunks.iter().enumerate() {
            if !safe_name(&chunk.name) {
                return Err(invalid(
                    format!("$.chunks[{n}].name"),
                    "a chunk's name is a relative path of letters, digits, '.', '_', '-' and '/', with no '..'",
                ));
            }
            if chunk.size == 0 || chunk.size > CHUNK_BYTES {
                return Err(invalid(
                    format!("$.chunks[{n}].size"),
                    "a chunk holds 1 to 327,680 bytes",
                ));
            }
        }
        if self.chunks.iter().map(|chunk| chunk.size).sum::<usize>() != self.size {
            return Err(invalid(
                "$.size".into(),
                "the chunks' sizes do not add up to it",
            ));
        }
        Ok(())
    }

    /// Puts the snapshot back together from its chunks' plain bytes, in
    /// order. Every chunk is checked against the head (its size and hash),
    /// then the whole, then the snapshot's content id: a chunk that is
    /// missing (`CHUNK_MISSING`) or does not match (`CHUNK_CORRUPT`) loads
    /// nothing. Give the chunks before the first one that could not be
    /// found: the error names it.
    pub fn assemble<C: AsRef<[u8]>>(&self, chunks: &[C]) -> Result<Snapshot, SnapshotError> {
        self.validate()?;
        let corrupt = |path: String| {
            SnapshotError::new(
                ErrorCode::ChunkCorrupt,
                path,
                "the chunks do not hold what the head says",
            )
        };
        if chunks.len() != self.chunks.len() {
            return Err(SnapshotError::new(
                ErrorCode::ChunkMissing,
                format!("$.chunks[{}]", chunks.len().min(self.chunks.len())),
                "a chunk the head names was not found: it expired, or its publisher stopped",
            ));
        }
        let mut text = Vec::with_capacity(self.size);
        for (n, (chunk, info)) in chunks.iter().zip(&self.chunks).enumerate() {
            let chunk = chunk.as_ref();
            if chunk.len() != info.size || hex_sha256(chunk) != info.hash {
                return Err(corrupt(format!("$.chunks[{n}]")));
            }
            text.extend_from_slice(chunk);
        }
        if hex_sha256(&text) != self.hash {
            return Err(corrupt("$.hash".into()));
        }
        let mut snapshot = Snapshot::from_json(&text)?;
        if snapshot.id() != self.id {
            return Err(corrupt("$.id".into()));
        }
        if !self.source.is_empty() {
            let mut source = snapshot.source().clone();
            source.store_initialized = self.source.store_initialized;
            source.skipped_namespaces = self.source.skipped_namespaces.clone();
            source.items_without_data = self.source.items_without_data.clone();
            snapshot.set_source(source);
        }
        Ok(snapshot)
    }
}

/// Where a generation keeps its own copy of its head, beside the head:
/// `snapshots/<id>/head.json`, written after the head. A
/// reader that must answer from exactly one snapshot (a decision token's:
/// see [`pinned`]) finds it there for as long as the generation is kept.
/// Refused (`PUBLISHED_HEAD_INVALID` at `$.id`) for anything but a snapshot
/// id, 16 lowercase hex digits.
pub fn generation_head_name(id: &str) -> Result<String, SnapshotError> {
    if id.len() != 16 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(invalid(
            "$.id".into(),
            "a snapshot id is 16 lowercase hex digits",
        ));
    }
    Ok(format!("snapshots/{id}/{HEAD_NAME}"))
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

/// The source facts of a head's `source` property; empty for anything
/// that is not an object, and only strings listed.
#[inline(never)]
fn source_facts(value: &Value) -> SourceFacts {
    let names = |name: &str| -> Vec<String> {
        value
            .get(name)
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .take(MAX_LISTED)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    SourceFacts {
        store_initialized: value.get("storeInitialized").and_then(Value::as_bool),
        skipped_namespaces: names("skippedNamespaces"),
        items_without_data: names("itemsWithoutData"),
    }
}

/// `text` as a JSON string, escaped.
#[inline(never)]
fn quoted(out: &mut String, text: &str) {
    out.push_str(&Value::from(text).to_string());
}

/// A string property's text; empty for anything else, which the checks
/// then refuse (an empty format, id, hash or name is never valid).
#[inline(never)]
fn text(value: &Value) -> String {
    value.as_str().map(str::to_owned).unwrap_or_default()
}

/// A size in bytes; `usize::MAX` (refused) for anything else.
#[inline(never)]
fn size(value: &Value) -> usize {
    value
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX)
}

#[inline(never)]
fn invalid(path: String, message: &str) -> SnapshotError {
    SnapshotError::new(ErrorCode::HeadInvalid, path, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot(value: serde_json::Value) -> Snapshot {
        Snapshot::from_json(&serde_json::to_vec(&value).unwrap()).unwrap()
    }

    fn example() -> Snapshot {
        snapshot(json!({
            "flags": {
                "b": {"on": true, "variations": [1, 2], "fallthrough": {"variation": 1}, "salt": "s",
                      "rules": [{"id": "r", "variation": 0, "clauses": [
                          {"attribute": "email", "op": "endsWith", "values": ["@x.test"]},
                          {"attribute": "key", "op": "segmentMatch", "values": ["seg"]}]}]},
                "a": {"key": "a", "on": false, "variations": ["x"], "offVariation": 0, "deleted": false,
                      "fallthrough": {"variation": 0}}
            },
            "segments": {"seg": {"key": "seg", "included": ["u1"], "version": 4}}
        }))
    }

    /// A snapshot of one 2 MB flag: 130,000 targeted keys.
    fn big_flag() -> Snapshot {
        let values: Vec<String> = (0..130_000).map(|n| format!("user-{n:08}")).collect();
        snapshot(
            json!({"flags": {"big": {"on": true, "variations": [false, true],
            "fallthrough": {"variation": 0}, "targets": [{"variation": 1, "values": values}]}}}),
        )
    }

    #[test]
    fn a_published_snapshot_reads_back_as_itself() {
        let original = example();
        let published = publish(&original, 1_700_000_000_000).unwrap();
        assert_eq!(published.head.id, original.id());
        assert_eq!(published.chunks.len(), 1);
        let head = Head::from_json(published.head.to_json().as_bytes()).unwrap();
        assert_eq!(head, published.head);
        let back = head.assemble(&published.chunks).unwrap();
        assert_eq!(back.id(), original.id());
        assert_eq!(back.flag_keys(), original.flag_keys());
        assert_eq!(back.segment_keys(), original.segment_keys());
        // The text is canonical: the same flags publish the same bytes.
        assert_eq!(canonical_json(&back), canonical_json(&original));
    }

    #[test]
    fn a_generation_head_is_named_by_a_snapshot_id_only() {
        let id = example().id().to_owned();
        assert_eq!(
            generation_head_name(&id).unwrap(),
            format!("snapshots/{id}/head.json")
        );
        for bad in [
            "",
            "../../head.json",
            "0123456789ABCDEF",
            "0123456789abcde",
            "0123456789abcdef0",
        ] {
            let error = generation_head_name(bad).unwrap_err();
            assert_eq!(
                (error.code(), error.path()),
                (ErrorCode::HeadInvalid, "$.id"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_pinned_answer_takes_the_held_snapshots_kill_switches() {
        let upstream = snapshot(json!({"flags": {
            "on": {"on": true, "variations": [1, 2], "fallthrough": {"variation": 1}},
            "killed": {"on": true, "variations": [1, 2], "fallthrough": {"variation": 1}},
            "gone": {"on": true, "variations": [1, 2], "fallthrough": {"variation": 1}}}}));
        let held = snapshot(json!({"flags": {
            "on": {"on": true, "variations": [3, 4], "fallthrough": {"variation": 0}},
            "killed": {"on": false, "variations": [5, 6], "offVariation": 1},
            "new": {"on": true, "variations": [7], "fallthrough": {"variation": 0}}}}));
        let composite = pinned(&upstream, 1, &held, 2).unwrap();
        assert_eq!(composite.id(), upstream.id());
        assert_eq!(composite.flag_keys(), ["killed", "on"]);
        assert_eq!(
            composite.variations("killed").unwrap(),
            [json!(5), json!(6)]
        );
        assert_eq!(composite.variations("on").unwrap(), [json!(1), json!(2)]);
        assert_eq!(
            composite.variations("killed").unwrap(),
            [json!(5), json!(6)]
        );
        // Published later than the held snapshot: answered from as it is.
        assert!(pinned(&upstream, 3, &held, 2).is_none());
        assert!(pinned(&held, 1, &held, 2).is_none());
    }

    #[test]
    fn a_plan_writes_nothing_for_the_same_id_and_expires_what_it_replaces() {
        let first = example();
        let Plan::Write(writes) = plan(&first, None, 1, false).unwrap() else {
            panic!("a first publish writes")
        };
        assert!(writes.replaced.is_empty());
        assert_eq!(
            writes.generation_head,
            format!("snapshots/{}/head.json", first.id())
        );
        let head = writes.published.head.to_json();
        assert!(matches!(
            plan(&first, Some(head.as_bytes()), 2, false).unwrap(),
            Plan::Unchanged
        ));
        let second = snapshot(
            json!({"flags": {"c": {"on": false, "variations": [0], "offVariation": 0, "fallthrough": {"variation": 0}}}}),
        );
        let Plan::Write(next) = plan(&second, Some(head.as_bytes()), 3, false).unwrap() else {
            panic!("another id writes")
        };
        let mut expected = vec![format!("snapshots/{}/head.json", first.id())];
        expected.extend(writes.published.head.chunks.iter().map(|c| c.name.clone()));
        assert_eq!(next.replaced, expected);
        // A head that does not read is replaced, and names nothing to expire.
        let Plan::Write(over) = plan(&first, Some(b"not a head"), 4, false).unwrap() else {
            panic!("a broken head is replaced")
        };
        assert!(over.replaced.is_empty());
    }

    fn head_of(plan: Plan) -> Head {
        match plan {
            Plan::Write(writes) => writes.published.head,
            Plan::Unchanged => panic!("expected a write"),
        }
    }

    #[test]
    fn a_plan_orders_generations_whatever_the_publishers_clocks_say() {
        let first = example();
        let second = snapshot(
            json!({"flags": {"c": {"on": false, "variations": [0], "offVariation": 0, "fallthrough": {"variation": 0}}}}),
        );
        // A publisher ten minutes fast, then one with a correct clock.
        let fast = head_of(plan(&first, None, 1_700_000_600_000, false).unwrap());
        assert_eq!(fast.sequence, 1_700_000_600_000);
        let kill = head_of(
            plan(
                &second,
                Some(fast.to_json().as_bytes()),
                1_700_000_000_000,
                false,
            )
            .unwrap(),
        );
        assert_eq!(kill.published_at, 1_700_000_000_000);
        assert_eq!(kill.sequence, 1_700_000_600_001);
        // With clocks that agree, the sequence follows them.
        let later = head_of(
            plan(
                &first,
                Some(kill.to_json().as_bytes()),
                1_700_000_900_000,
                false,
            )
            .unwrap(),
        );
        assert_eq!(later.sequence, 1_700_000_900_000);
        // A head written before sequences existed orders by its publishedAt.
        let mut old = kill.to_value();
        old.as_object_mut().unwrap().remove("sequence");
        let read = Head::from_json(old.to_string().as_bytes()).unwrap();
        assert_eq!(read.sequence, kill.published_at);
    }

    #[test]
    fn a_plan_never_replaces_a_head_of_a_newer_layout() {
        let mut newer = publish(&example(), 1).unwrap().head.to_value();
        newer["format"] = json!("flagcore-published/2");
        newer["chunks"] = json!("read in some other way");
        let other = snapshot(
            json!({"flags": {"c": {"on": false, "variations": [0], "offVariation": 0, "fallthrough": {"variation": 0}}}}),
        );
        let refused = plan(&other, Some(newer.to_string().as_bytes()), 2, true).unwrap_err();
        assert_eq!(
            (refused.code().as_str(), refused.path()),
            ("PUBLISHED_FORMAT_UNKNOWN", "$.format")
        );
        assert!(refused.message().contains("flagcore-published/2"));
        // Readers report it as such, not as a broken head.
        let read = Head::from_json(newer.to_string().as_bytes()).unwrap_err();
        assert_eq!(read.code().as_str(), "PUBLISHED_FORMAT_UNKNOWN");
        // Nor is a head larger than any this version writes.
        let large = format!("{newer}{}", " ".repeat(MAX_HEAD_BYTES));
        let refused = plan(&other, Some(large.as_bytes()), 2, true).unwrap_err();
        assert_eq!(
            (refused.code().as_str(), refused.path()),
            ("PUBLISHED_FORMAT_UNKNOWN", "$")
        );
    }

    #[test]
    fn a_plan_refuses_errors_and_a_relay_table_that_lost_its_marker() {
        let broken = snapshot(json!({"flags": {"f": {"on": true, "variations": [0],
            "fallthrough": {"variation": 3}}}}));
        let refused = plan(&broken, None, 1, false).unwrap_err();
        assert_eq!(refused.code().as_str(), "PUBLISH_REFUSED");
        assert_eq!(refused.path(), "$.flags.f.fallthrough.variation");
        assert!(matches!(plan(&broken, None, 1, true), Ok(Plan::Write(_))));

        let item = |key: &str| {
            json!({"namespace": "features", "key": key, "version": 1,
                   "item": json!({"key": key, "on": true, "variations": [0], "version": 1,
                                  "fallthrough": {"variation": 0}}).to_string()})
        };
        let inited = json!({"namespace": "$inited", "key": "$inited"});
        let whole = snapshot(json!([item("a"), item("b"), inited]));
        let partial = snapshot(json!([item("a")]));
        let whole_head = head_of(plan(&whole, None, 1, false).unwrap());
        assert_eq!(whole_head.source.store_initialized, Some(true));
        let lost = plan(&partial, Some(whole_head.to_json().as_bytes()), 2, false).unwrap_err();
        assert_eq!(
            (lost.code().as_str(), lost.path()),
            ("PUBLISH_REFUSED", "$")
        );
        // A head that says nothing of a marker (data not read from a Relay
        // table, or a head written before heads carried their source) is
        // no reason to refuse.
        let from_json = head_of(plan(&example(), None, 1, false).unwrap());
        assert!(matches!(
            plan(&partial, Some(from_json.to_json().as_bytes()), 2, false),
            Ok(Plan::Write(_))
        ));
        // The marker back, with the same flags: the head is written again,
        // naming the same generation, which nothing expires; a lost marker
        // is then refused again.
        let partial_first = head_of(plan(&partial, None, 1, false).unwrap());
        let same_flags = snapshot(json!([
            item("a"),
            json!({"namespace": "$inited", "key": "$inited"})
        ]));
        assert_eq!(same_flags.id(), partial.id());
        let Plan::Write(again) = plan(
            &same_flags,
            Some(partial_first.to_json().as_bytes()),
            5,
            false,
        )
        .unwrap() else {
            panic!("the head is written again")
        };
        assert!(again.replaced.is_empty());
        assert_eq!(again.published.head.source.store_initialized, Some(true));
        assert_eq!(again.published.head.sequence, 5);
        let lost_again = plan(
            &partial,
            Some(again.published.head.to_json().as_bytes()),
            6,
            false,
        )
        .unwrap_err();
        assert_eq!(lost_again.code().as_str(), "PUBLISH_REFUSED");
        // A table first published without its marker publishes, with the
        // warning, and so does the next one without it.
        let first = head_of(plan(&partial, None, 3, false).unwrap());
        assert!(first.source.uninitialized());
        let back = Head::from_json(first.to_json().as_bytes()).unwrap();
        assert!(back.source.uninitialized());
        let other = snapshot(json!([item("c")]));
        assert!(matches!(
            plan(&other, Some(first.to_json().as_bytes()), 4, false),
            Ok(Plan::Write(_))
        ));
    }

    #[test]
    fn the_source_facts_reach_the_readers() {
        let items = json!([
            {"namespace": "features", "key": "a", "version": 1,
             "item": json!({"key": "a", "on": true, "variations": [0], "version": 1}).to_string()},
            {"namespace": "other:features", "key": "x", "version": 1, "item": "{}"}
        ]);
        let read = snapshot(items);
        let published = publish(&read, 1).unwrap();
        let head = Head::from_json(published.head.to_json().as_bytes()).unwrap();
        let back = head.assemble(&published.chunks).unwrap();
        let codes =
            |s: &Snapshot| -> Vec<&str> { s.source_problems().iter().map(|p| p.code).collect() };
        assert_eq!(codes(&back), codes(&read));
        assert_eq!(codes(&back), ["STORE_NOT_INITIALIZED", "OTHER_NAMESPACES"]);
        // A clean source adds nothing to the head.
        assert!(!publish(&example(), 1)
            .unwrap()
            .head
            .to_json()
            .contains("source"));
    }

    #[test]
    fn a_head_is_read_up_to_its_bound_and_refused_past_it() {
        let text = publish(&example(), 1).unwrap().head.to_json();
        let padded = |total: usize| format!("{text}{}", " ".repeat(total - text.len()));
        assert!(Head::from_json(padded(MAX_HEAD_BYTES).as_bytes()).is_ok());
        let error = Head::from_json(padded(MAX_HEAD_BYTES + 1).as_bytes()).unwrap_err();
        assert_eq!(
            (error.code().as_str(), error.path()),
            ("PUBLISHED_HEAD_INVALID", "$")
        );
    }

    #[test]
    fn a_head_naming_the_most_chunks_fits_its_bound() {
        let mut head = publish(&example(), 1).unwrap().head;
        let chunk = head.chunks[0].clone();
        head.chunks = (0..MAX_CHUNKS)
            .map(|n| ChunkInfo {
                name: format!("snapshots/{}/{n}.json.gz", head.id),
                size: CHUNK_BYTES,
                ..chunk.clone()
            })
            .collect();
        head.size = CHUNK_BYTES * MAX_CHUNKS;
        let text = head.to_json();
        assert!(text.len() < MAX_HEAD_BYTES, "{} bytes", text.len());
        assert_eq!(
            Head::from_json(text.as_bytes()).unwrap().chunks.len(),
            MAX_CHUNKS
        );
    }

    #[test]
    fn a_pinned_answer_takes_a_kill_switch_made_through_a_prerequisite() {
        // Upstream: canary on, with no prerequisite. Held: canary on behind
        // a global kill switch, which is off; and a deeper chain.
        let upstream = snapshot(json!({"flags": {
            "canary": {"on": true, "variations": [false, true], "fallthrough": {"variation": 1}},
            "deep": {"on": true, "variations": [false, true], "fallthrough": {"variation": 1}},
            "kill": {"on": true, "variations": [false, true], "fallthrough": {"variation": 1}}}}));
        let held = snapshot(json!({"flags": {
            "canary": {"on": true, "variations": [false, true], "offVariation": 0,
                       "fallthrough": {"variation": 1}, "prerequisites": [{"key": "kill", "variation": 1}]},
            "deep": {"on": true, "variations": [false, true], "offVariation": 0,
                     "fallthrough": {"variation": 1}, "prerequisites": [{"key": "canary", "variation": 1}]},
            "kill": {"on": false, "variations": [false, true], "offVariation": 0,
                     "fallthrough": {"variation": 1}}}}));
        let composite = pinned(&upstream, 1, &held, 2).unwrap();
        let user = crate::Context::from_value(&json!({"key": "u"})).unwrap();
        for key in ["canary", "deep"] {
            let detail =
                composite.variation_detail(key, &user, &json!(null), crate::ValueType::Any);
            assert_eq!(*detail.value, json!(false), "{key}");
            assert_eq!(detail.reason.kind_str(), "PREREQUISITE_FAILED", "{key}");
        }
        let all = composite.all_flags_state(&user, crate::AllFlagsOptions::default());
        assert_eq!(all.to_value()["canary"], json!(false));
    }

    #[test]
    fn a_flag_larger_than_a_chunk_spans_several() {
        let big = big_flag();
        let published = publish(&big, 0).unwrap();
        let text = canonical_json(&big);
        assert!(text.len() > 2_000_000);
        assert_eq!(published.chunks.len(), text.len().div_ceil(CHUNK_BYTES));
        assert!(published.chunks.iter().all(|c| c.len() <= CHUNK_BYTES));
        let back = published.head.assemble(&published.chunks).unwrap();
        assert_eq!(back.id(), big.id());
    }

    #[test]
    fn missing_or_changed_chunks_load_nothing() {
        let big = big_flag();
        let Published { head, chunks } = publish(&big, 0).unwrap();
        let code = |result: Result<Snapshot, SnapshotError>| {
            let error = result.err().unwrap();
            (error.code().as_str(), error.path().to_owned())
        };
        assert_eq!(
            code(head.assemble(&chunks[..2])),
            ("PUBLISHED_CHUNK_MISSING", "$.chunks[2]".to_owned())
        );
        let mut changed = chunks.clone();
        changed[1][10] ^= 1;
        assert_eq!(
            code(head.assemble(&changed)),
            ("PUBLISHED_CHUNK_CORRUPT", "$.chunks[1]".to_owned())
        );
        let mut swapped = chunks.clone();
        swapped.swap(0, 1);
        assert_eq!(code(head.assemble(&swapped)).0, "PUBLISHED_CHUNK_CORRUPT");
        // A head naming another snapshot of the same bytes: the id is checked.
        let mut wrong = head.clone();
        wrong.id = "0123456789abcdef".to_owned();
        assert_eq!(
            code(wrong.assemble(&chunks)),
            ("PUBLISHED_CHUNK_CORRUPT", "$.id".to_owned())
        );
    }

    #[test]
    fn a_snapshot_of_too_many_chunks_is_not_published() {
        assert_eq!(
            cut(b"abcdefg", 3, 3).unwrap(),
            [b"abc".to_vec(), b"def".to_vec(), b"g".to_vec()]
        );
        assert_eq!(cut(b"abcdefghi", 3, 3).unwrap().len(), 3);
        let refused = cut(b"abcdefghij", 3, 3).unwrap_err();
        assert_eq!(
            (refused.code().as_str(), refused.path()),
            ("PUBLISHED_HEAD_INVALID", "$.chunks")
        );
    }

    #[test]
    fn heads_that_do_not_add_up_are_refused() {
        let head = publish(&example(), 5).unwrap().head;
        let refused = |change: &dyn Fn(&mut serde_json::Value)| {
            let mut value = head.to_value();
            change(&mut value);
            let error = Head::from_json(&serde_json::to_vec(&value).unwrap()).unwrap_err();
            assert_eq!(error.code().as_str(), "PUBLISHED_HEAD_INVALID");
            error.path().to_owned()
        };
        assert_eq!(
            refused(&|v| v["format"] = json!("launchdarkly")),
            "$.format"
        );
        assert_eq!(refused(&|v| v["id"] = json!("../../etc")), "$.id");
        assert_eq!(refused(&|v| v["chunks"] = json!([])), "$.chunks");
        for name in [
            "../x",
            "/etc/passwd",
            "a//b",
            "https://elsewhere.test/x",
            "a/./b",
            "",
        ] {
            assert_eq!(
                refused(&|v| v["chunks"][0]["name"] = json!(name)),
                "$.chunks[0].name",
                "{name}"
            );
        }
        assert_eq!(refused(&|v| v["size"] = json!(1)), "$.size");
        assert_eq!(
            refused(&|v| v["chunks"][0]["size"] = json!("big")),
            "$.chunks[0].size"
        );
        assert_eq!(
            refused(&|v| v["publishedAt"] = json!(null)),
            "$.publishedAt"
        );
        let error = Head::from_json(b"not json").unwrap_err();
        assert_eq!(error.code().as_str(), "PUBLISHED_HEAD_INVALID");
    }
}
