//! The bounds on what flagcore reads (docs/bounds.md): the table names each
//! core constant and its number, checked here against the code, and each
//! bound the core enforces is tried at the bound and one past it.

use flagcore::canary::{self, decide, Plan, State};
use flagcore::edit::record::{self, check_comment, Record};
use flagcore::published::{self, Head, CHUNK_BYTES, MAX_CHUNKS, MAX_HEAD_BYTES, MAX_LISTED};
use flagcore::{launchdarkly, token, Context, Snapshot};
use serde_json::{json, Value};

fn snapshot(value: Value) -> Snapshot {
    Snapshot::from_json(value.to_string().as_bytes()).unwrap()
}

fn flags(count: usize) -> Snapshot {
    let flags: serde_json::Map<String, Value> = (0..count)
        .map(|n| {
            let key = format!("flag-{n:03}");
            let flag = json!({"key": key, "on": true, "variations": [false, true],
                "offVariation": 0, "fallthrough": {"variation": 1}});
            (key, flag)
        })
        .collect();
    snapshot(json!({"flags": flags}))
}

/// The rows of the table whose Constant column names core constants: each
/// name with the number its Bound column gives.
fn documented() -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/bounds.md"))
        .expect("docs/bounds.md");
    let mut rows = Vec::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| What"))
    {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (bound, constants) = (cells[2], cells[5]);
        let numbers: Vec<u64> = bound
            .split(|c: char| !(c.is_ascii_digit() || c == ','))
            .filter(|n| n.chars().any(|c| c.is_ascii_digit()))
            .map(|n| n.replace(',', "").parse().unwrap())
            .collect();
        let names: Vec<String> = constants
            .split(',')
            .map(|c| c.trim().trim_matches('`').to_owned())
            .filter(|c| !c.is_empty())
            .collect();
        assert!(names.len() <= numbers.len(), "{line}");
        rows.extend(names.into_iter().zip(numbers));
    }
    rows
}

#[test]
fn the_table_gives_the_numbers_the_code_has() {
    let rows = documented();
    assert!(rows.len() >= 8, "{rows:?}");
    for (name, number) in rows {
        let actual = match name.as_str() {
            "published::MAX_HEAD_BYTES" => MAX_HEAD_BYTES as u64,
            "published::MAX_CHUNKS" => MAX_CHUNKS as u64,
            "published::CHUNK_BYTES" => CHUNK_BYTES as u64,
            "published::MAX_STORED_CHUNK_BYTES" => published::MAX_STORED_CHUNK_BYTES as u64,
            "published::MAX_SNAPSHOT_BYTES" => published::MAX_SNAPSHOT_BYTES as u64,
            "published::MAX_LISTED" => MAX_LISTED as u64,
            "token::MAX_TOKEN_CHARS" => token::MAX_TOKEN_CHARS as u64,
            "token::MAX_DECISIONS" => token::MAX_DECISIONS as u64,
            "token::MAX_TTL_MS" => token::MAX_TTL_MS,
            "token::DEFAULT_MAX_LIFETIME_MS" => token::DEFAULT_MAX_LIFETIME_MS,
            "launchdarkly::MAX_WEBHOOK_BYTES" => launchdarkly::MAX_WEBHOOK_BYTES as u64,
            "launchdarkly::MAX_ATTEMPTS" => u64::from(launchdarkly::MAX_ATTEMPTS),
            "edit::record::MAX_RECORD_BYTES" => record::MAX_RECORD_BYTES as u64,
            "edit::record::MAX_COMMENT_CHARS" => record::MAX_COMMENT_CHARS as u64,
            "edit::record::MAX_AUTHOR_CHARS" => record::MAX_AUTHOR_CHARS as u64,
            "canary::MAX_GUARDS" => canary::MAX_GUARDS as u64,
            "canary::MAX_BATCHES" => canary::MAX_BATCHES as u64,
            "canary::MAX_STATE_BYTES" => canary::MAX_STATE_BYTES as u64,
            "canary::MAX_DECISIONS" => canary::MAX_DECISIONS as u64,
            other => panic!("docs/bounds.md names {other}, which this test does not know"),
        };
        assert_eq!(number, actual, "docs/bounds.md gives {name} as {number}");
    }
}

fn head_with(chunks: usize, size: usize) -> String {
    let mut head = published::publish(&flags(1), 1).unwrap().head;
    let chunk = head.chunks[0].clone();
    head.chunks = (0..chunks)
        .map(|n| published::ChunkInfo {
            name: format!("snapshots/{}/{n}.json.gz", head.id),
            size,
            ..chunk.clone()
        })
        .collect();
    head.size = chunks * size;
    head.to_json()
}

