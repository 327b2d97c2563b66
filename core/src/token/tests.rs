use super::wire::binding;
use super::*;
use crate::reason::ReasonKind;
use crate::{Scope, Snapshot};
use serde_json::json;

const KEY: &[u8] = b"a signing key of 32 bytes, for tests";

fn snapshot(weight: u64) -> Snapshot {
    let flag = |key: &str| {
        json!({"key": key, "on": true, "salt": "s", "variations": [false, true], "offVariation": 0,
            "rules": [{"id": "staff", "clauses": [{"attribute": "email", "op": "endsWith", "values": ["@corp.example"]}], "variation": 1}],
            "fallthrough": {"rollout": {"variations": [{"variation": 1, "weight": weight}, {"variation": 0, "weight": 100_000 - weight}]}}})
    };
    let flags: serde_json::Map<String, serde_json::Value> = (0..20)
        .map(|i| format!("canary-release-flag-{i:02}"))
        .map(|k| (k.clone(), flag(&k)))
        .collect();
    Snapshot::from_json(json!({"flags": flags}).to_string().as_bytes()).unwrap()
}

fn user(key: &str) -> Context {
    Context::from_value(&json!({"kind": "user", "key": key})).unwrap()
}

const MAX: u64 = DEFAULT_MAX_LIFETIME_MS;

#[test]
fn a_downstream_snapshot_answers_as_upstream_did() {
    let (before, after) = (snapshot(10_000), snapshot(50_000));
    let keys: Vec<String> = before.flag_keys().to_vec();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut moved = 0;
    for n in 0..200 {
        let context = user(&format!("user-{n}"));
        let token = before
            .decision_token(
                Ok(&Scope::new(context.clone())),
                &keys,
                KEY,
                1_000_000,
                60_000,
            )
            .unwrap();
        assert!(
            token.len() <= 1024,
            "{} characters for 20 flags",
            token.len()
        );
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        let verified = verify(&token, KEY, 1_030_000, MAX).unwrap();
        assert_eq!((verified.snapshot_id(), verified.len()), (before.id(), 20));
        let carried = Scope::with_token(context.clone(), verified).unwrap();
        for key in &keys {
            let upstream = before.evaluate(key, &context);
            let fresh = after.evaluate(key, &context);
            let downstream = after.evaluate_at(key, &carried, 1_030_000);
            moved += usize::from(fresh.variation_index != upstream.variation_index);
            assert_eq!(
                (downstream.value, downstream.variation_index),
                (upstream.value, upstream.variation_index)
            );
            let mut expected = upstream.reason;
            expected.propagated = true;
            assert_eq!(downstream.reason, expected);
            // Without a clock, a token decides nothing.
            assert_eq!(after.evaluate(key, carried.context()), fresh);
        }
    }
    assert!(
        moved > 0,
        "the rollout change moved nobody: the test proves nothing"
    );
}

#[test]
fn tokens_are_found_in_baggage_headers() {
    assert_eq!(from_header(" fc1.abc "), Some("fc1.abc"));
    assert_eq!(
        from_header("userId=alice, flagcore=fc1.abc;ttl=5,x=y"),
        Some("fc1.abc")
    );
    assert_eq!(from_header("userId=alice"), None);
    assert_eq!(from_header(""), None);
}

fn code(result: Result<impl Sized, TokenError>) -> TokenErrorCode {
    result.map(|_| ()).unwrap_err().code()
}

#[test]
fn refused_tokens_decide_nothing() {
    let s = snapshot(10_000);
    let context = user("user-1");
    let token = s
        .decision_token(
            Ok(&Scope::new(context.clone())),
            &["canary-release-flag-00"],
            KEY,
            1_000_000,
            60_000,
        )
        .unwrap();
    assert_eq!(
        code(verify(
            &token,
            b"another key, 32 bytes long......",
            1_000_000,
            MAX
        )),
        TokenErrorCode::BadSignature
    );
    assert_eq!(
        code(verify(&token, b"short", 1_000_000, MAX)),
        TokenErrorCode::NoKey
    );
    // Both messages name the setting that fixes them.
    for key in [&b""[..], b"short"] {
        let message = verify(&token, key, 1_000_000, MAX).unwrap_err().message;
        assert!(message.contains("FLAGCORE_SIGNING_KEY"), "{message}");
    }
    assert_eq!(
        code(verify(&token, KEY, 1_060_000, MAX)),
        TokenErrorCode::Expired
    );
    assert_eq!(
        code(verify(&token, KEY, 900_000, MAX)),
        TokenErrorCode::NotYetValid
    );
    assert_eq!(
        code(verify("fc1.!!", KEY, 1_000_000, MAX)),
        TokenErrorCode::Malformed
    );
    assert_eq!(
        code(verify("eyJhbGciOi", KEY, 1_000_000, MAX)),
        TokenErrorCode::Malformed
    );
    assert_eq!(
        code(verify(
            &"A".repeat(MAX_TOKEN_CHARS + 1),
            KEY,
            1_000_000,
            MAX
        )),
        TokenErrorCode::TooLarge
    );
    // Any changed character breaks the signature (or the encoding).
    for i in PREFIX.len()..token.len() {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(bytes).unwrap();
        assert!(
            verify(&changed, KEY, 1_000_000, MAX).is_err(),
            "position {i}"
        );
    }
    let verified = verify(&token, KEY, 1_000_000, MAX).unwrap();
    assert_eq!(
        Scope::with_token(user("user-2"), verified.clone())
            .unwrap_err()
            .code(),
        TokenErrorCode::WrongContext
    );
    assert_eq!(verified.reproducible(&s, 1_000_000), 1);
}

