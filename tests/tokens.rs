//! The shared decision-token vectors (tests/vectors/tokens), run through the
//! core's typed API (`Snapshot::decision_token`, `Scope::attach`). Prints `N passed, M
//! failed`; Node, WASM and Python run the same file.

#[path = "support/canonical.rs"]
mod canonical;
#[path = "support/corpus.rs"]
#[allow(dead_code)]
mod corpus;

use flagcore::{AllFlagsOptions, Context, Scope, Snapshot, Value, ValueType};
use serde_json::json;

/// The base time every runner uses, so tokens are the same bytes everywhere.
const BASE_MS: f64 = 1_700_000_000_000.0;
const KEY: &[u8] = b"a signing key for the token vectors, 32+ bytes";
const OTHER_KEY: &[u8] = b"another signing key for the token vectors";

fn at(ms: &Value) -> f64 {
    BASE_MS + ms.as_f64().unwrap_or(0.0)
}

fn parse(snapshot: &Value) -> Snapshot {
    Snapshot::from_json(snapshot.to_string().as_bytes()).expect("a vector's snapshot parses")
}

/// The token text the case hands downstream.
fn tampered(case: &Value, token: &str) -> String {
    if let Some(literal) = case["replace"].as_str() {
        return literal.to_owned();
    }
    match case["tamper"].as_str() {
        Some("flip-middle") => {
            let mut bytes = token.as_bytes().to_vec();
            let i = bytes.len() / 2;
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            String::from_utf8(bytes).unwrap()
        }
        Some("truncate") => token[..20].to_owned(),
        Some("baggage") => format!("userId=alice,flagcore={token};p=1"),
        _ => token.to_owned(),
    }
}

/// Whether `actual` holds every field of `expected` (the status has more).
fn holds(actual: &Value, expected: &Value, issued_ms: f64) -> bool {
    expected.as_object().is_some_and(|fields| {
        fields.iter().all(|(name, want)| match name.as_str() {
            "expiresInMs" => {
                actual["expiresMs"].as_f64() == Some(issued_ms + want.as_f64().unwrap_or(0.0))
            }
            _ => &actual[name] == want,
        })
    })
}

fn issue(
    snapshot: &Snapshot,
    context: Result<&Scope, &flagcore::ContextError>,
    spec: &Value,
) -> Value {
    let flags: Vec<String> = spec["flags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_owned))
        .collect();
    let keys: Vec<&str> = flags.iter().map(String::as_str).collect();
    // Seconds as every host converts them.
    let ttl_ms = flagcore::token::ttl_ms_from_seconds(spec["ttlSeconds"].as_f64().unwrap_or(60.0));
    match snapshot.decision_token(context, &keys, KEY, at(&spec["atMs"]) as u64, ttl_ms) {
        Ok(token) => json!({ "token": token }),
        Err(error) => json!({"error": {"code": error.code().as_str()}}),
    }
}

/// Joins `text` to the context as a receiving host does (`maxTtlSeconds`
/// 0 or absent: the core's default lifetime).
fn receive(
    context: &Value,
    text: &str,
    key: &[u8],
    at_ms: f64,
    max_ttl_seconds: f64,
) -> (Result<Scope, flagcore::ContextError>, Value) {
    let max = (max_ttl_seconds > 0.0).then_some((max_ttl_seconds * 1000.0) as u64);
    let (scope, status) = Scope::attach(
        Context::from_json(&context.to_string()),
        Some(text),
        key,
        at_ms as u64,
        max,
    );
    (scope, status.to_value())
}

fn run(case: &Value) -> Result<(), String> {
    let upstream = parse(&case["upstream"]);
    let downstream = parse(&case["downstream"]);
    let spec = &case["issue"];
    let issued_ms = at(&spec["atMs"]);
    let context = Context::from_value(&spec["context"]).map(Scope::new);
    let answer = issue(&upstream, context.as_ref(), spec);
    if let Some(code) = case["issueError"].as_str() {
        return match answer["error"]["code"].as_str() {
            Some(got) if got == code => Ok(()),
            _ => Err(format!("expected {code} when issuing, got {answer}")),
        };
    }
    let token = answer["token"]
        .as_str()
        .ok_or_else(|| format!("no token: {answer}"))?;
    let text = tampered(case, token);
    let spec_receive = &case["receive"];
    let key = if case["tamper"] == "other-key" {
        OTHER_KEY
    } else {
        KEY
    };
    let max_ttl = spec_receive["maxTtlSeconds"].as_f64().unwrap_or(0.0);
    let (received, status) = receive(
        &spec_receive["context"],
        &text,
        key,
        at(&spec_receive["atMs"]),
        max_ttl,
    );
    if !holds(&status, &case["expectStatus"], issued_ms) {
        return Err(format!(
            "status {status}, expected {}",
            case["expectStatus"]
        ));
    }
    let now = at(&case["evaluateAtMs"]);
    for (flag, expected) in case["expect"].as_object().into_iter().flatten() {
        let detail = downstream
            .variation_detail_checked(
                flag,
                received.as_ref(),
                &Value::Null,
                ValueType::Any,
                now as u64,
            )
            .to_value();
        let detail = json!({"value": detail["value"], "variationIndex": detail["variationIndex"], "reason": detail["reason"]});
        if canonical::canonical(&detail) != canonical::canonical(expected) {
            return Err(format!("{flag}: {detail}, expected {expected}"));
        }
    }
    if let Some(expected) = case["expectAllFlags"].as_object() {
        let options = AllFlagsOptions {
            with_reasons: true,
            ..Default::default()
        };
        let state = downstream
            .all_flags_state_checked(received.as_ref(), options, now as u64)
            .to_value();
        for (flag, want) in expected {
            let got = json!({"value": state[flag], "variation": state["$flagsState"][flag]["variation"],
                "reason": state["$flagsState"][flag]["reason"]});
            if canonical::canonical(&got) != canonical::canonical(want) {
                return Err(format!("allFlagsState {flag}: {got}, expected {want}"));
            }
        }
    }
    if let Some(reissue) = case["reissue"].as_object() {
        let reissue = Value::Object(reissue.clone());
        let answer = issue(&downstream, received.as_ref(), &reissue);
        let token = answer["token"]
            .as_str()
            .ok_or_else(|| format!("no re-issued token: {answer}"))?;
        let (_, status) = receive(
            &spec_receive["context"],
            token,
            KEY,
            at(&reissue["receiveAtMs"]),
            0.0,
        );
        if !holds(&status, &reissue["expectStatus"], issued_ms) {
            return Err(format!(
                "re-issued status {status}, expected {}",
                reissue["expectStatus"]
            ));
        }
    }
    Ok(())
}

#[test]
fn the_token_vectors() {
    let cases = corpus::cases(&corpus::vectors(env!("CARGO_MANIFEST_DIR")), "tokens");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| run(case).err().map(|e| format!("{}: {e}", case["id"])))
        .collect();
    println!(
        "tokens: {} passed, {} failed",
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(cases.len() >= 30, "only {} token cases", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
