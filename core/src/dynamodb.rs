//! The Relay Proxy's DynamoDB layout (SNAPSHOTS.md §1): one item per flag or
//! segment, `namespace` = `[prefix:]features` or `[prefix:]segments`, the
//! key in the sort key `key`, the whole object as a JSON string in `item`.
//! Items come as DynamoDB's typed JSON (`{"S": "..."}`) or as plain values.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::HashMap;

use crate::error::{strip_position, ErrorCode, JsonPath, SnapshotError};
use crate::model::{Flag, Segment};
use crate::source::{Format, SourceInfo};

/// What a list of items holds.
pub(crate) struct Read {
    pub(crate) flags: Vec<Flag>,
    pub(crate) segments: Vec<Segment>,
    pub(crate) source: SourceInfo,
}

/// The latest version seen of one key: the item, or `None` for a tombstone.
struct Latest<T> {
    version: i64,
    item: Option<T>,
}

pub(crate) fn read_items(
    items: &[Value],
    prefix: Option<&str>,
    path: &JsonPath,
) -> Result<Read, SnapshotError> {
    let namespace = |kind: &str| match prefix {
        Some(prefix) if !prefix.is_empty() => format!("{prefix}:{kind}"),
        _ => kind.to_owned(),
    };
    let (features, segments_ns, inited) = (
        namespace("features"),
        namespace("segments"),
        namespace("$inited"),
    );
    let mut flags: HashMap<String, Latest<Flag>> = HashMap::new();
    let mut segments: HashMap<String, Latest<Segment>> = HashMap::new();
    let mut store_initialized = false;
    let mut skipped: Vec<String> = Vec::new();
    let mut without_data: Vec<String> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let at = path.index(index);
        let Value::Object(item) = item else {
            return Err(invalid(&at, "a DynamoDB item must be an object"));
        };
        let ns = string_attribute(item, "namespace", &at)?
            .ok_or_else(|| invalid(&at, "the item has no \"namespace\" attribute"))?;
        if ns == inited {
            store_initialized = true;
            continue;
        }
        let is_flag = ns == features;
        if !is_flag && ns != segments_ns {
            if !skipped.iter().any(|s| s == ns) {
                skipped.push(ns.to_owned());
            }
            continue;
        }
        // The sort key is the real key: the Relay Proxy's tombstones say
        // "$deleted" inside the JSON.
        let key = string_attribute(item, "key", &at)?
            .ok_or_else(|| invalid(&at, "the item has no \"key\" attribute"))?;
        let version = number_attribute(item, "version", &at)?;
        if string_attribute(item, "item", &at)?.is_none() {
            without_data.push(format!("{ns}/{key}"));
        }
        if is_flag {
            read_one(item, &at, key, version, &mut flags)?;
        } else {
            read_one(item, &at, key, version, &mut segments)?;
        }
    }
    if !store_initialized && flags.is_empty() && segments.is_empty() {
        let seen = if skipped.is_empty() {
            String::from("no items at all")
        } else {
            format!("only items of other namespaces ({})", skipped.join(", "))
        };
        return Err(SnapshotError::new(
            ErrorCode::DynamoDbEmpty,
            path.as_str(),
            format!("no flags, no segments and no {inited} marker under namespace {features:?}: {seen}; is the table or the prefix wrong?"),
        ));
    }
    let (live_flags, deleted_flags) = live(flags);
    let (live_segments, deleted_segments) = live(segments);
    skipped.sort();
    without_data.sort();
    Ok(Read {
        flags: live_flags,
        segments: live_segments,
        source: SourceInfo {
            format: Format::DynamoDb,
            store_initialized: Some(store_initialized),
            skipped_namespaces: skipped,
            deleted_items: deleted_flags + deleted_segments,
            items_without_data: without_data,
        },
    })
}

/// What flags and segments share as stored items.
trait Stored: DeserializeOwned {
    const WHAT: &'static str;
    /// The code of an item of this kind with a property of the wrong type.
    const CODE: ErrorCode;
    fn key_mut(&mut self) -> &mut String;
    fn version_mut(&mut self) -> &mut i64;
    fn deleted(&self) -> bool;
}

macro_rules! stored {
    ($type:ty, $what:literal, $code:expr) => {
        impl Stored for $type {
            const WHAT: &'static str = $what;
            const CODE: ErrorCode = $code;
            fn key_mut(&mut self) -> &mut String {
                &mut self.key
            }
            fn version_mut(&mut self) -> &mut i64 {
                &mut self.version
            }
            fn deleted(&self) -> bool {
                self.deleted
            }
        }
    };
}