#[test]
fn a_changed_flag_is_evaluated_normally() {
    let s = snapshot(100_000);
    let context = user("user-1");
    let token = verify(
        &s.decision_token(
            Ok(&Scope::new(context.clone())),
            &["canary-release-flag-00"],
            KEY,
            0,
            60_000,
        )
        .unwrap(),
        KEY,
        0,
        MAX,
    )
    .unwrap();
    // The same flag with its variations swapped: index 1 is now `false`.
    let changed = Snapshot::from_json(
        br#"{"flags": {"canary-release-flag-00": {"on": true, "variations": [true, false], "fallthrough": {"variation": 0}}}}"#,
    )
    .unwrap();
    assert_eq!(token.reproducible(&changed, 0), 0);
    let carried = Scope::with_token(context.clone(), token).unwrap();
    let answer = changed.evaluate_at("canary-release-flag-00", &carried, 0);
    assert_eq!(
        (answer.variation_index, answer.reason.propagated),
        (Some(0), false)
    );
}

fn canary(on: bool, prerequisite: Option<bool>) -> Snapshot {
    let mut flags = json!({"canary": {"on": on, "variations": [false, true], "offVariation": 0,
        "fallthrough": {"variation": 1}}});
    if let Some(gate_on) = prerequisite {
        flags["canary"]["prerequisites"] = json!([{"key": "gate", "variation": 1}]);
        flags["gate"] = json!({"on": gate_on, "variations": [false, true], "offVariation": 0,
            "fallthrough": {"variation": 1}});
    }
    Snapshot::from_json(json!({ "flags": flags }).to_string().as_bytes()).unwrap()
}

fn carried(upstream: &Snapshot, context: &Context, at: u64) -> Scope {
    let text = upstream
        .decision_token(
            Ok(&Scope::new(context.clone())),
            &["canary"],
            KEY,
            at,
            60_000,
        )
        .unwrap();
    let token = verify(&text, KEY, at, MAX).unwrap();
    Scope::with_token(context.clone(), token).unwrap()
}

#[test]
fn a_kill_switch_downstream_wins_over_any_token() {
    let context = user("alice");
    for upstream in [canary(true, None), canary(true, Some(true))] {
        let carried = carried(&upstream, &context, 1_000);
        // Still on downstream: upstream's answer, propagated.
        let same = upstream.evaluate_at("canary", &carried, 2_000);
        assert_eq!(
            (same.variation_index, same.reason.propagated),
            (Some(1), true)
        );
        // Turned off downstream: OFF, whatever the token says.
        let (off_downstream, gated_downstream) =
            (canary(false, Some(true)), canary(true, Some(false)));
        let off = off_downstream.evaluate_at("canary", &carried, 2_000);
        assert_eq!(
            (off.variation_index, off.reason.kind),
            (Some(0), ReasonKind::Off)
        );
        assert!(!off.reason.propagated);
        // A prerequisite turned off downstream: the flag's kill switch too.
        let gated = gated_downstream.evaluate_at("canary", &carried, 2_000);
        assert_eq!(gated.variation_index, Some(0));
        assert!(matches!(
            gated.reason.kind,
            ReasonKind::PrerequisiteFailed { .. }
        ));
        // All-flags state agrees with the single evaluations.
        let state =
            off_downstream.all_flags_state_at(&carried, crate::AllFlagsOptions::default(), 2_000);
        assert_eq!(state.value("canary"), Some(Some(&json!(false))));
    }
}

#[test]
fn all_flags_state_answers_as_the_token_does() {
    let context = user("alice");
    let carried = carried(&canary(true, None), &context, 1_000);
    let changed = Snapshot::from_json(
        br#"{"flags": {"canary": {"on": true, "variations": [false, true], "offVariation": 0,
            "fallthrough": {"variation": 0}}}}"#,
    )
    .unwrap();
    let options = crate::AllFlagsOptions {
        with_reasons: true,
        ..Default::default()
    };
    let state = changed.all_flags_state_at(&carried, options, 2_000);
    assert_eq!(state.value("canary"), Some(Some(&json!(true))));
    let detail = changed.evaluate_at("canary", &carried, 2_000);
    assert_eq!(detail.value, Some(&json!(true)));
    // After expiry both answer from the snapshot.
    let state = changed.all_flags_state_at(&carried, options, 61_000);
    assert_eq!(state.value("canary"), Some(Some(&json!(false))));
}

