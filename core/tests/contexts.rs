//! The shared context vectors (`tests/vectors/contexts`): the canonical key
//! each context has, which Node, WASM and Python answer from this same rule.

#[path = "../../tests/support/canonical.rs"]
#[allow(dead_code)]
mod canonical;
#[path = "../../tests/support/corpus.rs"]
#[allow(dead_code)]
mod corpus;

use flagcore::Context;

#[test]
fn the_canonical_key_of_every_context_vector() {
    let cases = corpus::cases(&corpus::vectors(env!("CARGO_MANIFEST_DIR")), "contexts");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let got = Context::from_value(&case["context"])
                .ok()
                .map(|c| c.canonical_key());
            let expected = case["canonicalKey"].as_str().map(str::to_owned);
            (got != expected)
                .then(|| format!("{}: expected {expected:?}, got {got:?}", case["name"]))
        })
        .collect();
    println!(
        "context vectors (core): {} passed, {} failed",
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(!cases.is_empty(), "no context vectors ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
