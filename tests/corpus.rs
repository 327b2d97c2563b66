//! The cross-runtime corpus, run by the Rust core: the committed corpus must
//! be exactly what the generator makes (`FLAGCORE_WRITE_CORPUS=1` rewrites
//! it: `make corpus`), and the core must answer every case, and every
//! hand-written evaluation vector, with the expected canonical JSON bytes.
//! The CLI, Node, WASM and Python runners check the same bytes.

#[path = "support/canonical.rs"]
mod canonical;
#[path = "support/corpus.rs"]
#[allow(dead_code)]
mod corpus;
#[path = "generate/corpus.rs"]
mod generator;
#[path = "support/rng.rs"]
mod rng;

use std::path::PathBuf;

use canonical::canonical;
use flagcore::{Context, Scope, Snapshot, ValueType};
use serde_json::Value;

fn vectors() -> PathBuf {
    corpus::vectors(env!("CARGO_MANIFEST_DIR"))
}

fn generated() -> String {
    (0..generator::GROUPS)
        .map(|i| {
            generator::group(generator::SEED, i, generator::CASES_PER_GROUP).to_string() + "\n"
        })
        .collect()
}

#[test]
fn the_committed_corpus_is_what_the_generator_makes() {
    let path = corpus::corpus_file(&vectors());
    let fresh = generated();
    if std::env::var_os("FLAGCORE_WRITE_CORPUS").is_some() {
        std::fs::write(&path, &fresh).expect("write the corpus");
        println!("wrote {} ({} bytes)", path.display(), fresh.len());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    for (n, (a, b)) in committed.lines().zip(fresh.lines()).enumerate() {
        assert!(
            a == b,
            "line {} of {} differs from the generator's: run `make corpus` and review the change",
            n + 1,
            path.display()
        );
    }
    assert_eq!(
        committed.lines().count(),
        fresh.lines().count(),
        "the corpus has a different number of groups than the generator makes: run `make corpus`"
    );
    let cases: usize = corpus::lines(&path)
        .iter()
        .map(|g| g["cases"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(
        cases >= 5000,
        "the corpus has {cases} cases; at least 5,000 are needed"
    );
}

fn answer(snapshot: &Snapshot, case: &Value) -> String {
    let value_type =
        ValueType::parse(case["valueType"].as_str().unwrap_or("any")).unwrap_or(ValueType::Any);
    let context = Context::from_value(&case["context"]).map(Scope::new);
    let flag = case["flagKey"].as_str().unwrap_or_default();
    canonical(
        &snapshot
            .variation_detail_checked(flag, context.as_ref(), &case["default"], value_type, 0)
            .to_value(),
    )
}

#[test]
fn the_core_gives_every_expected_answer() {
    answers_every_case("rust core", |_, snapshot| snapshot);
}

/// Runs every corpus case against the snapshot `read` makes of its group's
/// (the group's id, the snapshot), and fails with the first mismatches.
fn answers_every_case(label: &str, read: impl Fn(&str, Snapshot) -> Snapshot) {
    let mut passed = 0;
    let mut failures = Vec::new();
    for group in corpus::groups(&vectors()) {
        let parsed = Snapshot::from_json(group.data.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", group.id));
        let snapshot = read(&group.id, parsed);
        for (case, expected) in &group.cases {
            let got = answer(&snapshot, case);
            if got == *expected {
                passed += 1;
            } else {
                failures.push(format!(
                    "[{label}] {}: expected {expected}\n  got {got}",
                    case["id"]
                ));
            }
        }
    }
    println!(
        "corpus ({label}): {passed} passed, {} failed",
        failures.len()
    );
    assert!(
        passed > 0 && failures.is_empty(),
        "{}",
        failures[..failures.len().min(10)].join("\n")
    );
}

// What a function reads from flagcore's published layout must answer as the
// snapshot that was published: every case, from the read-back snapshot.
#[test]
fn every_snapshot_published_and_read_back_answers_alike() {
    answers_every_case("published and read back", |id, original| {
        let published =
            flagcore::published::publish(&original, 0).unwrap_or_else(|e| panic!("{id}: {e}"));
        let back = published
            .head
            .assemble(&published.chunks)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(back.id(), original.id(), "{id}");
        back
    });
}
