//! The published layout's vectors (tests/vectors/published, pinned and
//! publish), run on the core's `flagcore::published`.

use flagcore::{Context, Snapshot, ValueType};

use crate::{compare_detail, strings};
use serde_json::{json, Value};

/// Answers a vector's evaluations from what a request pinned to its
/// `pinned` snapshot answers from, in a function holding `held`.
pub(crate) fn run_pinned_vector(vector: &Value) -> Result<(), String> {
    let read = |name: &str| {
        let bytes = serde_json::to_vec(&vector[name]).map_err(|e| e.to_string())?;
        Snapshot::from_json(&bytes).map_err(|e| format!("{name} refused: {e}"))
    };
    let (pinned, held) = (read("pinned")?, read("held")?);
    let at = |name: &str| vector[name].as_i64().ok_or(format!("no {name}"));
    let composite =
        flagcore::published::pinned(&pinned, at("pinnedSequence")?, &held, at("heldSequence")?);
    let answers_from = if composite.is_some() {
        "composite"
    } else {
        "pinned"
    };
    if vector["answersFrom"].as_str() != Some(answers_from) {
        return Err(format!("answers from the {answers_from} snapshot"));
    }
    let answering = composite.as_ref().unwrap_or(&pinned);
    if answering.id() != pinned.id() {
        return Err(format!(
            "answers as {}, not the pinned {}",
            answering.id(),
            pinned.id()
        ));
    }
    for evaluation in vector["evaluations"].as_array().ok_or("no evaluations")? {
        let flag_key = evaluation["flagKey"].as_str().unwrap_or_default();
        let context = Context::from_value(&evaluation["context"]).map_err(|e| e.to_string())?;
        let detail =
            answering.variation_detail(flag_key, &context, &evaluation["default"], ValueType::Any);
        compare_detail(&detail.to_value(), &evaluation["expect"])
            .map_err(|e| format!("{flag_key}: {e}"))?;
    }
    Ok(())
}

/// Plans a vector's publish over the head there before, and compares what
/// the plan gives.
pub(crate) fn run_publish_vector(vector: &Value) -> Result<(), String> {
    use flagcore::published::{plan, Head, Plan};
    let read = |document: &Value| {
        let bytes = serde_json::to_vec(document).map_err(|e| e.to_string())?;
        Snapshot::from_json(&bytes).map_err(|e| format!("refused: {e}"))
    };
    let previous = &vector["previous"];
    let previous_text = if let Some(text) = previous["headText"].as_str() {
        Some(text.to_owned())
    } else if previous.is_object() {
        let at = previous["at"].as_i64().ok_or("previous has no at")?;
        let Ok(Plan::Write(writes)) = plan(&read(&previous["input"])?, None, at, true) else {
            return Err("the previous snapshot does not publish".into());
        };
        let mut head = writes.published.head.to_value();
        if let Value::Object(replace) = &previous["head"] {
            for (name, value) in replace {
                head[name] = value.clone();
            }
        }
        for name in strings(&previous["dropHeadFields"]) {
            head.as_object_mut().map(|object| object.remove(name));
        }
        Some(head.to_string())
    } else {
        None
    };
    let snapshot = read(&vector["input"])?;
    let at = vector["at"].as_i64().ok_or("no at")?;
    let force = vector["force"].as_bool().unwrap_or(false);
    let planned = plan(
        &snapshot,
        previous_text.as_deref().map(str::as_bytes),
        at,
        force,
    );
    let expect = &vector["expect"];
    match (&vector["expectError"], planned) {
        (Value::Object(expected), Err(error)) => {
            if expected.get("code").and_then(Value::as_str) == Some(error.code().as_str())
                && expected.get("path").and_then(Value::as_str) == Some(error.path())
            {
                Ok(())
            } else {
                Err(format!("got {} at {}", error.code(), error.path()))
            }
        }
        (Value::Object(_), Ok(_)) => Err("planned, but expected an error".into()),
        (_, Err(error)) => Err(format!("refused: {error}")),
        (_, Ok(Plan::Unchanged)) if expect["unchanged"] == Value::Bool(true) => Ok(()),
        (_, Ok(Plan::Unchanged)) => Err("unchanged, expected a write".into()),
        (_, Ok(Plan::Write(writes))) => {
            let head = Head::from_json(writes.published.head.to_json().as_bytes())
                .map_err(|e| format!("the new head does not read: {e}"))?;
            let got = json!({"sequence": head.sequence, "replaced": writes.replaced.len()});
            let wanted = json!({"sequence": expect["sequence"], "replaced": expect["replaced"]});
            if got != wanted {
                return Err(format!("planned {got}, expected {wanted}"));
            }
            if let Value::Array(expected) = &expect["sourceProblems"] {
                let back = head
                    .assemble(&writes.published.chunks)
                    .map_err(|e| format!("does not read back: {e}"))?;
                let codes: Vec<Value> = back
                    .source_problems()
                    .iter()
                    .map(|p| Value::from(p.code))
                    .collect();
                if &codes != expected {
                    return Err(format!("source problems {codes:?}, expected {expected:?}"));
                }
            }
            Ok(())
        }
    }
}

