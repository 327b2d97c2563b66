//! The cross-runtime corpus, run by the Rust core: the committed corpus must
//! be exactly what the generator makes (`FLAGCORE_WRITE_CORPUS=1` rewrites
//! it: `make corpus`), and the core must answer every case, and every
//! hand-written evaluation vector, with the expected canonical JSON bytes.
//! The CLI, Node, WASM and Python runners check the same bytes.

#[path = "support/canonical.rs"]
mod canonical;
#[path = "generate/corpus.rs"]
mod generator;
#[path = "support/rng.rs"]
mod rng;

use std::path::{Path, PathBuf};

use canonical::canonical;
use flagcore::{Context, Snapshot, ValueType};
use serde_json::Value;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn index() -> Value {
    let text = std::fs::read_to_string(vectors().join("index.json")).expect("index.json");
    serde_json::from_str(&text).expect("index.json is JSON")
}

fn corpus_file() -> PathBuf {
    let name = index()["corpus"][0]
        .as_str()
        .expect("index.json names the corpus")
        .to_owned();
    vectors().join(name)
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
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
    let path = corpus_file();
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
    let cases: usize = lines(&path)
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
    let context = Context::from_value(&case["context"]);
    let flag = case["flagKey"].as_str().unwrap_or_default();
    canonical(
        &snapshot
            .variation_detail_checked(flag, context.as_ref(), &case["default"], value_type)
            .to_value(),
    )
}

#[test]
fn the_core_gives_every_expected_answer() {
    let mut passed = 0;
    let mut failures = Vec::new();
    for group in lines(&corpus_file()) {
        let snapshot = Snapshot::from_json(group["data"].to_string().as_bytes())
            .expect("a corpus snapshot parses");
        for case in group["cases"].as_array().into_iter().flatten() {
            let got = answer(&snapshot, case);
            let expected = case["expect"].as_str().unwrap_or_default();
            if got == expected {
                passed += 1;
            } else {
                failures.push(format!(
                    "[rust core] {}: expected {expected}\n  got {got}",
                    case["id"]
                ));
            }
        }
    }
    // The hand-written vectors, compared as canonical bytes too.
    for name in index()["evaluation"].as_array().into_iter().flatten() {
        for case in lines(&vectors().join(name.as_str().unwrap_or_default())) {
            let snapshot = Snapshot::from_json(case["data"].to_string().as_bytes())
                .expect("a vector's snapshot parses");
            let got = answer(&snapshot, &case);
            let expected = canonical(&case["expect"]);
            if got == expected {
                passed += 1;
            } else {
                failures.push(format!(
                    "[rust core] {}: expected {expected}\n  got {got}",
                    case["id"]
                ));
            }
        }
    }
    println!(
        "corpus (rust core): {passed} passed, {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{}",
        failures[..failures.len().min(10)].join("\n")
    );
}
