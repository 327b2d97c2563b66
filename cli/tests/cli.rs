//! The `flagcore` command, run as a user runs it, on the bundled examples.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

mod common;
use common::{example, flagcore, stdout};

#[test]
fn check_passes_the_example_and_lists_every_problem_of_the_broken_one() {
    let good = flagcore(&["check", "--snapshot", &example("snapshot.json")]);
    assert!(good.status.success(), "{}", stdout(&good));
    assert!(stdout(&good).contains("0 errors, 0 warnings"));

    let bad = flagcore(&[
        "check",
        "--snapshot",
        &example("broken-snapshot.json"),
        "--json",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&bad.stdout).expect("JSON report");
    let mut codes: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "INVALID_REGEX",
            "ROLLOUT_WEIGHTS",
            "UNKNOWN_PREREQUISITE",
            "UNKNOWN_SEGMENT",
            "VARIATION_OUT_OF_RANGE"
        ]
    );
    assert_eq!(report["valid"], json!(false));
}

#[test]
fn eval_prints_one_detail_in_launchdarkly_order() {
    // user-1002 is included in beta-testers, so the third rule ("beta") matches.
    let context = r#"{"kind":"user","key":"user-1002","email":"sam@shop.test"}"#;
    let out = flagcore(&[
        "eval",
        "--snapshot",
        &example("snapshot.json"),
        "--flag",
        "checkout-theme",
        "--context",
        context,
        "--default",
        "\"classic\"",
        "--type",
        "string",
    ]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        r#"{"value":"midnight","variationIndex":1,"reason":{"kind":"RULE_MATCH","ruleIndex":2,"ruleId":"beta"}}"#
    );
}

#[test]
fn eval_answers_wrong_type_and_unknown_flags_with_the_default() {
    let snapshot = example("snapshot.json");
    let out = flagcore(&[
        "eval",
        "-s",
        &snapshot,
        "-f",
        "checkout-theme",
        "-c",
        r#"{"key":"u"}"#,
        "-d",
        "true",
        "-t",
        "bool",
    ]);
    let detail: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        detail,
        json!({"value": true, "variationIndex": null, "reason": {"kind": "ERROR", "errorKind": "WRONG_TYPE"}})
    );
    let out = flagcore(&[
        "eval",
        "-s",
        &snapshot,
        "-f",
        "nope",
        "-c",
        r#"{"key":"u"}"#,
        "-d",
        "7",
    ]);
    let detail: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(detail["reason"]["errorKind"], json!("FLAG_NOT_FOUND"));
    assert_eq!(detail["value"], json!(7));
}

