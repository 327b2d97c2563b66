//! The Relay Proxy's DynamoDB layout (SNAPSHOTS.md §1): one item per flag or
//! segment, `namespace` = `[prefix:]features` or `[prefix:]segments`, the
//! key in the sort key `key`, the whole object as a JSON string in `item`.
//! Items come as DynamoDB's typed JSON (`{"S": "..."}`) or as plain values.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::HashMap;

use crate::error::{ErrorCode, JsonPath, SnapshotError};
use crate::model::{Flag, Segment};
use crate::snapshot::{strip_position, Format, SourceInfo};

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
    let mut deleted = 0;
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
        if is_flag {
            let parsed: Option<Flag> = parse_item(item, &at, ErrorCode::FlagInvalid, "flag")?;
            let parsed = parsed.map(|mut flag| {
                flag.key = key.to_owned();
                if flag.version == 0 {
                    flag.version = version.unwrap_or(0);
                }
                flag
            });
            let v = parsed.as_ref().map_or(version.unwrap_or(0), |f| f.version);
            keep_latest(&mut flags, key, v, parsed.filter(|f| !f.deleted));
        } else {
            let parsed: Option<Segment> =
                parse_item(item, &at, ErrorCode::SegmentInvalid, "segment")?;
            let parsed = parsed.map(|mut segment| {
                segment.key = key.to_owned();
                if segment.version == 0 {
                    segment.version = version.unwrap_or(0);
                }
                segment
            });
            let v = parsed.as_ref().map_or(version.unwrap_or(0), |s| s.version);
            keep_latest(&mut segments, key, v, parsed.filter(|s| !s.deleted));
        }
    }
    let mut live_flags = Vec::with_capacity(flags.len());
    for latest in flags.into_values() {
        match latest.item {
            Some(flag) => live_flags.push(flag),
            None => deleted += 1,
        }
    }
    let mut live_segments = Vec::with_capacity(segments.len());
    for latest in segments.into_values() {
        match latest.item {
            Some(segment) => live_segments.push(segment),
            None => deleted += 1,
        }
    }
    skipped.sort();
    Ok(Read {
        flags: live_flags,
        segments: live_segments,
        source: SourceInfo {
            format: Format::DynamoDb,
            store_initialized: Some(store_initialized),
            skipped_namespaces: skipped,
            deleted_items: deleted,
        },
    })
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
fn parse_item<T: DeserializeOwned>(
    item: &Map<String, Value>,
    at: &JsonPath,
    code: ErrorCode,
    what: &str,
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
            code,
            path.as_str(),
            format!("invalid {what}: {}", strip_position(&inner.to_string())),
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
