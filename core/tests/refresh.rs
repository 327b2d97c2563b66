//! The shared refresh vectors (`tests/vectors/refresh`): when a FlagClient
//! refreshes. Node, WASM and Python run the same file through their bindings.

use std::path::Path;

use flagcore::refresh::{RefreshPolicy, RefreshState};
use serde_json::Value;

#[test]
fn every_refresh_vector() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors.join("index.json")).unwrap())
            .unwrap();
    let mut passed = 0;
    let mut failures = Vec::new();
    for name in index["refresh"]
        .as_array()
        .expect("index.json names the refresh vectors")
    {
        let text = std::fs::read_to_string(vectors.join(name.as_str().unwrap())).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let c: Value = serde_json::from_str(line).unwrap();
            let number = |k: &str| c[k].as_f64().unwrap();
            let state = RefreshState {
                has_snapshot: c["hasSnapshot"].as_bool().unwrap(),
                checked_at: number("checkedAtMs"),
                failed_at: number("failedAtMs"),
            };
            let deadlines = RefreshPolicy::new(number("ttlMs"), number("retryMs")).deadlines(state);
            let now = number("nowMs");
            let got = (now >= deadlines.call, now >= deadlines.token);
            let expected = (
                c["due"].as_bool().unwrap(),
                c["dueForToken"].as_bool().unwrap(),
            );
            if got == expected {
                passed += 1;
            } else {
                failures.push(format!("{}: expected {expected:?}, got {got:?}", c["name"]));
            }
        }
    }
    println!(
        "refresh vectors (core): {passed} passed, {} failed",
        failures.len()
    );
    assert!(passed > 0, "no refresh vectors ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
