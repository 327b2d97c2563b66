//! The shared LaunchDarkly polling vectors (`tests/vectors/launchdarkly`):
//! what a sync makes of LaunchDarkly's answers, its retries, its URL and a
//! webhook's signature. The Node package's sync runs the same file through
//! its binding; the CLI calls these functions directly.

#[path = "../../tests/support/canonical.rs"]
#[allow(dead_code)]
mod canonical;
#[path = "../../tests/support/corpus.rs"]
#[allow(dead_code)]
mod corpus;

use flagcore::launchdarkly::{
    poll_status, poll_url, retry_delay_ms, webhook_signature_valid, PollStatus,
};
use serde_json::{json, Value};

fn got(case: &Value) -> Value {
    match case["kind"].as_str().unwrap() {
        "status" => match poll_status(case["status"].as_u64().unwrap() as u16) {
            PollStatus::Changed => json!({"expect": "changed"}),
            PollStatus::Unchanged => json!({"expect": "unchanged"}),
            PollStatus::Retry => json!({"expect": "retry"}),
            PollStatus::Refused(refusal) => json!({"expect": "refused", "code": refusal.code}),
        },
        "retry" => json!({"expectDelayMs": retry_delay_ms(
            case["failures"].as_u64().unwrap() as u32,
            case["jitter"].as_f64().unwrap()
        )}),
        "url" => match poll_url(case["baseUri"].as_str().unwrap(), case["filter"].as_str()) {
            Ok(url) => json!({"expectUrl": url}),
            Err(_) => json!({"expectError": true}),
        },
        "webhook" => {
            let mut body = case["body"].as_str().unwrap().to_owned();
            if let Some(pad) = case["padTo"].as_u64() {
                while body.len() < pad as usize {
                    body.push(' ');
                }
            }
            let valid = webhook_signature_valid(
                case["secret"].as_str().unwrap().as_bytes(),
                body.as_bytes(),
                case["signature"].as_str().unwrap(),
            );
            json!({"expectValid": valid})
        }
        other => panic!("unknown kind {other}"),
    }
}

#[test]
fn every_launchdarkly_vector() {
    let cases = corpus::cases(&corpus::vectors(env!("CARGO_MANIFEST_DIR")), "launchdarkly");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let got = got(case);
            let expected: serde_json::Map<String, Value> = got
                .as_object()
                .unwrap()
                .keys()
                .map(|k| (k.clone(), case[k].clone()))
                .collect();
            (Value::Object(expected.clone()) != got)
                .then(|| format!("{}: expected {expected:?}, got {got}", case["name"]))
        })
        .collect();
    println!(
        "launchdarkly vectors (core): {} passed, {} failed",
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(!cases.is_empty(), "no launchdarkly vectors ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
