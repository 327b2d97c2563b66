//! The cross-runtime corpus through the `flagcore` command: one `eval
//! --batch` process per snapshot group, each answer compared as canonical
//! JSON bytes with the corpus's expectation.

#[path = "../../tests/support/canonical.rs"]
mod canonical;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Runs one snapshot's cases through `flagcore eval --batch`.
fn run(dir: &Path, id: &str, data: &Value, cases: &[&Value]) -> Vec<String> {
    let file = dir.join(format!("{}.json", id.replace('/', "_")));
    std::fs::write(&file, data.to_string()).expect("write the snapshot");
    let mut child = Command::new(env!("CARGO_BIN_EXE_flagcore"))
        .args(["eval", "--batch", "--snapshot"])
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start flagcore");
    let mut requests = String::new();
    for case in cases {
        let request = json!({"flag": case["flagKey"], "context": case["context"], "default": case["default"], "type": case["valueType"]});
        requests.push_str(&format!("{request}\n"));
    }
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
    let output = child.wait_with_output().expect("flagcore ran");
    writer.join().expect("writer").expect("requests written");
    assert!(
        output.status.success(),
        "flagcore eval --batch failed on {id}"
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(|line| canonical::canonical(&serde_json::from_str(line).expect("a JSON answer")))
        .collect()
}

#[test]
fn the_cli_gives_every_expected_answer() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors.join("index.json")).expect("index"))
            .expect("JSON");
    let dir = std::env::temp_dir().join(format!("flagcore-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut groups: Vec<(String, Value, Vec<Value>, Vec<String>)> = Vec::new();
    for group in lines(&vectors.join(index["corpus"][0].as_str().expect("corpus"))) {
        let cases: Vec<Value> = group["cases"].as_array().cloned().unwrap_or_default();
        let expected = cases
            .iter()
            .map(|c| c["expect"].as_str().unwrap_or_default().to_owned())
            .collect();
        groups.push((
            group["id"].as_str().unwrap_or_default().to_owned(),
            group["data"].clone(),
            cases,
            expected,
        ));
    }
    // The hand-written vectors: one snapshot each.
    for name in index["evaluation"].as_array().into_iter().flatten() {
        for case in lines(&vectors.join(name.as_str().unwrap_or_default())) {
            let expected = vec![canonical::canonical(&case["expect"])];
            groups.push((
                case["id"].as_str().unwrap_or_default().to_owned(),
                case["data"].clone(),
                vec![case],
                expected,
            ));
        }
    }
    let (mut passed, mut failures) = (0, Vec::new());
    for (id, data, cases, expected) in &groups {
        let got = run(&dir, id, data, &cases.iter().collect::<Vec<_>>());
        assert_eq!(got.len(), cases.len(), "{id}: one answer per request");
        for ((case, want), have) in cases.iter().zip(expected).zip(&got) {
            if want == have {
                passed += 1;
            } else {
                failures.push(format!(
                    "[cli] {}: expected {want}\n  got {have}",
                    case["id"]
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("corpus (cli): {passed} passed, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{}",
        failures[..failures.len().min(10)].join("\n")
    );
}