/// Publishes a vector's snapshot, makes the vector's change to the head or
/// the chunks, and reads it back.
pub(crate) fn run_published_vector(vector: &Value) -> Result<(), String> {
    let input = serde_json::to_vec(&vector["input"]).map_err(|e| e.to_string())?;
    let snapshot = Snapshot::from_json(&input).map_err(|e| format!("input refused: {e}"))?;
    let published = flagcore::published::publish(&snapshot, 1_700_000_000_000)
        .map_err(|e| format!("not published: {e}"))?;
    let change = &vector["change"];
    let mut chunks = published.chunks;
    let mut head = published.head.to_value();
    if let Some(n) = change["dropChunks"].as_u64() {
        chunks.truncate(chunks.len().saturating_sub(n as usize));
    }
    if let Value::Object(flip) = &change["flipByte"] {
        let chunk = flip.get("chunk").and_then(Value::as_u64).unwrap_or(0) as usize;
        let at = flip.get("at").and_then(Value::as_u64).unwrap_or(0) as usize;
        let byte = chunks
            .get_mut(chunk)
            .and_then(|c| c.get_mut(at))
            .ok_or("flipByte is past the chunks")?;
        *byte ^= 1;
    }
    if let Value::Object(replace) = &change["head"] {
        for (name, value) in replace {
            head[name] = value.clone();
        }
    }
    let mut head_text = match &change["headText"] {
        Value::String(text) => text.clone(),
        _ => head.to_string(),
    };
    if let Some(total) = change["padHeadTo"].as_u64() {
        let pad = (total as usize).saturating_sub(head_text.len());
        head_text.push_str(&" ".repeat(pad));
    }
    let read = flagcore::published::Head::from_json(head_text.as_bytes())
        .and_then(|head| head.assemble(&chunks));
    match (&vector["expectError"], read) {
        (Value::Object(expected), Err(error)) => {
            let code = expected.get("code").and_then(Value::as_str);
            let path = expected.get("path").and_then(Value::as_str);
            if code == Some(error.code().as_str()) && path == Some(error.path()) {
                Ok(())
            } else {
                Err(format!(
                    "got {} at {} ({})",
                    error.code(),
                    error.path(),
                    error.message()
                ))
            }
        }
        (Value::Object(_), Ok(_)) => Err("read back, but expected an error".into()),
        (_, Err(error)) => Err(format!("refused: {error}")),
        (_, Ok(back)) => {
            let expect = &vector["expect"];
            if expect["sameId"] == Value::Bool(true) && back.id() != snapshot.id() {
                return Err(format!(
                    "read back as {}, published {}",
                    back.id(),
                    snapshot.id()
                ));
            }
            if let Some(n) = expect["chunks"].as_u64() {
                if n as usize != chunks.len() {
                    return Err(format!("{} chunks, expected {n}", chunks.len()));
                }
            }
            if let Value::Array(expected) = &expect["sourceProblems"] {
                let got: Vec<Value> = back
                    .source_problems()
                    .iter()
                    .map(|p| Value::from(p.code))
                    .collect();
                if &got != expected {
                    return Err(format!("source problems {got:?}, expected {expected:?}"));
                }
            }
            Ok(())
        }
    }
}
