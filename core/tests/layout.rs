//! The runners in the repository's `tests/` folder live outside this crate,
//! so cargo finds them only through `[[test]]` entries: each must have one,
//! or it would never run. (That no crate's modules import each other in a
//! cycle is `make test-layout`: tests/layout/check.py.)

use std::path::Path;

#[test]
fn every_runner_in_tests_is_a_test_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let mut runners = 0;
    for entry in std::fs::read_dir(root.join("../tests")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            runners += 1;
            assert!(
                manifest.contains(&format!("path = \"../tests/{name}\"")),
                "tests/{name} is not a [[test]] of core/Cargo.toml, so it never runs"
            );
        }
    }
    assert!(runners >= 3, "found {runners} runners in tests/");
}
