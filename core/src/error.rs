//! The one error type of the core: what can go wrong while reading a snapshot.
//!
//! Evaluation never fails (problems in flag data become reasons), so this is
//! only about ingestion. Every error carries a stable machine code that
//! bindings expose unchanged, a JSON path to the offending place, and a
//! message a person can act on.

use std::fmt;

/// The stable machine code of a [`SnapshotError`]. Hosts branch on these
/// strings, so they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The input is not JSON (or not UTF-8).
    InvalidJson,
    /// The input is JSON, but none of the snapshot formats flagcore reads.
    UnknownFormat,
    /// A top-level collection (`flags`, `segments`, `flagValues`, `data`,
    /// `Items`) has the wrong type.
    InvalidField,
    /// A flag has a property of the wrong type.
    FlagInvalid,
    /// A segment has a property of the wrong type.
    SegmentInvalid,
    /// The same flag key is defined twice (in `flags` and in `flagValues`).
    DuplicateKey,
    /// A DynamoDB item lacks `namespace` or `key`, has an attribute of an
    /// unexpected type, or holds an `item` that is not JSON.
    DynamoDbItemInvalid,
    /// DynamoDB items with no flag, no segment and no `$inited` marker: a
    /// wrong table or prefix, or a table nobody has written yet. Taking it
    /// for an empty environment would answer every flag's default.
    DynamoDbEmpty,
    /// A published snapshot's head is not JSON, not of a format this version
    /// reads, or does not add up (see [`crate::published::Head`]).
    HeadInvalid,
    /// Fewer (or more) chunks were read than a published snapshot's head
    /// names: a publisher stopped before its head, or they expired.
    ChunkMissing,
    /// A chunk does not match its size and hash in the head, or the chunks
    /// do not add up to the snapshot the head names.
    ChunkCorrupt,
    /// A published head of a layout this version does not read: a newer
    /// flagcore wrote it. Readers keep what they hold; publishers never
    /// replace it.
    FormatUnknown,
    /// A publisher refused to publish: the snapshot has errors that
    /// `check` lists, or it is a Relay table that lost its `$inited` marker.
    PublishRefused,
}

impl ErrorCode {
    /// Every code, for tests that prove each one is reachable.
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::InvalidJson,
        ErrorCode::UnknownFormat,
        ErrorCode::InvalidField,
        ErrorCode::FlagInvalid,
        ErrorCode::SegmentInvalid,
        ErrorCode::DuplicateKey,
        ErrorCode::DynamoDbItemInvalid,
        ErrorCode::DynamoDbEmpty,
        ErrorCode::HeadInvalid,
        ErrorCode::ChunkMissing,
        ErrorCode::ChunkCorrupt,
        ErrorCode::FormatUnknown,
        ErrorCode::PublishRefused,
    ];

    /// The code as hosts see it, e.g. `FLAG_INVALID`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "SNAPSHOT_INVALID_JSON",
            ErrorCode::UnknownFormat => "SNAPSHOT_UNKNOWN_FORMAT",
            ErrorCode::InvalidField => "SNAPSHOT_INVALID_FIELD",
            ErrorCode::FlagInvalid => "FLAG_INVALID",
            ErrorCode::SegmentInvalid => "SEGMENT_INVALID",
            ErrorCode::DuplicateKey => "SNAPSHOT_DUPLICATE_KEY",
            ErrorCode::DynamoDbItemInvalid => "DYNAMODB_ITEM_INVALID",
            ErrorCode::DynamoDbEmpty => "DYNAMODB_EMPTY",
            ErrorCode::HeadInvalid => "PUBLISHED_HEAD_INVALID",
            ErrorCode::ChunkMissing => "PUBLISHED_CHUNK_MISSING",
            ErrorCode::ChunkCorrupt => "PUBLISHED_CHUNK_CORRUPT",
            ErrorCode::FormatUnknown => "PUBLISHED_FORMAT_UNKNOWN",
            ErrorCode::PublishRefused => "PUBLISH_REFUSED",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A snapshot that could not be read. Nothing of it was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotError {
    code: ErrorCode,
    path: String,
    message: String,
}

impl SnapshotError {
    pub(crate) fn new(
        code: ErrorCode,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        SnapshotError {
            code,
            path: path.into(),
            message: message.into(),
        }
    }

    /// The stable machine code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// Where in the input the problem is, as a JSON path (`$.flags["a-b"].rules[0].variation`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong, for a person.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `{"code", "path", "message"}`, as hosts hand errors on.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::json!({"code": self.code().as_str(), "path": self.path(), "message": self.message()})
    }
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}: {}", self.code, self.path, self.message)
    }
}

impl std::error::Error for SnapshotError {}

/// Builds JSON paths in one notation everywhere: `.name` for identifier-like
/// keys, `["key"]` (JSON-escaped) for the rest, `[i]` for array indexes.
#[derive(Debug, Clone, Default)]
pub(crate) struct JsonPath(String);

impl JsonPath {
    pub(crate) fn root() -> Self {
        JsonPath("$".to_owned())
    }

    pub(crate) fn key(&self, key: &str) -> Self {
        let mut out = self.0.clone();
        push_key(&mut out, key);
        JsonPath(out)
    }

    pub(crate) fn index(&self, i: usize) -> Self {
        JsonPath(format!("{}[{}]", self.0, i))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Appends a path that serde_path_to_error reported (`a.b[0].c`).
    pub(crate) fn join_serde(&self, inner: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment;
        let mut out = self.0.clone();
        for segment in inner {
            match segment {
                Segment::Seq { index } => out.push_str(&format!("[{index}]")),
                Segment::Map { key } | Segment::Enum { variant: key } => push_key(&mut out, key),
                Segment::Unknown => {}
            }
        }
        JsonPath(out)
    }
}

fn push_key(out: &mut String, key: &str) {
    let identifier = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if identifier {
        out.push('.');
        out.push_str(key);
    } else {
        out.push('[');
        // Serializing a string cannot fail; fall back to Debug quoting anyway.
        match serde_json::to_string(key) {
            Ok(quoted) => out.push_str(&quoted),
            Err(_) => out.push_str(&format!("{key:?}")),
        }
        out.push(']');
    }
}

/// serde_json appends "at line 1 column 2" to type errors; the path says
/// more, and the same flag read from DynamoDB would have other positions.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_quote_keys_that_are_not_identifiers() {
        let p = JsonPath::root()
            .key("flags")
            .key("new-checkout")
            .index(2)
            .key("op");
        assert_eq!(p.as_str(), "$.flags[\"new-checkout\"][2].op");
    }

    #[test]
    fn codes_are_distinct() {
        let mut seen: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), ErrorCode::ALL.len());
    }
}
