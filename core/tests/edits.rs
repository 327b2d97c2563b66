//! The shared edit vectors (`tests/vectors/edits`): a snapshot, changes named
//! as the `flagcore flag` commands and the bindings' `snapshot.edit` name
//! them, and the flags (and snapshot id) they give, or the refusal's code.
//! Node and Python run the same file through their bindings.

#[path = "../../tests/support/canonical.rs"]
#[allow(dead_code)]
mod canonical;
#[path = "../../tests/support/corpus.rs"]
#[allow(dead_code)]
mod corpus;

use flagcore::edit::{apply, change_from_json};
use flagcore::published::canonical_json;
use flagcore::Snapshot;
use serde_json::Value;

/// Whether `actual` holds `expected`: objects by the expected keys, arrays
/// element by element, anything else equal.
fn holds(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|got| holds(got, v))),
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(got, v)| holds(got, v))
        }
        _ => actual == expected,
    }
}

/// What a case gives: `Err(code)` of the first refused change, or the
/// snapshot the changes made.
fn play(case: &Value) -> Result<Snapshot, &'static str> {
    let mut snapshot = Snapshot::from_json(case["snapshot"].to_string().as_bytes()).unwrap();
    for change in case["changes"].as_array().unwrap() {
        snapshot = change_from_json(&snapshot, change)
            .and_then(|change| apply(&snapshot, &change))
            .map_err(|e| e.code)?;
    }
    Ok(snapshot)
}

fn problems(case: &Value) -> Option<String> {
    let expect = &case["expect"];
    match (play(case), expect["error"].as_str()) {
        (Err(code), Some(wanted)) if code == wanted => None,
        (Err(code), _) => Some(format!("refused with {code}")),
        (Ok(_), Some(wanted)) => Some(format!("made, where {wanted} was expected")),
        (Ok(made), None) => {
            let document: Value = serde_json::from_slice(&canonical_json(&made)).unwrap();
            let flags = &document["flags"];
            if let Some(id) = expect["id"].as_str() {
                if made.id() != id {
                    return Some(format!("snapshot id {}, not {id}", made.id()));
                }
            }
            for (key, wanted) in expect["flags"].as_object().into_iter().flatten() {
                if !holds(&flags[key], wanted) {
                    return Some(format!("flag {key} is {}", flags[key]));
                }
            }
            for key in expect["absent"].as_array().into_iter().flatten() {
                if flags.get(key.as_str().unwrap()).is_some() {
                    return Some(format!("flag {key} is still there"));
                }
            }
            None
        }
    }
}

#[test]
fn every_edit_vector() {
    let cases = corpus::cases(&corpus::vectors(env!("CARGO_MANIFEST_DIR")), "edits");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| problems(case).map(|p| format!("{}: {p}", case["id"])))
        .collect();
    println!(
        "edit vectors (core): {} passed, {} failed",
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(!cases.is_empty(), "no edit vectors ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
