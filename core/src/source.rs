//! Where a snapshot's data came from, and what of it a person checking the
//! snapshot wants to see: shared by the snapshot and its formats.

/// Where a snapshot's data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// `{"flags": {...}, "segments": {...}}`, as `/sdk/latest-all` returns it.
    Polling,
    /// The streaming `put` event: `{"path": "/", "data": {...}}`.
    StreamingPut,
    /// The SDK file-data-source shape, with `flagValues`.
    FileData,
    /// Items of the Relay Proxy's DynamoDB table.
    DynamoDb,
}

impl Format {
    /// A short name for people: `polling`, `put`, `file`, `dynamodb`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Polling => "polling",
            Format::StreamingPut => "put",
            Format::FileData => "file",
            Format::DynamoDb => "dynamodb",
        }
    }
}

/// Facts about the source that do not change evaluation but that a person
/// checking a snapshot wants to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// The format that was read.
    pub format: Format,
    /// DynamoDB only: whether the `$inited` marker was present. LaunchDarkly's
    /// daemon-mode SDKs evaluate without it, and so does flagcore.
    pub store_initialized: Option<bool>,
    /// DynamoDB only: namespaces of items that were skipped because they
    /// belong to another prefix or are not flags or segments.
    pub skipped_namespaces: Vec<String>,
    /// Items that were tombstones (`deleted: true`) and read as absent.
    pub deleted_items: usize,
    /// DynamoDB only: the items that have no `item` attribute, as
    /// `namespace/key`. They read as deleted, as LaunchDarkly's Node SDK
    /// has it; `check` and the clients' `status()` report them.
    pub items_without_data: Vec<String>,
}
