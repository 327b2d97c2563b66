//! The runners in the repository's `tests/` folder live outside this crate,
//! so cargo finds them only through `[[test]]` entries: each must have one,
//! or it would never run.

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

/// The modules of `core/src` and the modules each names through `crate::`,
/// outside comments and test modules.
fn imports() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_none_or(|e| e != "rs") || name == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut names = std::collections::BTreeSet::new();
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or_default();
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let module: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !module.is_empty() && module != name {
                    names.insert(module);
                }
            }
        }
        modules.insert(name, names);
    }
    modules
}

#[test]
fn the_core_modules_import_each_other_without_a_cycle() {
    let modules = imports();
    assert!(modules.len() >= 20, "found {} modules", modules.len());
    // Peel off modules whose imports are all peeled: what remains is in a cycle.
    let mut layered: Vec<String> = Vec::new();
    loop {
        let next: Vec<String> = modules
            .iter()
            .filter(|(name, _)| !layered.contains(name))
            .filter(|(_, names)| {
                names
                    .iter()
                    .all(|n| layered.contains(n) || !modules.contains_key(n))
            })
            .map(|(name, _)| name.clone())
            .collect();
        if next.is_empty() {
            break;
        }
        layered.extend(next);
    }
    let cyclic: Vec<String> = modules
        .iter()
        .filter(|(name, _)| !layered.contains(name))
        .map(|(name, names)| format!("{name} -> {names:?}"))
        .collect();
    assert!(
        cyclic.is_empty(),
        "core modules in an import cycle, or importing one:\n{}",
        cyclic.join("\n")
    );
}
