//! The conformance runner: every evaluation case in `../shared/conformance/`
//! (LaunchDarkly's sdk-test-harness, expanded) and in `tests/vectors/`, for
//! the new-style context, the old-style user and the all-flags state, plus
//! the snapshot vectors (errors with code and path, ids across formats).
//! Prints `N passed, M failed`; exits non-zero on any failure.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::collections::BTreeSet;

use flagcore::{AllFlagsOptions, Context, ErrorCode, ErrorKind, Snapshot, ValueType};
use serde_json::Value;

#[path = "conformance/published.rs"]
mod published;
use published::{run_pinned_vector, run_publish_vector, run_published_vector};

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<String>,
}

impl Tally {
    fn check(&mut self, id: &str, result: Result<(), String>) {
        match result {
            Ok(()) => self.passed += 1,
            Err(why) => self.failed.push(format!("{id}: {why}")),
        }
    }
}

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let vectors = root.join("tests/vectors");
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();

    let shared = std::env::var_os("FLAGCORE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared"));
    let conformance = shared.join("conformance");
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    if conformance.is_dir() {
        for name in ["ld-eval-cases.jsonl", "ld-bucketing-cases.jsonl"] {
            files.push((format!("shared/{name}"), conformance.join(name)));
        }
    } else {
        eprintln!();
        eprintln!(
            "!!! {} is missing: LaunchDarkly's conformance cases were NOT run.",
            conformance.display()
        );
        eprintln!(
            "!!! Put the shared folder beside the project (or set FLAGCORE_SHARED) to run them."
        );
        eprintln!();
        // In CI a missing folder is a broken checkout, not a choice.
        if std::env::var("CI").as_deref() == Ok("true") {
            eprintln!("CI=true: failing, since the conformance cases must run in CI");
            return ExitCode::FAILURE;
        }
    }
    let index: Value = match read_json(&vectors.join("index.json")) {
        Ok(index) => index,
        Err(e) => {
            eprintln!("cannot read tests/vectors/index.json: {e}");
            return ExitCode::FAILURE;
        }
    };
    for name in strings(&index["evaluation"]) {
        files.push((format!("vectors/{name}"), vectors.join(name)));
    }

    for (label, path) in &files {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("cannot read {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        };
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let case: Value = match serde_json::from_str(line) {
                Ok(case) => case,
                Err(e) => {
                    tallies
                        .entry(format!("{label} (context)"))
                        .or_default()
                        .failed
                        .push(format!("line {}: {e}", n + 1));
                    continue;
                }
            };
            run_case(label, &case, &mut tallies);
        }
    }

    let reasons_seen = reasons_seen(&files);
    let snapshot_tally = run_files(&index["snapshots"], &vectors, run_snapshot_vectors);
    let published_tally = run_files(&index["published"], &vectors, |text, tally| {
        each_vector(text, tally, run_published_vector)
    });
    tallies.insert("vectors/published".to_owned(), published_tally);
    let pinned_tally = run_files(&index["pinned"], &vectors, |text, tally| {
        each_vector(text, tally, run_pinned_vector)
    });
    tallies.insert("vectors/pinned".to_owned(), pinned_tally);
    let publish_tally = run_files(&index["publish"], &vectors, |text, tally| {
        each_vector(text, tally, run_publish_vector)
    });
    tallies.insert("vectors/publish".to_owned(), publish_tally);
    let codes_seen = codes_seen(&index, &vectors);
    tallies.insert("vectors/snapshots".to_owned(), snapshot_tally);

    // Every error code and every reason a snapshot can produce has a vector.
    // CLIENT_NOT_READY and EXCEPTION come from the hosts' clients, not from a snapshot.
    let mut coverage = Tally::default();
    for code in ErrorCode::ALL {
        let seen = codes_seen.contains(code.as_str());
        coverage.check(
            code.as_str(),
            if seen {
                Ok(())
            } else {
                Err("no snapshot vector expects this code".into())
            },
        );
    }
    let kinds = [
        "OFF",
        "FALLTHROUGH",
        "TARGET_MATCH",
        "RULE_MATCH",
        "PREREQUISITE_FAILED",
    ];
    let errors = ErrorKind::ALL
        .into_iter()
        .filter(|k| !matches!(k, ErrorKind::ClientNotReady | ErrorKind::Exception));
    for kind in kinds
        .into_iter()
        .map(str::to_owned)
        .chain(errors.map(|k| format!("ERROR/{}", k.as_str())))
    {
        let seen = reasons_seen.contains(&kind);
        coverage.check(
            &kind,
            if seen {
                Ok(())
            } else {
                Err("no evaluation vector expects this reason".into())
            },
        );
    }
    tallies.insert("coverage of codes and reasons".to_owned(), coverage);

    let (mut passed, mut failed) = (0, 0);
    for (label, tally) in &tallies {
        println!(
            "{label}: {} passed, {} failed",
            tally.passed,
            tally.failed.len()
        );
        for failure in tally.failed.iter().take(20) {
            println!("  FAILED {failure}");
        }
        if tally.failed.len() > 20 {
            println!("  ... and {} more", tally.failed.len() - 20);
        }
        passed += tally.passed;
        failed += tally.failed.len();
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The reason kinds (`ERROR/<errorKind>` for errors) that evaluation cases expect.
fn reasons_seen(files: &[(String, PathBuf)]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (_, path) in files {
        for line in fs::read_to_string(path).unwrap_or_default().lines() {
            let Ok(case) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let reason = &case["expect"]["reason"];
            match (reason["kind"].as_str(), reason["errorKind"].as_str()) {
                (Some("ERROR"), Some(kind)) => seen.insert(format!("ERROR/{kind}")),
                (Some(kind), _) => seen.insert(kind.to_owned()),
                _ => false,
            };
        }
    }
    seen
}

/// The error codes that snapshot vectors expect.
fn codes_seen(index: &Value, vectors: &Path) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let files = strings(&index["snapshots"])
        .into_iter()
        .chain(strings(&index["published"]))
        .chain(strings(&index["publish"]));
    for name in files {
        for line in fs::read_to_string(vectors.join(name))
            .unwrap_or_default()
            .lines()
        {
            let Ok(vector) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if let Some(code) = vector["expectError"]["code"].as_str() {
                seen.insert(code.to_owned());
            }
        }
    }
    seen
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn run_case(label: &str, case: &Value, tallies: &mut BTreeMap<String, Tally>) {
    let id = case["id"].as_str().unwrap_or("?");
    let snapshot = match serde_json::to_vec(&case["data"])
        .map_err(|e| e.to_string())
        .and_then(|bytes| Snapshot::from_json(&bytes).map_err(|e| e.to_string()))
    {
        Ok(snapshot) => snapshot,
        Err(e) => {
            tallies
                .entry(format!("{label} (context)"))
                .or_default()
                .failed
                .push(format!("{id}: snapshot refused: {e}"));
            return;
        }
    };
    let flag_key = case["flagKey"].as_str().unwrap_or_default();
    let default = &case["default"];
    let value_type =
        ValueType::parse(case["valueType"].as_str().unwrap_or("any")).unwrap_or(ValueType::Any);
    let expect = &case["expect"];

    for variant in ["context", "user"] {
        let input = &case[variant];
        if variant == "user" && input.is_null() {
            continue;
        }
        let detail = snapshot.variation_detail_json(flag_key, input, default, value_type);
        let result = compare_detail(&detail.to_value(), expect);
        tallies
            .entry(format!("{label} ({variant})"))
            .or_default()
            .check(id, result);
    }

    let all = &case["allFlags"];
    if !all["skip"].as_bool().unwrap_or(false) {
        let result = match Context::from_value(&case["context"]) {
            Err(e) => Err(format!("context refused: {e}")),
            Ok(context) => {
                let state = snapshot
                    .all_flags_state(&context, AllFlagsOptions::default())
                    .to_value();
                let present = state.get(flag_key);
                match (all["mustContainKey"].as_bool().unwrap_or(false), present) {
                    (true, None) => Err("all-flags state lacks the flag".to_owned()),
                    (true, Some(value)) if !same(value, &all["expectedValue"]) => Err(format!(
                        "all-flags value {value}, expected {}",
                        all["expectedValue"]
                    )),
                    // The harness lets a flag with no value be absent or null.
                    (false, Some(value)) if !same(value, &all["expectedValue"]) => Err(format!(
                        "all-flags value {value}, expected absent or {}",
                        all["expectedValue"]
                    )),
                    _ => Ok(()),
                }
            }
        };
        tallies
            .entry(format!("{label} (all flags)"))
            .or_default()
            .check(id, result);
    }
}

fn compare_detail(actual: &Value, expect: &Value) -> Result<(), String> {
    let mut problems = Vec::new();
    if !same(&actual["value"], &expect["value"]) {
        problems.push(format!("value {} != {}", actual["value"], expect["value"]));
    }
    if actual["variationIndex"] != expect["variationIndex"] {
        problems.push(format!(
            "variationIndex {} != {}",
            actual["variationIndex"], expect["variationIndex"]
        ));
    }
    if actual["reason"] != expect["reason"] {
        problems.push(format!(
            "reason {} != {}",
            actual["reason"], expect["reason"]
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// JSON equality with numbers compared by value (1 == 1.0).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Runs `run` on the text of each file `names` lists (paths under
/// `vectors`); a file that cannot be read is a failure.
fn run_files(names: &Value, vectors: &Path, run: fn(&str, &mut Tally)) -> Tally {
    let mut tally = Tally::default();
    for name in strings(names) {
        let path = vectors.join(name);
        match fs::read_to_string(&path) {
            Ok(text) => run(&text, &mut tally),
            Err(e) => tally.failed.push(format!("{}: {e}", path.display())),
        }
    }
    tally
}

/// Checks each vector of a JSON Lines file with `run`, by its id: the
/// published layout's, the pinned requests' and the publishes' vectors
/// (see tests/vectors/index.json).
fn each_vector(text: &str, tally: &mut Tally, run: fn(&Value) -> Result<(), String>) {
    for vector in read_vectors(text, tally) {
        let id = vector["id"].as_str().unwrap_or("?").to_owned();
        tally.check(&id, run(&vector));
    }
}

/// The vectors of a JSON Lines file; an unreadable line is a failure.
fn read_vectors(text: &str, tally: &mut Tally) -> Vec<Value> {
    let mut vectors = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str(line) {
            Ok(vector) => vectors.push(vector),
            Err(e) => tally.failed.push(format!("unreadable vector: {e}")),
        }
    }
    vectors
}

/// Snapshot vectors: `{"id", "input" | "inputText", "prefix"?, "expectError": {"code", "path"}}`
/// or `{"id", "input", "expect": {"flagKeys", "segmentKeys"?, "idGroup"}}`. Every vector of
/// one `idGroup` must give the same snapshot id, and different groups different ids.
fn run_snapshot_vectors(text: &str, tally: &mut Tally) {
    let mut groups: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for vector in read_vectors(text, tally) {
        let id = vector["id"].as_str().unwrap_or("?").to_owned();
        let bytes = match &vector["inputText"] {
            Value::String(text) => text.clone().into_bytes(),
            _ => serde_json::to_vec(&vector["input"]).unwrap_or_default(),
        };
        let parsed = Snapshot::from_json_with_prefix(&bytes, vector["prefix"].as_str());
        let result = match (&vector["expectError"], parsed) {
            (Value::Object(expected), Err(error)) => {
                let code_ok =
                    expected.get("code").and_then(Value::as_str) == Some(error.code().as_str());
                let path_ok = expected.get("path").and_then(Value::as_str) == Some(error.path());
                if code_ok && path_ok {
                    Ok(())
                } else {
                    Err(format!(
                        "got {} at {} ({}), expected {} at {}",
                        error.code(),
                        error.path(),
                        error.message(),
                        expected.get("code").unwrap_or(&Value::Null),
                        expected.get("path").unwrap_or(&Value::Null)
                    ))
                }
            }
            (Value::Object(expected), Ok(_)) => Err(format!(
                "parsed, but expected {}",
                Value::Object(expected.clone())
            )),
            (_, Err(error)) => Err(format!("refused: {error}")),
            (_, Ok(snapshot)) => {
                let expect = &vector["expect"];
                let keys: Vec<&str> = snapshot.flag_keys().iter().map(String::as_str).collect();
                let segments: Vec<&str> =
                    snapshot.segment_keys().iter().map(String::as_str).collect();
                if let Some(group) = expect["idGroup"].as_str() {
                    groups
                        .entry(group.to_owned())
                        .or_default()
                        .push((id.clone(), snapshot.id().to_owned()));
                }
                if keys != strings(&expect["flagKeys"]) {
                    Err(format!(
                        "flag keys {keys:?}, expected {}",
                        expect["flagKeys"]
                    ))
                } else if expect.get("segmentKeys").is_some()
                    && segments != strings(&expect["segmentKeys"])
                {
                    Err(format!(
                        "segment keys {segments:?}, expected {}",
                        expect["segmentKeys"]
                    ))
                } else if let Some(initialized) = expect.get("storeInitialized") {
                    let actual = snapshot.source().store_initialized;
                    if initialized.as_bool() == actual {
                        Ok(())
                    } else {
                        Err(format!(
                            "storeInitialized {actual:?}, expected {initialized}"
                        ))
                    }
                } else {
                    Ok(())
                }
            }
        };
        tally.check(&id, result);
    }
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (group, members) in &groups {
        let ids: Vec<&str> = members.iter().map(|(_, id)| id.as_str()).collect();
        let result = if ids.windows(2).any(|w| w[0] != w[1]) {
            Err(format!("ids differ within the group: {members:?}"))
        } else if let Some(other) = ids
            .first()
            .and_then(|id| seen.insert((*id).to_owned(), group.clone()))
        {
            Err(format!("same id as group {other}"))
        } else {
            Ok(())
        };
        tally.check(&format!("idGroup {group}"), result);
    }
}
