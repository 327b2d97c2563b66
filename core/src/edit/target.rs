//! Individual targets: context keys of a kind served a variation before any rule.

use serde_json::{json, Map, Value};

use super::{check_variation, refuse, EditError};

pub(super) fn target(
    flag: &mut Map<String, Value>,
    variation: usize,
    kind: &str,
    add: &[String],
    remove: &[String],
) -> Result<(), EditError> {
    check_variation(flag, variation)?;
    let user = kind == "user";
    let list = if user { "targets" } else { "contextTargets" };
    let lists: &mut Vec<Value> = flag
        .entry(list)
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .ok_or_else(|| refuse("EDIT_INVALID", format!("the flag's {list} is not a list")))?;
    let ours = |entry: &Value| -> bool {
        let entry_kind = entry
            .get("contextKind")
            .and_then(Value::as_str)
            .unwrap_or("user");
        entry_kind == kind
    };
    for key in add {
        if add.iter().filter(|k| *k == key).count() > 1 {
            return Err(refuse(
                "KEY_TARGETED_TWICE",
                format!("{kind} {key:?} is given twice"),
            ));
        }
        let holder = lists.iter().find(|entry| {
            ours(entry)
                && entry["values"]
                    .as_array()
                    .is_some_and(|values| values.iter().any(|v| v == key))
        });
        if let Some(entry) = holder {
            return Err(refuse(
                "KEY_TARGETED_TWICE",
                format!(
                    "{kind} {key:?} is targeted to variation {} already: remove it there first",
                    entry["variation"]
                ),
            ));
        }
    }
    let at = match lists
        .iter()
        .position(|entry| ours(entry) && entry["variation"] == json!(variation))
    {
        Some(at) => at,
        None => {
            let mut entry = json!({"variation": variation, "values": []});
            if !user {
                entry["contextKind"] = json!(kind);
            }
            lists.push(entry);
            lists.len() - 1
        }
    };
    let values = lists[at]["values"]
        .as_array_mut()
        .ok_or_else(|| refuse("EDIT_INVALID", "a target's values are not a list"))?;
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
    lists.retain(|entry| entry["values"].as_array().is_some_and(|v| !v.is_empty()));
    Ok(())
}
