//! The cross-runtime corpus through the `flagcore` command: one `eval
//! --batch` process per snapshot group, each answer compared as canonical
//! JSON bytes with the corpus's expectation.

#[path = "../../tests/support/canonical.rs"]
mod canonical;
#[path = "../../tests/support/corpus.rs"]
#[allow(dead_code)]
mod corpus;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

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
    let dir = std::env::temp_dir().join(format!("flagcore-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (mut passed, mut failures) = (0, Vec::new());
    for group in corpus::groups(&corpus::vectors(env!("CARGO_MANIFEST_DIR"))) {
        let cases: Vec<&Value> = group.cases.iter().map(|(case, _)| case).collect();
        let got = run(&dir, &group.id, &group.data, &cases);
        assert_eq!(
            got.len(),
            cases.len(),
            "{}: one answer per request",
            group.id
        );
        for ((case, want), have) in group.cases.iter().zip(&got) {
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
