//! `flagcore publish`, run as a user runs it: the published layout in a
//! directory, read back as a reader does.

use std::path::PathBuf;

use serde_json::{json, Value};

mod common;
use common::{example, flagcore, stdout};

/// A scratch directory of this test's own, empty.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flagcore-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The snapshot the directory's head names, read back as a reader does.
fn read_published(dir: &std::path::Path) -> flagcore::Snapshot {
    use std::io::Read;
    let head_text = std::fs::read(dir.join("head.json")).expect("a head");
    let head = flagcore::published::Head::from_json(&head_text).expect("a valid head");
    let chunks: Vec<Vec<u8>> = head
        .chunks
        .iter()
        .map(|chunk| {
            let file = std::fs::File::open(dir.join(&chunk.name)).expect("the chunk");
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(file)
                .read_to_end(&mut plain)
                .expect("gzip");
            plain
        })
        .collect();
    head.assemble(&chunks).expect("the chunks add up")
}

#[test]
fn publish_writes_chunks_then_a_head_and_nothing_when_unchanged() {
    let dir = scratch("publish");
    let to = dir.to_string_lossy().into_owned();
    let first = flagcore(&[
        "publish",
        "--snapshot",
        &example("snapshot.json"),
        "--to",
        &to,
    ]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let id = stdout(&first).trim().to_owned();
    let check = flagcore(&["check", "--snapshot", &example("snapshot.json"), "--json"]);
    let report: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(report["id"], json!(id), "it prints the content id");
    assert_eq!(read_published(&dir).id(), id);

    // The same content again: nothing is written, not even the head.
    let head_before = std::fs::read(dir.join("head.json")).unwrap();
    let again = flagcore(&[
        "publish",
        "--snapshot",
        &example("snapshot.json"),
        "--to",
        &to,
        "--json",
    ]);
    let report: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        report,
        json!({"id": id, "unchanged": true, "chunks": 0, "bytes": 0})
    );
    assert_eq!(std::fs::read(dir.join("head.json")).unwrap(), head_before);

    // A snapshot with errors is refused, and the published one stays.
    let refused = flagcore(&[
        "publish",
        "--snapshot",
        &example("broken-snapshot.json"),
        "--to",
        &to,
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("UNKNOWN_SEGMENT"));
    assert_eq!(read_published(&dir).id(), id);

    // --force publishes it; the earlier generation stays.
    let forced = flagcore(&[
        "publish",
        "--snapshot",
        &example("broken-snapshot.json"),
        "--to",
        &to,
        "--force",
    ]);
    assert!(forced.status.success());
    let new_id = stdout(&forced).trim().to_owned();
    assert_ne!(new_id, id);
    assert_eq!(read_published(&dir).id(), new_id);
    assert!(dir.join(format!("snapshots/{id}/0.json.gz")).is_file());
    // Each generation keeps its own head, for requests pinned to it.
    for generation in [&id, &new_id] {
        let own = std::fs::read(dir.join(format!("snapshots/{generation}/head.json"))).unwrap();
        let own = flagcore::published::Head::from_json(&own).unwrap();
        assert_eq!(&own.id, generation);
    }
    let leftovers: Vec<_> = walk(&dir)
        .into_iter()
        .filter(|path| path.to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A head a newer flagcore wrote is never replaced, not even with --force.
    let mut newer: Value =
        serde_json::from_slice(&std::fs::read(dir.join("head.json")).unwrap()).unwrap();
    newer["format"] = json!("flagcore-published/2");
    std::fs::write(dir.join("head.json"), newer.to_string()).unwrap();
    let refused = flagcore(&[
        "publish",
        "--snapshot",
        &example("snapshot.json"),
        "--to",
        &to,
        "--force",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(
        said.contains("PUBLISHED_FORMAT_UNKNOWN") && said.contains("flagcore-published/2"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("head.json")).unwrap(),
        newer.to_string()
    );

    // dynamodb: needs a table (bindings-node/test/cli-publish.test.js
    // publishes to one, in dynalite).
    for bad in ["dynamodb:", "dynamodb:/prod", "dynamodb:flags/"] {
        let refused = flagcore(&[
            "publish",
            "--snapshot",
            &example("snapshot.json"),
            "--to",
            bad,
        ]);
        assert_eq!(refused.status.code(), Some(2), "{bad}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
