//! The shared context vectors (`tests/vectors/contexts`): the canonical key
//! each context has, which Node, WASM and Python answer from this same rule.

use std::path::Path;

use flagcore::Context;
use serde_json::Value;

#[test]
fn the_canonical_key_of_every_context_vector() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors.join("index.json")).unwrap())
            .unwrap();
    let mut passed = 0;
    let mut failures = Vec::new();
    for name in index["contexts"]
        .as_array()
        .expect("index.json names the context vectors")
    {
        let text = std::fs::read_to_string(vectors.join(name.as_str().unwrap())).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let case: Value = serde_json::from_str(line).unwrap();
            let got = Context::from_value(&case["context"])
                .ok()
                .map(|c| c.canonical_key());
            let expected = case["canonicalKey"].as_str().map(str::to_owned);
            if got == expected {
                passed += 1;
            } else {
                failures.push(format!(
                    "{}: expected {expected:?}, got {got:?}",
                    case["name"]
                ));
            }
        }
    }
    println!(
        "context vectors (core): {passed} passed, {} failed",
        failures.len()
    );
    assert!(passed > 0, "no context vectors ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
