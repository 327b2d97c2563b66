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

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{ErrorCode, SnapshotError};
use crate::snapshot::Snapshot;

/// The `format` of a head this version writes and reads.
pub const FORMAT: &str = "flagcore-published/1";

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
    /// When it was published, in milliseconds since the epoch.
    pub published_at: i64,
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
    /// The head already names the snapshot's content id: nothing is written.
    Unchanged,
    /// Write these, in this order (see [`Writes`]).
    Write(Box<Writes>),
}

/// A publish, in the order every publisher writes it: the chunks (gzip,
/// each under the name the head gives it), then the generation's own head
/// (the head's text under [`Writes::generation_head`]), then the head, on
/// the condition that it is still the one read (so two publishers never
/// interleave). Then the replaced generation's items may expire, after a
/// retention window that lets readers, and requests pinned to it, finish.
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
/// `published_at`. A head that does not read (a broken write) is replaced
/// like any other. The one rule of `flagcore publish` and of the Node
/// package's `publish()`.
pub fn plan(
    snapshot: &Snapshot,
    previous: Option<&[u8]>,
    published_at: i64,
) -> Result<Plan, SnapshotError> {
    let previous = previous.and_then(|bytes| Head::from_json(bytes).ok());
    if previous
        .as_ref()
        .is_some_and(|head| head.id == snapshot.id())
    {
        return Ok(Plan::Unchanged);
    }
    let published = publish(snapshot, published_at)?;
    let generation_head = generation_head_name(&published.head.id)?;
    let replaced = match previous {
        None => Vec::new(),
        Some(head) => std::iter::once(generation_head_name(&head.id))
            .filter_map(Result::ok)
            .chain(head.chunks.into_iter().map(|chunk| chunk.name))
            .collect(),
    };
    Ok(Plan::Write(Box::new(Writes {
        published,
        generation_head,
        replaced,
    })))
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
            chunks: Vec::new(),
        };
        let mut listed = None;
        for (name, value) in object {
            match name.as_str() {
                "format" => head.format = text(value),
                "id" => head.id = text(value),
                "hash" => head.hash = text(value),
                "size" => head.size = size(value),
                "publishedAt" => head.published_at = value.as_i64().unwrap_or(i64::MIN),
                "chunks" => listed = value.as_array(),
                _ => {}
            }
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
        Ok(head)
    }

    /// The head as a JSON value.
    pub fn to_value(&self) -> Value {
        let chunks: Vec<Value> = self
            .chunks
            .iter()
            .map(|c| json!({"name": c.name, "hash": c.hash, "size": c.size}))
            .collect();
        json!({
            "format": self.format,
            "id": self.id,
            "size": self.size,
            "hash": self.hash,
            "publishedAt": self.published_at,
            "chunks": chunks,
        })
    }

    /// The head as JSON text.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    fn validate(&self) -> Result<(), SnapshotError> {
        if self.format != FORMAT {
            return Err(invalid(
                "$.format".into(),
                "not flagcore-published/1: a newer publisher wrote it",
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
        let snapshot = Snapshot::from_json(&text)?;
        if snapshot.id() != self.id {
            return Err(corrupt("$.id".into()));
        }
        Ok(snapshot)
    }
}

/// Where a generation keeps its own copy of its head, beside the head:
/// `snapshots/<id>/head.json`, written with its chunks, before the head. A
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
/// (published at `pinned_at`) that an upstream function answered from, when
/// the function itself holds `held` (published at `held_at`).
///
/// The kill switch wins: when `held` is the newer, the answer is `pinned`'s
/// flags with `held`'s switched-off flags in their place, and without the
/// flags `held` lacks (see [`Snapshot`]'s composite: prerequisites follow,
/// as they are looked up in it). When `pinned` is the newer (a head read
/// lagged behind upstream's), it is the newest the function knows, and is
/// answered from as it is: `None`. Either way the answer keeps `pinned`'s
/// id, so that tokens issued from it pin the next function to it too.
pub fn pinned(
    pinned: &Snapshot,
    pinned_at: i64,
    held: &Snapshot,
    held_at: i64,
) -> Option<Snapshot> {
    if pinned_at > held_at || pinned.id() == held.id() {
        return None;
    }
    Some(pinned.with_kill_switches_of(held))
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
                "a": {"key": "a", "on": false, "variations": ["x"], "offVariation": 0, "deleted": false}
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
        let Plan::Write(writes) = plan(&first, None, 1).unwrap() else {
            panic!("a first publish writes")
        };
        assert!(writes.replaced.is_empty());
        assert_eq!(
            writes.generation_head,
            format!("snapshots/{}/head.json", first.id())
        );
        let head = writes.published.head.to_json();
        assert!(matches!(
            plan(&first, Some(head.as_bytes()), 2).unwrap(),
            Plan::Unchanged
        ));
        let second = snapshot(json!({"flags": {"c": {"on": false, "variations": [0]}}}));
        let Plan::Write(next) = plan(&second, Some(head.as_bytes()), 3).unwrap() else {
            panic!("another id writes")
        };
        let mut expected = vec![format!("snapshots/{}/head.json", first.id())];
        expected.extend(writes.published.head.chunks.iter().map(|c| c.name.clone()));
        assert_eq!(next.replaced, expected);
        // A head that does not read is replaced, and names nothing to expire.
        let Plan::Write(over) = plan(&first, Some(b"not a head"), 4).unwrap() else {
            panic!("a broken head is replaced")
        };
        assert!(over.replaced.is_empty());
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
            refused(&|v| v["format"] = json!("flagcore-published/2")),
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
