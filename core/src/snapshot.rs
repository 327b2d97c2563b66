//! The immutable snapshot: flags and segments read once from any of the
//! formats the README lists under "Snapshots", prepared for evaluation, with a content id.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use foldhash::fast::FixedState;
use hashbrown::{HashMap, HashSet};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::dynamodb;
use crate::error::{strip_position, ErrorCode, JsonPath, SnapshotError};
use crate::model::{Flag, Segment, MAX_DEPTH};
use crate::source::{Format, SourceInfo};

/// Flag data ready for evaluation. Immutable: a refresh builds a new one.
#[derive(Debug, Clone)]
pub struct Snapshot {
    // Shared, so that what a pinned request answers from (see
    // `with_kill_switches_of`) copies no flag and no segment.
    flags: HashMap<String, Arc<Flag>, FixedState>,
    segments: Arc<HashMap<String, Segment, FixedState>>,
    flag_keys: Vec<String>,
    segment_keys: Arc<Vec<String>>,
    /// Computed on first use: it hashes every item, and many hosts never ask.
    id: OnceLock<String>,
    source: SourceInfo,
}

/// The JSON object forms, read in one pass.
#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    flags: Option<Entries<Flag>>,
    #[serde(default)]
    segments: Option<Entries<Segment>>,
    #[serde(default, rename = "flagValues")]
    flag_values: Option<Entries<Value>>,
    #[serde(default)]
    data: Option<Box<Document>>,
    #[serde(default, rename = "Items")]
    items: Option<Vec<Value>>,
}

/// A JSON object's entries in document order: cheaper than a map, whose
/// growth would move every (large) item several times.
struct Entries<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Entries<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for EntriesVisitor<T> {
            type Value = Entries<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<T>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }

        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}

impl Snapshot {
    /// Reads a snapshot in any supported format: the polling payload, the
    /// streaming `put` wrapper, the file-data-source shape, or DynamoDB items
    /// (a JSON array, or a `{"Items": [...]}` scan or query output).
    pub fn from_json(input: &[u8]) -> Result<Snapshot, SnapshotError> {
        Snapshot::from_json_with_prefix(input, None)
    }

    /// As [`Snapshot::from_json`]; DynamoDB items are read under `prefix`
    /// (`prefix:features`...). The prefix is ignored for the other formats.
    pub fn from_json_with_prefix(
        input: &[u8],
        prefix: Option<&str>,
    ) -> Result<Snapshot, SnapshotError> {
        let text = std::str::from_utf8(input).map_err(|e| {
            SnapshotError::new(
                ErrorCode::InvalidJson,
                "$",
                format!("the input is not UTF-8: {e}"),
            )
        })?;
        match text.trim_start().as_bytes().first() {
            Some(b'[') => {
                let items: Vec<Value> = serde_json::from_str(text).map_err(|e| json_error(&e))?;
                Snapshot::from_dynamodb_items(&items, prefix)
            }
            Some(b'{') => Snapshot::from_document(text, prefix),
            _ => Err(match crate::json::parse(text) {
                Err(e) => json_error(&e),
                Ok(_) => unknown_format(
                    "$",
                    "a snapshot is a JSON object or an array of DynamoDB items",
                ),
            }),
        }
    }

    /// Reads DynamoDB items in the Relay Proxy / SDK store layout
    /// (`namespace`, `key`, `version`, `item`), typed (`{"S": ...}`) or plain.
    pub fn from_dynamodb_items(
        items: &[Value],
        prefix: Option<&str>,
    ) -> Result<Snapshot, SnapshotError> {
        let read = dynamodb::read_items(items, prefix, &JsonPath::root())?;
        Ok(Snapshot::build(read.flags, read.segments, read.source))
    }

    fn from_document(text: &str, prefix: Option<&str>) -> Result<Snapshot, SnapshotError> {
        let document: Document = match serde_json::from_str(text) {
            Ok(document) => document,
            Err(_) => return Err(document_error(text)),
        };
        Snapshot::read_document(document, prefix, &JsonPath::root(), false)
    }