#[test]
fn expiry_is_checked_at_every_evaluation() {
    let context = user("alice");
    let upstream = canary(true, None);
    let carried = carried(&upstream, &context, 1_000);
    let changed = Snapshot::from_json(
        br#"{"flags": {"canary": {"on": true, "variations": [false, true], "fallthrough": {"variation": 0}}}}"#,
    )
    .unwrap();
    assert_eq!(
        changed
            .evaluate_at("canary", &carried, 60_999)
            .variation_index,
        Some(1)
    );
    let expired = changed.evaluate_at("canary", &carried, 61_000);
    assert_eq!(
        (expired.variation_index, expired.reason.propagated),
        (Some(0), false)
    );
}

#[test]
fn a_reissued_token_keeps_the_original_expiry() {
    let context = user("alice");
    let upstream = canary(true, None);
    let middle = carried(&upstream, &context, 1_000);
    // Re-issued 50 s later for another minute: it still ends at 61 s.
    let text = upstream
        .decision_token(Ok(&middle), &["canary"], KEY, 51_000, 60_000)
        .unwrap();
    let reissued = verify(&text, KEY, 52_000, MAX).unwrap();
    assert_eq!(reissued.expires_ms(), 61_000);
    assert_eq!(
        code(verify(&text, KEY, 61_000, MAX)),
        TokenErrorCode::Expired
    );
    // From an expired token's context it is a fresh decision with its own lifetime.
    let text = upstream
        .decision_token(Ok(&middle), &["canary"], KEY, 70_000, 60_000)
        .unwrap();
    assert_eq!(
        verify(&text, KEY, 70_000, MAX).unwrap().expires_ms(),
        130_000
    );
}

#[test]
fn lifetimes_are_bounded_when_issued_and_when_received() {
    let s = canary(true, None);
    let context = user("alice");
    for bad in [0, MAX_TTL_MS + 1, u64::MAX] {
        assert_eq!(
            code(s.decision_token(Ok(&Scope::new(context.clone())), &["canary"], KEY, 0, bad)),
            TokenErrorCode::InvalidTtl
        );
    }
    assert!(s
        .decision_token(
            Ok(&Scope::new(context.clone())),
            &["canary"],
            KEY,
            0,
            MAX_TTL_MS
        )
        .is_ok());
    let long = s
        .decision_token(
            Ok(&Scope::new(context.clone())),
            &["canary"],
            KEY,
            1_000,
            600_000,
        )
        .unwrap();
    assert_eq!(
        code(verify(&long, KEY, 1_000, MAX)),
        TokenErrorCode::LifetimeTooLong
    );
    assert!(verify(&long, KEY, 1_000, 600_000).is_ok());
}

#[test]
fn the_binding_separates_every_kind_and_key() {
    let s = canary(true, None);
    let collides =
        Context::from_value(&json!({"kind": "org", "key": "acme\u{0}user\u{0}alice"})).unwrap();
    let multi = Context::from_value(
        &json!({"kind": "multi", "org": {"key": "acme"}, "user": {"key": "alice"}}),
    )
    .unwrap();
    let text = s
        .decision_token(
            Ok(&Scope::new(collides.clone())),
            &["canary"],
            KEY,
            1_000,
            60_000,
        )
        .unwrap();
    let token = verify(&text, KEY, 1_000, MAX).unwrap();
    assert!(token.binds(&collides));
    assert_eq!(std::mem::size_of_val(&binding(&multi)), 16);
    assert_eq!(
        Scope::with_token(multi, token).unwrap_err().code(),
        TokenErrorCode::WrongContext
    );
    assert_ne!(
        binding(&user("ab")),
        binding(&Context::new("user", "a").unwrap())
    );
}

#[test]
fn a_token_holds_at_most_max_decisions() {
    let flags: serde_json::Map<String, serde_json::Value> = (0..=MAX_DECISIONS)
        .map(|i| {
            (
                format!("flag-{i:03}"),
                json!({"on": true, "variations": [false, true], "fallthrough": {"variation": 1}}),
            )
        })
        .collect();
    let s = Snapshot::from_json(json!({ "flags": flags }).to_string().as_bytes()).unwrap();
    let keys: Vec<String> = s.flag_keys().to_vec();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let context = user("alice");
    assert_eq!(
        code(s.decision_token(Ok(&Scope::new(context.clone())), &keys, KEY, 1_000, 60_000)),
        TokenErrorCode::TooLarge
    );
    let full = s
        .decision_token(
            Ok(&Scope::new(context.clone())),
            &keys[..MAX_DECISIONS],
            KEY,
            1_000,
            60_000,
        )
        .unwrap();
    assert!(
        full.len() + "flagcore=".len() <= 4_096,
        "{} characters",
        full.len()
    );
    assert_eq!(verify(&full, KEY, 1_000, MAX).unwrap().len(), MAX_DECISIONS);
    // The same flag named twice is one decision.
    let twice = s
        .decision_token(
            Ok(&Scope::new(context.clone())),
            &["flag-000", "flag-000"],
            KEY,
            1_000,
            60_000,
        )
        .unwrap();
    assert_eq!(verify(&twice, KEY, 1_000, MAX).unwrap().len(), 1);
}
