//! A head: read from its JSON text and checked, written back, and used to
//! put its chunks back together into the snapshot it names.

use serde_json::{Map, Value};

use super::*;

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