stored!(Flag, "flag", ErrorCode::FlagInvalid);
stored!(Segment, "segment", ErrorCode::SegmentInvalid);

/// Reads one item into `map`, under its sort key, keeping the latest version.
fn read_one<T: Stored>(
    item: &Map<String, Value>,
    at: &JsonPath,
    key: &str,
    attribute_version: Option<i64>,
    map: &mut HashMap<String, Latest<T>>,
) -> Result<(), SnapshotError> {
    let mut parsed = parse_item::<T>(item, at)?;
    let version = match parsed.as_mut() {
        Some(parsed) => {
            *parsed.key_mut() = key.to_owned();
            let version = parsed.version_mut();
            if *version == 0 {
                *version = attribute_version.unwrap_or(0);
            }
            *version
        }
        None => attribute_version.unwrap_or(0),
    };
    keep_latest(map, key, version, parsed.filter(|p| !p.deleted()));
    Ok(())
}

/// The live items, and how many keys ended as tombstones.
fn live<T>(map: HashMap<String, Latest<T>>) -> (Vec<T>, usize) {
    let mut items = Vec::with_capacity(map.len());
    let mut deleted = 0;
    for latest in map.into_values() {
        match latest.item {
            Some(item) => items.push(item),
            None => deleted += 1,
        }
    }
    (items, deleted)
}

/// Keeps the highest version of each key; a tombstone counts as a version.
fn keep_latest<T>(map: &mut HashMap<String, Latest<T>>, key: &str, version: i64, item: Option<T>) {
    match map.get_mut(key) {
        Some(latest) if latest.version >= version => {}
        Some(latest) => *latest = Latest { version, item },
        None => {
            map.insert(key.to_owned(), Latest { version, item });
        }
    }
}

/// The `item` JSON; `None` when the attribute is missing, which readers
/// treat as deleted.
fn parse_item<T: Stored>(
    item: &Map<String, Value>,
    at: &JsonPath,
) -> Result<Option<T>, SnapshotError> {
    let Some(text) = string_attribute(item, "item", at)? else {
        return Ok(None);
    };
    let item_path = at.key("item");
    if let Ok(parsed) = serde_json::from_str::<T>(text) {
        return Ok(Some(parsed));
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let error = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(parsed) => return Ok(Some(parsed)),
        Err(error) => error,
    };
    let path = item_path.join_serde(error.path());
    let inner = error.into_inner();
    if inner.is_data() {
        Err(SnapshotError::new(
            T::CODE,
            path.as_str(),
            format!(
                "invalid {}: {}",
                T::WHAT,
                strip_position(&inner.to_string())
            ),
        ))
    } else {
        Err(SnapshotError::new(
            ErrorCode::DynamoDbItemInvalid,
            item_path.as_str(),
            format!("the \"item\" attribute is not valid JSON: {inner}"),
        ))
    }
}

/// A string attribute, plain or typed as `{"S": "..."}`.
fn string_attribute<'v>(
    item: &'v Map<String, Value>,
    name: &str,
    at: &JsonPath,
) -> Result<Option<&'v str>, SnapshotError> {
    match item.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Object(typed)) => match typed.get("S") {
            Some(Value::String(s)) if typed.len() == 1 => Ok(Some(s)),
            _ => Err(invalid(
                &at.key(name),
                &format!("the \"{name}\" attribute must be a string (S)"),
            )),
        },
        Some(_) => Err(invalid(
            &at.key(name),
            &format!("the \"{name}\" attribute must be a string (S)"),
        )),
    }
}

/// A whole-number attribute: a JSON number, a numeric string, or `{"N": "3"}`.
fn number_attribute(
    item: &Map<String, Value>,
    name: &str,
    at: &JsonPath,
) -> Result<Option<i64>, SnapshotError> {
    let bad = || {
        invalid(
            &at.key(name),
            &format!("the \"{name}\" attribute must be a whole number (N)"),
        )
    };
    let text = match item.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => return n.as_i64().map(Some).ok_or_else(bad),
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Object(typed)) => match typed.get("N") {
            Some(Value::String(s)) if typed.len() == 1 => s.as_str(),
            _ => return Err(bad()),
        },
        Some(_) => return Err(bad()),
    };
    text.trim().parse::<i64>().map(Some).map_err(|_| bad())
}

fn invalid(at: &JsonPath, message: &str) -> SnapshotError {
    SnapshotError::new(ErrorCode::DynamoDbItemInvalid, at.as_str(), message)
}