#[test]
fn a_head_names_at_most_1024_chunks_of_at_most_327680_bytes() {
    assert!(Head::from_json(head_with(MAX_CHUNKS, CHUNK_BYTES).as_bytes()).is_ok());
    let past = Head::from_json(head_with(MAX_CHUNKS + 1, 1).as_bytes()).unwrap_err();
    assert_eq!(
        (past.code().as_str(), past.path()),
        ("PUBLISHED_HEAD_INVALID", "$.chunks")
    );
    let large = Head::from_json(head_with(1, CHUNK_BYTES + 1).as_bytes()).unwrap_err();
    assert_eq!(
        (large.code().as_str(), large.path()),
        ("PUBLISHED_HEAD_INVALID", "$.chunks[0].size")
    );
}

#[test]
fn json_nests_at_most_127_levels() {
    let nested = |levels: usize| {
        let value = format!("{}true{}", "[".repeat(levels - 2), "]".repeat(levels - 2));
        format!(r#"{{"flags": {{"f": {{"on": true, "variations": [{value}]}}}}}}"#)
    };
    // The document, its flags, the flag and the variations are 4 levels.
    assert!(Snapshot::from_json(nested(127 - 2).as_bytes()).is_ok());
    let past = Snapshot::from_json(nested(128 - 2).as_bytes()).unwrap_err();
    assert_eq!(past.code().as_str(), "SNAPSHOT_INVALID_JSON");
    let context = |levels: usize| {
        format!(
            r#"{{"key": "k", "a": {}1{}}}"#,
            "[".repeat(levels - 1),
            "]".repeat(levels - 1)
        )
    };
    assert!(Context::from_json(&context(127)).is_ok());
    assert!(Context::from_json(&context(128)).is_err());
}

#[test]
fn a_token_is_read_up_to_4000_characters_and_decides_up_to_128_flags() {
    let key = b"a signing key of 32 bytes, or so";
    let user = Context::from_json(r#"{"key": "u"}"#).unwrap();
    let snapshot = flags(129);
    let keys: Vec<String> = snapshot.flag_keys().to_vec();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let scope = flagcore::Scope::new(user.clone());
    let issue = |count: usize| {
        snapshot.decision_token(Ok(&scope), &keys[..count], key, 1_700_000_000_000, 60_000)
    };
    assert!(issue(token::MAX_DECISIONS).is_ok());
    assert_eq!(
        issue(token::MAX_DECISIONS + 1).map_err(|e| e.code()),
        Err(flagcore::TokenErrorCode::TooLarge)
    );
    // A text of exactly 4,000 characters is read (and refused for what it
    // holds); one more is not read.
    let code = |text: &str| {
        let (_, status) =
            flagcore::Scope::attach(Ok(user.clone()), Some(text), key, 1_700_000_000_000, None);
        status.to_value()["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let at = format!("fc1.{}", "A".repeat(token::MAX_TOKEN_CHARS - 4));
    assert_eq!(at.len(), token::MAX_TOKEN_CHARS);
    assert_ne!(code(&at), "TOKEN_TOO_LARGE");
    assert_eq!(code(&format!("{at}A")), "TOKEN_TOO_LARGE");
}

#[test]
fn a_head_lists_at_most_32_names_of_each_source_fact() {
    let item = |namespace: &str, key: &str| {
        json!({"namespace": namespace, "key": key, "version": 1,
               "item": json!({"key": key, "on": true, "variations": [0], "offVariation": 0,
                              "fallthrough": {"variation": 0}}).to_string()})
    };
    let mut items = vec![
        item("features", "a"),
        json!({"namespace": "$inited", "key": "$inited"}),
    ];
    for n in 0..=MAX_LISTED {
        items.push(item(&format!("other-{n:02}:features"), "x"));
    }
    let read = snapshot(Value::Array(items));
    assert_eq!(read.source().skipped_namespaces.len(), MAX_LISTED + 1);
    let head = published::publish(&read, 1).unwrap().head;
    assert_eq!(head.source.skipped_namespaces.len(), MAX_LISTED);
}

#[test]
fn a_history_record_a_comment_and_an_author_at_their_bounds_and_past_them() {
    // A record as another writer might have written it (flagcore's own
    // never exceed the bound: see `Record::to_json`), its size set by a
    // field no reader bounds otherwise.
    let text = |padding: usize| {
        json!({"sequence": 1, "id": "0123456789abcdef", "previous": null,
            "publishedAt": 1, "author": "a", "comment": "c", "changes": [],
            "note": "x".repeat(padding)})
        .to_string()
    };
    let frame = text(0).len();
    let at = text(record::MAX_RECORD_BYTES - frame);
    assert_eq!(at.len(), record::MAX_RECORD_BYTES);
    assert!(Record::from_json(at.as_bytes()).is_ok());
    let past = text(record::MAX_RECORD_BYTES - frame + 1);
    assert!(Record::from_json(past.as_bytes())
        .unwrap_err()
        .contains("larger than 65536 bytes"));
    // What flagcore writes stays within it, however long its comment.
    let long = Record {
        sequence: 1,
        id: "0123456789abcdef".into(),
        previous: None,
        published_at: 1,
        author: "a".into(),
        comment: "x".repeat(record::MAX_RECORD_BYTES),
        changes: vec!["canary: on".into(); 5000],
        decisions: vec![serde_json::json!({"reason": "x".repeat(20_000)}); 3],
        decisions_left_out: 0,
    };
    assert!(long.to_json().len() <= record::MAX_RECORD_BYTES);

    let comment = "é".repeat(record::MAX_COMMENT_CHARS);
    assert!(check_comment(&comment, "ana").is_ok());
    assert!(check_comment(&format!("{comment}é"), "ana").is_err());
    let author = "é".repeat(record::MAX_AUTHOR_CHARS);
    assert!(check_comment("why", &author).is_ok());
    assert!(check_comment("why", &format!("{author}é")).is_err());
    assert!(check_comment("  ", "ana")
        .unwrap_err()
        .contains("--comment"));
}

#[test]
fn a_canary_plan_has_at_most_20_guards_and_a_window_side_10080_batches() {
    let plan = |guards: usize| {
        let list: Vec<Value> = (0..guards)
            .map(|n| json!({"metric": format!("M{n}"), "kind": "rate", "tolerance": 1}))
            .collect();
        Plan::from_value(&json!({"flag": "f", "guards": list}))
    };
    assert!(plan(canary::MAX_GUARDS).is_ok());
    assert_eq!(plan(canary::MAX_GUARDS + 1).unwrap_err().path, "$.guards");
    let plan = Plan::from_value(
        &json!({"flag": "f", "guards": [{"metric": "Latency", "kind": "mean", "tolerance": 10}]}),
    )
    .unwrap();
    let window = |batches: usize| {
        let side = json!({"batches": vec![json!([1, 100.0]); batches]});
        json!({"users": {"canary": 0, "control": 0}, "metrics": {"Latency": {"canary": side, "control": side}}})
    };
    assert!(decide(&plan, 0, 0, 1, &window(canary::MAX_BATCHES)).is_ok());
    let past = decide(&plan, 0, 0, 1, &window(canary::MAX_BATCHES + 1)).unwrap_err();
    assert_eq!(past.path, "$.metrics.Latency.canary.batches");
}

#[test]
fn a_canary_state_keeps_50_decisions_within_131072_bytes() {
    let decision =
        |reason: String| json!({"atMs": 1, "step": 0, "action": "hold", "reason": reason});
    let state = |decisions: Vec<Value>| State {
        flag: "f".into(),
        status: canary::Status::Running,
        step: 0,
        step_started_ms: 1,
        started_ms: 1,
        decisions,
        left_out: 0,
    };
    let full = state(vec![decision("r".into()); canary::MAX_DECISIONS]);
    assert!(State::from_json(full.to_json().as_bytes()).is_ok());
    // One more is never written: the oldest goes, counted; and a text that
    // holds one more is refused.
    let past = state(vec![decision("r".into()); canary::MAX_DECISIONS + 1]);
    let kept = State::from_json(past.to_json().as_bytes()).unwrap();
    assert_eq!(
        (kept.decisions.len(), kept.left_out),
        (canary::MAX_DECISIONS, 1)
    );
    let mut text: Value = serde_json::from_str(&full.to_json()).unwrap();
    text["decisions"]
        .as_array_mut()
        .unwrap()
        .push(decision("r".into()));
    assert_eq!(
        State::from_json(text.to_string().as_bytes())
            .unwrap_err()
            .path,
        "$.decisions"
    );
    // What flagcore writes stays within the bytes, the oldest decisions let go.
    let long = state(vec![decision("x".repeat(4000)); canary::MAX_DECISIONS]);
    let text = long.to_json();
    assert!(text.len() <= canary::MAX_STATE_BYTES);
    assert!(State::from_json(text.as_bytes()).unwrap().decisions.len() < canary::MAX_DECISIONS);
    let padded = format!(
        "{}{}",
        text,
        " ".repeat(canary::MAX_STATE_BYTES - text.len())
    );
    assert!(State::from_json(padded.as_bytes()).is_ok());
    let over = format!("{padded} ");
    assert!(State::from_json(over.as_bytes())
        .unwrap_err()
        .message
        .contains("larger than 131072 bytes"));
}
