//! Reading the cross-runtime corpus and the hand-written evaluation vectors
//! as one list of snapshot groups, each case with its expected canonical
//! JSON. Included by path from the Rust runners (the core's, the CLI's),
//! beside `canonical.rs`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::canonical::canonical;

/// One snapshot and the cases evaluated against it.
pub struct Group {
    pub id: String,
    pub data: Value,
    /// Each case, and the answer it must give as canonical JSON.
    pub cases: Vec<(Value, String)>,
}

/// `tests/vectors`, from a crate one level below the project root.
pub fn vectors(manifest_dir: &str) -> PathBuf {
    Path::new(manifest_dir).join("../tests/vectors")
}

pub fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

pub fn index(vectors: &Path) -> Value {
    let text = std::fs::read_to_string(vectors.join("index.json")).expect("index.json");
    serde_json::from_str(&text).expect("index.json is JSON")
}

/// Every line of the files that `index.json` lists under `kind`.
pub fn cases(vectors: &Path, kind: &str) -> Vec<Value> {
    index(vectors)[kind]
        .as_array()
        .unwrap_or_else(|| panic!("index.json names no {kind} vectors"))
        .iter()
        .flat_map(|file| lines(&vectors.join(file.as_str().unwrap_or_default())))
        .collect()
}

/// The corpus file that `index.json` names.
pub fn corpus_file(vectors: &Path) -> PathBuf {
    vectors.join(
        index(vectors)["corpus"][0]
            .as_str()
            .expect("index.json names the corpus"),
    )
}

/// The corpus's groups, then one group per hand-written evaluation vector.
pub fn groups(vectors: &Path) -> Vec<Group> {
    let mut groups: Vec<Group> = lines(&corpus_file(vectors))
        .into_iter()
        .map(|group| Group {
            id: group["id"].as_str().unwrap_or_default().to_owned(),
            cases: group["cases"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    (
                        c.clone(),
                        c["expect"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            data: group["data"].clone(),
        })
        .collect();
    for name in index(vectors)["evaluation"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for case in lines(&vectors.join(name.as_str().unwrap_or_default())) {
            let expected = canonical(&case["expect"]);
            groups.push(Group {
                id: case["id"].as_str().unwrap_or_default().to_owned(),
                data: case["data"].clone(),
                cases: vec![(case, expected)],
            });
        }
    }
    groups
}
