//! The shared refresh vectors (`tests/vectors/refresh`): when a FlagClient
//! refreshes. Node, WASM and Python run the same file through their bindings.

#[path = "../../tests/support/canonical.rs"]
#[allow(dead_code)]
mod canonical;
#[path = "../../tests/support/corpus.rs"]
#[allow(dead_code)]
mod corpus;

use flagcore::refresh::{RefreshPolicy, RefreshState};

#[test]
fn every_refresh_vector() {
    let cases = corpus::cases(&corpus::vectors(env!("CARGO_MANIFEST_DIR")), "refresh");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let number = |k: &str| c[k].as_f64().unwrap();
            let state = RefreshState {
                has_snapshot: c["hasSnapshot"].as_bool().unwrap(),
                checked_at: number("checkedAtMs"),
                failed_at: number("failedAtMs"),
            };
            let deadlines = RefreshPolicy::new(number("ttlMs"), number("retryMs")).deadlines(state);
            let now = number("nowMs");
            let got = (
                now >= deadlines.call,
                now >= deadlines.token,
                now >= deadlines.pin,
            );
            let expected = (
                c["due"].as_bool().unwrap(),
                c["dueForToken"].as_bool().unwrap(),
                c["mayReadPinned"].as_bool().unwrap(),
            );
            (got != expected).then(|| format!("{}: expected {expected:?}, got {got:?}", c["name"]))
        })
        .collect();
    println!(
        "refresh vectors (core): {} passed, {} failed",
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(!cases.is_empty(), "no refresh vectors ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
