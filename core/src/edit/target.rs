//! Individual targets: context keys of a kind served a variation before any
//! rule, in LaunchDarkly's model. User keys live in `targets`; the keys of
//! other kinds in `contextTargets`, where, once there is any, `targets` is
//! read only through a placeholder per variation (`{contextKind: "user",
//! variation, values: []}`), in their order. An edit keeps those
//! placeholders in step, so that adding an organization's key never turns
//! the user targets off.

use serde_json::{json, Map, Value};

use super::{check_variation, refuse, EditError};

fn kind_of(entry: &Value) -> &str {
    entry
        .get("contextKind")
        .and_then(Value::as_str)
        .unwrap_or("user")
}

fn values_of(entry: &Value) -> &[Value] {
    entry["values"].as_array().map_or(&[], Vec::as_slice)
}

// An entry of `contextTargets` that stands for the `targets` of its variation.
fn placeholder(entry: &Value) -> bool {
    kind_of(entry) == "user" && values_of(entry).is_empty()
}

fn list(flag: &mut Map<String, Value>, name: &str) -> Result<Vec<Value>, EditError> {
    match flag.remove(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => Ok(list),
        Some(_) => Err(refuse(
            "EDIT_INVALID",
            format!("the flag's {name} is not a list"),
        )),
    }
}

pub(super) fn target(
    flag: &mut Map<String, Value>,
    variation: usize,
    kind: &str,
    add: &[String],
    remove: &[String],
) -> Result<(), EditError> {
    check_variation(flag, variation)?;
    for (n, key) in add.iter().enumerate() {
        if add[..n].contains(key) {
            return Err(refuse(
                "KEY_TARGETED_TWICE",
                format!("{kind} {key:?} is given twice"),
            ));
        }
    }
    let user = kind == "user";
    let name = if user { "targets" } else { "contextTargets" };
    let mut entries = list(flag, name)?;
    // In `targets` every entry is the user kind's; in `contextTargets`, the
    // entries of `kind` (never a placeholder: `kind` is not user there).
    let ours = |entry: &Value| user || kind_of(entry) == kind;
    for key in add {
        if let Some(entry) = entries
            .iter()
            .find(|e| ours(e) && values_of(e).iter().any(|v| v == key))
        {
            return Err(refuse(
                "KEY_TARGETED_TWICE",
                format!(
                    "{kind} {key:?} is targeted to variation {} already: remove it there first",
                    entry["variation"]
                ),
            ));
        }
    }
    let at = match entries
        .iter()
        .position(|e| ours(e) && e["variation"] == json!(variation))
    {
        Some(at) => at,
        None => {
            let mut entry = json!({"variation": variation, "values": []});
            if !user {
                entry["contextKind"] = json!(kind);
            }
            entries.push(entry);
            entries.len() - 1
        }
    };
    let mut values = values_of(&entries[at]).to_vec();
    for key in remove {
        let before = values.len();
        values.retain(|v| v != key);
        if values.len() == before {
            return Err(refuse(
                "KEY_NOT_TARGETED",
                format!("{kind} {key:?} is not targeted to variation {variation}"),
            ));
        }
    }
    values.extend(add.iter().map(|k| json!(k)));
    entries[at]["values"] = Value::Array(values);
    entries.retain(|e| !ours(e) || !values_of(e).is_empty());
    flag.insert(name.into(), Value::Array(entries));
    placeholders(flag)
}

/// `contextTargets` in step with `targets`: none at all when it holds only
/// placeholders (then `targets` is read as it is), otherwise one
/// placeholder for each variation `targets` serves, and no other.
fn placeholders(flag: &mut Map<String, Value>) -> Result<(), EditError> {
    let served = list(flag, "targets")?;
    let mut context = list(flag, "contextTargets")?;
    let variations: Vec<Value> = served
        .iter()
        .filter(|e| !values_of(e).is_empty())
        .map(|e| e["variation"].clone())
        .collect();
    flag.insert("targets".into(), Value::Array(served));
    if context.iter().all(placeholder) {
        flag.insert("contextTargets".into(), json!([]));
        return Ok(());
    }
    context.retain(|e| !placeholder(e) || variations.contains(&e["variation"]));
    for variation in variations {
        if !context
            .iter()
            .any(|e| placeholder(e) && e["variation"] == variation)
        {
            context.push(json!({"contextKind": "user", "variation": variation, "values": []}));
        }
    }
    flag.insert("contextTargets".into(), Value::Array(context));
    Ok(())
}