    fn read_document(
        document: Document,
        prefix: Option<&str>,
        path: &JsonPath,
        nested: bool,
    ) -> Result<Snapshot, SnapshotError> {
        if let Some(data) = document.data {
            if nested {
                return Err(unknown_format(
                    path.key("data").as_str(),
                    "a put event's data cannot hold another put event",
                ));
            }
            let mut snapshot = Snapshot::read_document(*data, prefix, &path.key("data"), true)?;
            snapshot.source.format = Format::StreamingPut;
            return Ok(snapshot);
        }
        if let Some(items) = document.items {
            let read = dynamodb::read_items(&items, prefix, &path.key("Items"))?;
            return Ok(Snapshot::build(read.flags, read.segments, read.source));
        }
        let format = match (&document.flags, &document.segments, &document.flag_values) {
            (_, _, Some(_)) => Format::FileData,
            (Some(_), _, _) | (_, Some(_), _) => Format::Polling,
            (None, None, None) => {
                return Err(unknown_format(
                    path.as_str(),
                    "expected \"flags\", \"segments\", \"flagValues\", a put event's \"data\", or DynamoDB \"Items\"",
                ))
            }
        };
        let mut deleted = 0;
        let mut flags = Vec::new();
        for (map_key, mut flag) in document.flags.map(|e| e.0).unwrap_or_default() {
            if flag.key.is_empty() {
                flag.key = map_key;
            }
            if flag.deleted {
                deleted += 1;
            } else {
                flags.push(flag);
            }
        }
        let explicit = flags.len();
        for (key, value) in document.flag_values.map(|e| e.0).unwrap_or_default() {
            flags.push(Flag::from_value(&key, value));
        }
        let mut segments = Vec::new();
        for (map_key, mut segment) in document.segments.map(|e| e.0).unwrap_or_default() {
            if segment.key.is_empty() {
                segment.key = map_key;
            }
            if segment.deleted {
                deleted += 1;
            } else {
                segments.push(segment);
            }
        }
        let source = SourceInfo {
            format,
            store_initialized: None,
            skipped_namespaces: Vec::new(),
            deleted_items: deleted,
            items_without_data: Vec::new(),
        };
        // The same key twice (two map entries naming one key, or a key in
        // both flags and flagValues) is refused rather than one silently winning.
        if let Some(index) = first_duplicate(flags.iter().map(|f| f.key.as_str())) {
            let key = flags.get(index).map(|f| f.key.as_str()).unwrap_or_default();
            let collection = if index >= explicit {
                "flagValues"
            } else {
                "flags"
            };
            return Err(duplicate(path.key(collection).key(key), key));
        }
        if let Some(index) = first_duplicate(segments.iter().map(|s| s.key.as_str())) {
            let key = segments
                .get(index)
                .map(|s| s.key.as_str())
                .unwrap_or_default();
            return Err(duplicate(path.key("segments").key(key), key));
        }
        Ok(Snapshot::build(flags, segments, source))
    }

    /// Prepares every item and computes the content id.
    pub(crate) fn build(flags: Vec<Flag>, segments: Vec<Segment>, source: SourceInfo) -> Snapshot {
        // Items are moved once, into their maps; only keys are sorted.
        let mut flag_map: HashMap<String, Arc<Flag>, FixedState> =
            HashMap::with_capacity_and_hasher(flags.len(), FixedState::default());
        for mut flag in flags {
            flag.prepare();
            flag_map.insert(flag.key.clone(), Arc::new(flag));
        }
        let mut segment_map: HashMap<String, Segment, FixedState> =
            HashMap::with_capacity_and_hasher(segments.len(), FixedState::default());
        for mut segment in segments {
            segment.prepare();
            segment_map.insert(segment.key.clone(), segment);
        }
        let mut flag_keys: Vec<String> = flag_map.keys().cloned().collect();
        flag_keys.sort_unstable();
        let mut segment_keys: Vec<String> = segment_map.keys().cloned().collect();
        segment_keys.sort_unstable();
        Snapshot {
            flags: flag_map,
            segments: Arc::new(segment_map),
            flag_keys,
            segment_keys: Arc::new(segment_keys),
            id: OnceLock::new(),
            source,
        }
    }

    /// The content id: the same flags and segments give the same id whatever
    /// format they came in; any change to what flagcore reads gives a new one.
    ///
    /// It is computed on the first call (about 1 ms per MB of flags) and kept.
    pub fn id(&self) -> &str {
        self.id
            .get_or_init(|| content_id(self.flags_sorted(), self.segments_sorted()))
    }

