//! A change as a person names it, as JSON: flag keys, variation values
//! (`true`, `"dark"`) and percentages (`"10%"`, `12.5`), not indexes and
//! weights. The Node and Python bindings take this form (`snapshot.edit`),
//! and the `flagcore flag` commands build it, so that every surface reads
//! a change the same way.
//!
//! ```text
//! {"create": "canary"}                       {"create": "theme", "variations": ["classic", "dark"]}
//! {"on": "canary"}   {"off": "canary"}       {"archive": "canary"}
//! {"rollout": "canary", "shares": "10%"}     (a boolean flag: 10% true)
//! {"rollout": "theme", "shares": {"dark": "10%", "classic": "90%"}}
//! {"target": "canary", "value": true, "add": ["alice"], "remove": [], "kind": "user"}
//! {"offVariation": "canary", "value": false}
//! ```

use serde_json::{Map, Value};

use super::{parse_percent, refuse, rollout_weights, Change, EditError};
use crate::snapshot::Snapshot;

/// The operations, each the name of the property that holds the flag's key.
const OPERATIONS: [&str; 7] = [
    "create",
    "on",
    "off",
    "archive",
    "rollout",
    "target",
    "offVariation",
];

/// The [`Change`] that `value` names, made against `snapshot` (whose
/// variations the values are looked up in).
pub fn change_from_json(snapshot: &Snapshot, value: &Value) -> Result<Change, EditError> {
    let invalid = |message: String| refuse("EDIT_INVALID", message);
    let Value::Object(object) = value else {
        return Err(invalid(format!(
            "a change is a JSON object naming one of {}, like {{\"on\": \"canary\"}}",
            OPERATIONS.join(", ")
        )));
    };
    let named: Vec<&str> = OPERATIONS
        .iter()
        .copied()
        .filter(|op| object.contains_key(*op))
        .collect();
    let [operation] = named.as_slice() else {
        return Err(invalid(format!(
            "a change names exactly one of {}: this one names {}",
            OPERATIONS.join(", "),
            if named.is_empty() {
                "none".to_owned()
            } else {
                named.join(", ")
            }
        )));
    };
    let allowed: &[&str] = match *operation {
        "create" => &["create", "variations"],
        "rollout" => &["rollout", "shares"],
        "target" => &["target", "value", "add", "remove", "kind"],
        "offVariation" => &["offVariation", "value"],
        _ => &[operation],
    };
    if let Some(other) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(format!(
            "a \"{operation}\" change has no \"{other}\": it takes {}",
            allowed.join(", ")
        )));
    }
    let key = object[*operation]
        .as_str()
        .ok_or_else(|| invalid(format!("\"{operation}\" is the flag's key, a string")))?
        .to_owned();
    Ok(match *operation {
        "create" => {
            Change::Create {
                variations: match object.get("variations") {
                    None | Some(Value::Null) => None,
                    Some(Value::Array(list)) => Some(list.clone()),
                    Some(_) => return Err(refuse(
                        "VARIATIONS_INVALID",
                        "\"variations\" is an array of the flag's values, like [\"v1\", \"v2\"]",
                    )),
                },
                key,
            }
        }
        "on" => Change::On { key },
        "off" => Change::Off { key },
        "archive" => Change::Archive { key },
        "offVariation" => Change::OffVariation {
            variation: variation_of(snapshot, &key, field(object, "value")?)?,
            key,
        },
        "rollout" => Change::Rollout {
            weights: weights(snapshot, &key, field(object, "shares")?)?,
            key,
        },
        _ => Change::Target {
            variation: variation_of(snapshot, &key, field(object, "value")?)?,
            kind: match object.get("kind") {
                None | Some(Value::Null) => "user".to_owned(),
                Some(Value::String(kind)) => kind.clone(),
                Some(_) => return Err(invalid("\"kind\" is a context kind, a string".into())),
            },
            add: keys(object, "add")?,
            remove: keys(object, "remove")?,
            key,
        },
    })
}

fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Result<&'a Value, EditError> {
    object
        .get(name)
        .ok_or_else(|| refuse("EDIT_INVALID", format!("the change needs \"{name}\"")))
}

fn keys(object: &Map<String, Value>, name: &str) -> Result<Vec<String>, EditError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .map(|k| k.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                refuse(
                    "EDIT_INVALID",
                    format!("\"{name}\" is an array of context keys, strings"),
                )
            }),
        Some(_) => Err(refuse(
            "EDIT_INVALID",
            format!("\"{name}\" is an array of context keys"),
        )),
    }
}

fn values<'a>(snapshot: &'a Snapshot, key: &str) -> Result<&'a [Value], EditError> {
    snapshot
        .variations(key)
        .ok_or_else(|| super::not_found(key))
}

/// The index of flag `key`'s variation `value`: the value itself, or, given
/// as a string, a variation whose JSON text it is (`"true"` for `true`, as
/// a command line and a JSON object's keys give values).
pub fn variation_of(snapshot: &Snapshot, key: &str, value: &Value) -> Result<usize, EditError> {
    let values = values(snapshot, key)?;
    let as_json = value
        .as_str()
        .and_then(|text| crate::json::parse(text).ok());
    // Numbers by value: 10 names a variation stored as 10.0.
    let same = |v: &Value, given: &Value| match (v.as_f64(), given.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ => v == given,
    };
    values
        .iter()
        .position(|v| same(v, value))
        .or_else(|| as_json.and_then(|parsed| values.iter().position(|v| same(v, &parsed))))
        .ok_or_else(|| {
            let listed: Vec<String> = values.iter().map(Value::to_string).collect();
            let shown = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            refuse(
                "VARIATION_NOT_FOUND",
                format!(
                    "flag {key:?} has no variation {shown}: its variations are {}",
                    listed.join(", ")
                ),
            )
        })
}

/// A rollout's weights from its shares: `"10%"` (or `10`) alone for a
/// boolean flag's `true`, or an object of each value's percentage, one
/// value left out taking the rest.
fn weights(snapshot: &Snapshot, key: &str, shares: &Value) -> Result<Vec<u32>, EditError> {
    let values = values(snapshot, key)?;
    let percent = |share: &Value| match share {
        Value::String(text) => parse_percent(text),
        Value::Number(number) => parse_percent(&number.to_string()),
        other => parse_percent(&other.to_string()),
    };
    let given = match shares {
        Value::Object(by_value) => by_value
            .iter()
            .map(|(value, share)| {
                Ok((
                    variation_of(snapshot, key, &Value::String(value.clone()))?,
                    percent(share)?,
                ))
            })
            .collect::<Result<Vec<_>, EditError>>()?,
        single => {
            let boolean = values.len() == 2 && values.iter().all(Value::is_boolean);
            let Some(on) = values
                .iter()
                .position(|v| *v == Value::Bool(true))
                .filter(|_| boolean)
            else {
                let example = values.first().map_or_else(
                    || "VALUE".to_owned(),
                    |v| v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                );
                return Err(refuse(
                    "ROLLOUT_INVALID",
                    format!(
                        "flag {key:?} is not boolean: give each share's value, like {{\"{example}\": \"10%\"}} ({example}=10% on the command line)"
                    ),
                ));
            };
            vec![(on, percent(single)?)]
        }
    };
    rollout_weights(values.len(), &given)
}