#[test]
fn batch_answers_each_line_as_it_arrives() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flagcore"))
        .args(["eval", "--snapshot", &example("snapshot.json"), "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut output = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // One request, one answer, with stdin still open: the answer is not held back.
    writeln!(input, r#"{{"flag":"max-cart-items","context":{{"kind":"org","key":"acme"}},"default":50,"type":"int"}}"#).unwrap();
    output.read_line(&mut line).unwrap();
    let detail: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        detail,
        json!({"value": 200, "variationIndex": 1, "reason": {"kind": "TARGET_MATCH"}})
    );
    // A request without a flag answers every flag.
    writeln!(input, r#"{{"context":{{"kind":"user","key":"qa-alice"}}}}"#).unwrap();
    line.clear();
    output.read_line(&mut line).unwrap();
    let all: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(all["new-checkout"]["reason"]["kind"], json!("TARGET_MATCH"));
    assert_eq!(all.as_object().unwrap().len(), 6);
    drop(input);
    assert!(child.wait().unwrap().success());
}

#[test]
fn batch_streams_many_lines_and_reports_bad_ones() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flagcore"))
        .args(["eval", "--snapshot", &example("snapshot.json"), "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..20_000 {
            writeln!(input, r#"{{"flag":"new-checkout","context":{{"kind":"user","key":"u{i}"}},"default":false}}"#).unwrap();
        }
        writeln!(input, "not json").unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 20_001);
    assert!(lines[..20_000]
        .iter()
        .all(|l| l.starts_with(r#"{"value":"#)));
    let last: Value = serde_json::from_str(lines[20_000]).unwrap();
    assert_eq!(last["error"]["code"], json!("BAD_REQUEST"));
    assert_eq!(last["error"]["line"], json!(20_001));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn rollout_counts_every_context_once() {
    let out = flagcore(&[
        "rollout",
        "-s",
        &example("snapshot.json"),
        "-f",
        "new-checkout",
        "--synthetic",
        "20000",
        "--json",
    ]);
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let counts: Vec<u64> = report["variations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["contexts"].as_u64().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), 20_000);
    // A 10% rollout over 20,000 hashed keys lands within a point of 10%.
    let share = report["variations"][0]["share"].as_f64().unwrap();
    assert!((9.0..11.0).contains(&share), "share {share}");
}

#[test]
fn dynamodb_items_are_read_under_their_prefix() {
    let dir = std::env::temp_dir().join(format!("flagcore-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("items.json");
    let flag = json!({"key": "f", "version": 1, "on": true, "variations": ["a", "b"], "fallthrough": {"variation": 1}});
    let items = json!({"Items": [
        {"namespace": {"S": "prod:features"}, "key": {"S": "f"}, "version": {"N": "1"}, "item": {"S": flag.to_string()}},
        {"namespace": {"S": "prod:$inited"}, "key": {"S": "prod:$inited"}}
    ]});
    std::fs::write(&path, items.to_string()).unwrap();
    let path = path.to_string_lossy().into_owned();
    let out = flagcore(&[
        "eval",
        "-s",
        &path,
        "--prefix",
        "prod",
        "-f",
        "f",
        "-c",
        r#"{"key":"u"}"#,
    ]);
    assert_eq!(
        stdout(&out).trim(),
        r#"{"value":"b","variationIndex":1,"reason":{"kind":"FALLTHROUGH"}}"#
    );
    // Without the prefix no item is read, and check refuses the snapshot,
    // naming the namespaces it skipped.
    let out = flagcore(&["check", "--snapshot", &path]);
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("DYNAMODB_EMPTY") && text.contains("prod:features"),
        "{text}"
    );
}

#[test]
fn unreadable_input_fails_with_a_message_on_stderr() {
    let out = flagcore(&["eval", "-s", "/no/such/file.json", "-f", "f", "-c", "{}"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /no/such/file.json"));
    let out = flagcore(&[
        "eval",
        "-s",
        &example("snapshot.json"),
        "-f",
        "f",
        "-c",
        "{not json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--context is not JSON"));
}

/// A bare word given as --default is a JSON string without its quotes: the
/// message shows how to write it.
#[test]
fn a_bare_word_as_the_default_gets_the_quoting_it_needs() {
    let out = flagcore(&[
        "eval",
        "--snapshot",
        &example("snapshot.json"),
        "--flag",
        "checkout-theme",
        "--context",
        r#"{"key":"user-1"}"#,
        "--default",
        "classic",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r#"--default '"classic"'"#),
        "no quoting shown: {stderr}"
    );
}

/// `check FILE` and `publish FILE` came before `--snapshot FILE`, which every
/// command now takes: the old form works and says what to write instead.
#[test]
fn the_positional_snapshot_still_works_with_a_warning() {
    let out = flagcore(&["check", &example("snapshot.json")]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("0 errors, 0 warnings"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("deprecated") && stderr.contains("flagcore check --snapshot"),
        "{stderr}"
    );
    let quiet = flagcore(&["check", "--snapshot", &example("snapshot.json")]);
    assert!(String::from_utf8_lossy(&quiet.stderr).is_empty());
    let neither = flagcore(&["check"]);
    assert_eq!(neither.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&neither.stderr).contains("--snapshot"));
}

/// README.md and docs/*.md, as one text.
fn docs_text() -> String {
    let mut text = std::fs::read_to_string(example("../README.md")).unwrap();
    let mut pages: Vec<_> = std::fs::read_dir(example("../docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    pages.sort();
    for page in pages {
        text.push_str(&std::fs::read_to_string(page).unwrap());
    }
    text
}

/// The docs show real output: each line these commands print appears in them.
#[test]
fn the_docs_show_what_the_commands_print() {
    let readme = docs_text();
    let snapshot = example("snapshot.json");
    let broken = example("broken-snapshot.json");
    let runs: [&[&str]; 5] = [
        &[
            "eval",
            "--snapshot",
            &snapshot,
            "--flag",
            "checkout-theme",
            "--context",
            r#"{"kind":"user","key":"user-1002","email":"sam@shop.test"}"#,
            "--default",
            r#""classic""#,
            "--type",
            "string",
        ],
        &[
            "eval",
            "--snapshot",
            &snapshot,
            "--flag",
            "payment-provider",
            "--context",
            r#"{"kind":"user","key":"qa-alice"}"#,
            "--default",
            r#""legacy""#,
        ],
        // What examples/evaluate.rs computes, through the CLI.
        &[
            "eval",
            "--snapshot",
            &snapshot,
            "--flag",
            "new-checkout",
            "--context",
            r#"{"kind":"user","key":"user-42"}"#,
            "--default",
            "false",
            "--type",
            "bool",
        ],
        &[
            "rollout",
            "--snapshot",
            &snapshot,
            "--flag",
            "new-checkout",
            "--synthetic",
            "100000",
        ],
        &["check", "--snapshot", &broken],
    ];
    for args in runs {
        let printed = stdout(&flagcore(args));
        for line in printed.lines().filter(|l| !l.trim().is_empty()) {
            let shown = line
                .replace(&snapshot, "examples/snapshot.json")
                .replace(&broken, "examples/broken-snapshot.json");
            assert!(
                readme.contains(&shown),
                "README.md and docs/ do not show this output of {args:?}:\n{shown}"
            );
        }
    }
    let evaluate = std::fs::read_to_string(example("evaluate.rs")).unwrap();
    assert!(
        readme.contains(&evaluate),
        "README.md and docs/ do not show examples/evaluate.rs as it is"
    );
}