    /// Every flag key, sorted.
    pub fn flag_keys(&self) -> &[String] {
        &self.flag_keys
    }

    /// Every segment key, sorted.
    pub fn segment_keys(&self) -> &[String] {
        &self.segment_keys
    }

    /// Where the data came from.
    pub fn source(&self) -> &SourceInfo {
        &self.source
    }

    /// A flag's variation values, in index order.
    pub fn variations(&self, flag_key: &str) -> Option<&[Value]> {
        self.flags
            .get(flag_key)
            .map(|flag| flag.variations.as_slice())
    }

    /// The keys a flag's reasons can name, for hosts that build reasons
    /// from indexes: each rule's `id`, and each prerequisite's flag key.
    pub fn reason_keys(&self, flag_key: &str) -> Option<(Vec<&str>, Vec<&str>)> {
        let flag = self.flags.get(flag_key)?;
        let rule_ids = flag.rules.iter().map(|r| r.id.as_str()).collect();
        let prerequisites = flag.prerequisites.iter().map(|p| p.key.as_str()).collect();
        Some((rule_ids, prerequisites))
    }

    pub(crate) fn flag(&self, key: &str) -> Option<&Flag> {
        self.flags.get(key).map(Arc::as_ref)
    }

    pub(crate) fn segment(&self, key: &str) -> Option<&Segment> {
        self.segments.get(key)
    }

    /// Whether this snapshot switched flag `key` off: the flag is off or
    /// missing, or so is a prerequisite on any path below it (a global kill
    /// switch used as a prerequisite is a common pattern). Cycles and depth
    /// are bounded as in evaluation; data past them counts as switched off.
    /// The one kill-switch rule of decision tokens and of pinned requests.
    pub(crate) fn switched_off(&self, key: &str) -> bool {
        let mut seen: HashSet<&str, FixedState> = HashSet::default();
        let mut stack: Vec<(&str, usize)> = vec![(key, 0)];
        while let Some((key, depth)) = stack.pop() {
            let Some(flag) = self.flag(key) else {
                return true;
            };
            if !flag.on || depth > MAX_DEPTH {
                return true;
            }
            if seen.insert(&flag.key) {
                stack.extend(
                    flag.prerequisites
                        .iter()
                        .map(|p| (p.key.as_str(), depth + 1)),
                );
            }
        }
        false
    }

    /// This snapshot's flags and segments, with the kill switches of
    /// `newest`: each flag that `newest` has switched off (itself, or
    /// through a prerequisite: see [`Snapshot::switched_off`]) is
    /// `newest`'s, each that `newest` lacks is left out, and every other
    /// flag and segment is this snapshot's. A flag taken from `newest`
    /// answers there as it does in `newest` (off, or its prerequisite
    /// failed), since its switched-off prerequisites are `newest`'s too and
    /// the ones `newest` lacks are left out. It keeps this snapshot's id,
    /// the one its answers were given from upstream. A flag only `newest`
    /// has is left out too, as it was upstream. Flags and segments are
    /// shared, not copied: this costs a map of the flag keys.
    pub(crate) fn with_kill_switches_of(&self, newest: &Snapshot) -> Snapshot {
        let mut flags: HashMap<String, Arc<Flag>, FixedState> =
            HashMap::with_capacity_and_hasher(self.flags.len(), FixedState::default());
        let mut flag_keys = Vec::with_capacity(self.flag_keys.len());
        // In key order, so the keys stay sorted.
        for key in &self.flag_keys {
            let (Some(flag), Some(latest)) = (self.flags.get(key), newest.flags.get(key)) else {
                continue;
            };
            let killed = newest.switched_off(key);
            flags.insert(key.clone(), Arc::clone(if killed { latest } else { flag }));
            flag_keys.push(key.clone());
        }
        Snapshot {
            flags,
            segments: Arc::clone(&self.segments),
            flag_keys,
            segment_keys: Arc::clone(&self.segment_keys),
            id: OnceLock::from(self.id().to_owned()),
            source: self.source.clone(),
        }
    }

    /// The source facts a published head carried, in place of those of
    /// the text its chunks hold (see [`crate::published::Head`]).
    pub(crate) fn set_source(&mut self, source: SourceInfo) {
        self.source = source;
    }

    /// Flags in key order.
    pub(crate) fn flags_sorted(&self) -> impl Iterator<Item = &Flag> {
        self.flag_keys
            .iter()
            .filter_map(|key| self.flags.get(key).map(Arc::as_ref))
    }

    /// Segments in key order.
    pub(crate) fn segments_sorted(&self) -> impl Iterator<Item = &Segment> {
        self.segment_keys
            .iter()
            .filter_map(|key| self.segments.get(key))
    }
}

/// SHA-256 over every flag and segment, in key order, each serialized from
/// the model (so whitespace, property order and unread properties of the
/// source do not matter), shortened to 16 hex digits.
///
/// This relies on serde_json's default sorted maps: the workspace must not
/// enable its `preserve_order` feature.
fn content_id<'a>(
    flags: impl Iterator<Item = &'a Flag>,
    segments: impl Iterator<Item = &'a Segment>,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"flagcore-snapshot-v1\n");
    // One buffer, one hash update per item: feeding the hash token by token
    // costs more than the hashing itself.
    let mut buffer = Vec::with_capacity(4096);
    let mut add = |tag: &[u8], item: Result<(), serde_json::Error>, buffer: &mut Vec<u8>| {
        // Serializing the model cannot fail: every map has string keys.
        if item.is_ok() {
            hasher.update(tag);
            hasher.update(&buffer[..]);
            hasher.update(b"\n");
        }
        buffer.clear();
    };
    for flag in flags {
        let written = serde_json::to_writer(&mut buffer, flag);
        add(b"flag\n", written, &mut buffer);
    }
    for segment in segments {
        let written = serde_json::to_writer(&mut buffer, segment);
        add(b"segment\n", written, &mut buffer);
    }
    let digest = hasher.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn json_error(error: &serde_json::Error) -> SnapshotError {
    SnapshotError::new(
        ErrorCode::InvalidJson,
        "$",
        format!("not valid JSON: {error}"),
    )
}

fn unknown_format(path: &str, message: &str) -> SnapshotError {
    SnapshotError::new(
        ErrorCode::UnknownFormat,
        path,
        format!("not a flag snapshot: {message}"),
    )
}

/// The index of the first key that was seen before.
fn first_duplicate<'a>(keys: impl Iterator<Item = &'a str>) -> Option<usize> {
    let mut seen: HashSet<&str, FixedState> = HashSet::default();
    keys.enumerate()
        .find_map(|(i, key)| (!seen.insert(key)).then_some(i))
}

fn duplicate(path: JsonPath, key: &str) -> SnapshotError {
    SnapshotError::new(
        ErrorCode::DuplicateKey,
        path.as_str(),
        format!("the key {key:?} is defined more than once"),
    )
}

/// Reads the document again, tracking the path, to say where it went wrong.
/// Only failures pay for this.
fn document_error(text: &str) -> SnapshotError {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let error = match serde_path_to_error::deserialize::<_, Document>(&mut deserializer) {
        Ok(_) => {
            return SnapshotError::new(ErrorCode::InvalidJson, "$", "not valid JSON");
        }
        Err(error) => error,
    };
    let path = JsonPath::root().join_serde(error.path());
    let inner = error.into_inner();
    if !inner.is_data() {
        return SnapshotError::new(
            ErrorCode::InvalidJson,
            path.as_str(),
            format!("not valid JSON: {inner}"),
        );
    }
    item_error(path, &inner)
}

/// Classifies a type error by where it is: in a flag, in a segment, or in
/// the document's own structure.
pub(crate) fn item_error(path: JsonPath, error: &serde_json::Error) -> SnapshotError {
    let text = path.as_str();
    let within = |collection: &str| {
        [format!("$.{collection}"), format!("$.data.{collection}")]
            .iter()
            .any(|p| text.starts_with(p.as_str()) && text.len() > p.len())
    };
    let message = strip_position(&error.to_string());
    if within("flags") {
        SnapshotError::new(
            ErrorCode::FlagInvalid,
            text,
            format!("invalid flag: {message}"),
        )
    } else if within("segments") {
        SnapshotError::new(
            ErrorCode::SegmentInvalid,
            text,
            format!("invalid segment: {message}"),
        )
    } else {
        SnapshotError::new(ErrorCode::InvalidField, text, message)
    }
}
