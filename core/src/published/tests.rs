use super::*;
use serde_json::json;

fn snapshot(value: serde_json::Value) -> Snapshot {
    Snapshot::from_json(&serde_json::to_vec(&value).unwrap()).unwrap()
}

fn example() -> Snapshot {
    snapshot(json!({
        "flags": {
            "b": {"on": true, "variations": [1, 2], "fallthrough": {"variation": 1}, "salt": "s",
                  "rules": [{"id": "r", "variation": 0, "clauses": [
                      {"attribute": "email", "op": "endsWith", "values": ["@x.test"]},
                      {"attribute": "key", "op": "segmentMatch", "values": ["seg"]}]}]},
            "a": {"key": "a", "on": false, "variations": ["x"], "offVariation": 0, "deleted": false,
                  "fallthrough": {"variation": 0}}
        },
        "segments": {"seg": {"key": "seg", "included": ["u1"], "version": 4}}
    }))
}

/// A snapshot of one 2 MB flag: 130,000 targeted keys.
fn big_flag() -> Snapshot {
    let values: Vec<String> = (0..130_000).map(|n| format!("user-{n:08}")).collect();
    snapshot(
        json!({"flags": {"big": {"on": true, "variations": [false, true],
        "fallthrough": {"variation": 0}, "targets": [{"variation": 1, "values": values}]}}}),
    )
}

#[test]
fn a_published_snapshot_reads_back_as_itself() {
    let original = example();
    let published = publish(&original, 1_700_000_000_000).unwrap();
    assert_eq!(published.head.id, original.id());
    assert_eq!(published.chunks.len(), 1);
    let head = Head::from_json(published.head.to_json().as_bytes()).unwrap();
    assert_eq!(head, published.head);
    let back = head.assemble(&published.chunks).unwrap();
    assert_eq!(back.id(), original.id());
    assert_eq!(back.flag_keys(), original.flag_keys());
    assert_eq!(back.segment_keys(), original.segment_keys());
    // The text is canonical: the same flags publish the same bytes.
    assert_eq!(canonical_json(&back), canonical_json(&original));
}

#[test]
fn a_generation_head_is_named_by_a_snapshot_id_only() {
    let id = example().id().to_owned();
    assert_eq!(
        generation_head_name(&id).unwrap(),
        format!("snapshots/{id}/head.json")
    );
    for bad in [
        "",
        "../../head.json",
        "0123456789ABCDEF",
        "0123456789abcde",
        "0123456789abcdef0",
    ] {
        let error = generation_head_name(bad).unwrap_err();
        assert_eq!(
            (error.code(), error.path()),
            (ErrorCode::HeadInvalid, "$.id"),
            "{bad:?}"
        );
    }
}

#[test]
fn a_pinned_answer_takes_the_held_snapshots_kill_switches() {
    let upstream = snapshot(json!({"flags": {
        "on": {"on": true, "variations": [1, 2], "fallthrough": {"variation": 1}},
        "killed": {"on": true, "variations": [1, 2], "fallthrough": {"variation": 1}},
        "gone": {"on": true, "variations": [1, 2], "fallthrough": {"variation": 1}}}}));
    let held = snapshot(json!({"flags": {
        "on": {"on": true, "variations": [3, 4], "fallthrough": {"variation": 0}},
        "killed": {"on": false, "variations": [5, 6], "offVariation": 1},
        "new": {"on": true, "variations": [7], "fallthrough": {"variation": 0}}}}));
    let composite = pinned(&upstream, 1, &held, 2).unwrap();
    assert_eq!(composite.id(), upstream.id());
    assert_eq!(composite.flag_keys(), ["killed", "on"]);
    assert_eq!(
        composite.variations("killed").unwrap(),
        [json!(5), json!(6)]
    );
    assert_eq!(composite.variations("on").unwrap(), [json!(1), json!(2)]);
    assert_eq!(
        composite.variations("killed").unwrap(),
        [json!(5), json!(6)]
    );
    // Published later than the held snapshot: answered from as it is.
    assert!(pinned(&upstream, 3, &held, 2).is_none());
    assert!(pinned(&held, 1, &held, 2).is_none());
}

#[test]
fn a_plan_writes_nothing_for_the_same_id_and_expires_what_it_replaces() {
    let first = example();
    let Plan::Write(writes) = plan(&first, None, 1, false).unwrap() else {
        panic!("a first publish writes")
    };
    assert!(writes.replaced.is_empty());
    assert_eq!(
        writes.generation_head,
        format!("snapshots/{}/head.json", first.id())
    );
    let head = writes.published.head.to_json();
    assert!(matches!(
        plan(&first, Some(head.as_bytes()), 2, false).unwrap(),
        Plan::Unchanged
    ));
    let second = snapshot(
        json!({"flags": {"c": {"on": false, "variations": [0], "offVariation": 0, "fallthrough": {"variation": 0}}}}),
    );
    let Plan::Write(next) = plan(&second, Some(head.as_bytes()), 3, false).unwrap() else {
        panic!("another id writes")
    };
    let mut expected = vec![format!("snapshots/{}/head.json", first.id())];
    expected.extend(writes.published.head.chunks.iter().map(|c| c.name.clone()));
    assert_eq!(next.replaced, expected);
    // A head that does not read is replaced, and names nothing to expire.
    let Plan::Write(over) = plan(&first, Some(b"not a head"), 4, false).unwrap() else {
        panic!("a broken head is replaced")
    };
    assert!(over.replaced.is_empty());
}

fn head_of(plan: Plan) -> Head {
    match plan {
        Plan::Write(writes) => writes.published.head,
        Plan::Unchanged => panic!("expected a write"),
    }
}

#[test]
fn a_plan_orders_generations_whatever_the_publishers_clocks_say() {
    let first = example();
    let second = snapshot(
        json!({"flags": {"c": {"on": false, "variations": [0], "offVariation": 0, "fallthrough": {"variation": 0}}}}),
    );
    // A publisher ten minutes fast, then one with a correct clock.
    let fast = head_of(plan(&first, None, 1_700_000_600_000, false).unwrap());
    assert_eq!(fast.sequence, 1_700_000_600_000);
    let kill = head_of(
        plan(
            &second,
            Some(fast.to_json().as_bytes()),
            1_700_000_000_000,
            false,
        )
        .unwrap(),
    );
    assert_eq!(kill.published_at, 1_700_000_000_000);
    assert_eq!(kill.sequence, 1_700_000_600_001);
    // With clocks that agree, the sequence follows them.
    let later = head_of(
        plan(
            &first,
            Some(kill.to_json().as_bytes()),
            1_700_000_900_000,
            false,
        )
        .unwrap(),
    );
    assert_eq!(later.sequence, 1_700_000_900_000);
    // A head written before sequences existed orders by its publishedAt.
    let mut old = kill.to_value();
    old.as_object_mut().unwrap().remove("sequence");
    let read = Head::from_json(old.to_string().as_bytes()).unwrap();
    assert_eq!(read.sequence, kill.published_at);
}

#[test]
fn a_plan_never_replaces_a_head_of_a_newer_layout() {
    let mut newer = publish(&example(), 1).unwrap().head.to_value();
    newer["format"] = json!("flagcore-published/2");
    newer["chunks"] = json!("read in some other way");
    let other = snapshot(
        json!({"flags": {"c": {"on": false, "variations": [0], "offVariation": 0, "fallthrough": {"variation": 0}}}}),
    );
    let refused = plan(&other, Some(newer.to_string().as_bytes()), 2, true).unwrap_err();
    assert_eq!(
        (refused.code().as_str(), refused.path()),
        ("PUBLISHED_FORMAT_UNKNOWN", "$.format")
    );
    assert!(refused.message().contains("flagcore-published/2"));
    // Readers report it as such, not as a broken head.
    let read = Head::from_json(newer.to_string().as_bytes()).unwrap_err();
    assert_eq!(read.code().as_str(), "PUBLISHED_FORMAT_UNKNOWN");
    // Nor is a head larger than any this version writes.
    let large = format!("{newer}{}", " ".repeat(MAX_HEAD_BYTES));
    let refused = plan(&other, Some(large.as_bytes()), 2, true).unwrap_err();
    assert_eq!(
        (refused.code().as_str(), refused.path()),
        ("PUBLISHED_FORMAT_UNKNOWN", "$")
    );
}

#[test]
fn a_plan_refuses_errors_and_a_relay_table_that_lost_its_marker() {
    let broken = snapshot(json!({"flags": {"f": {"on": true, "variations": [0],
        "fallthrough": {"variation": 3}}}}));
    let refused = plan(&broken, None, 1, false).unwrap_err();
    assert_eq!(refused.code().as_str(), "PUBLISH_REFUSED");
    assert_eq!(refused.path(), "$.flags.f.fallthrough.variation");
    assert!(matches!(plan(&broken, None, 1, true), Ok(Plan::Write(_))));

    let item = |key: &str| {
        json!({"namespace": "features", "key": key, "version": 1,
               "item": json!({"key": key, "on": true, "variations": [0], "version": 1,
                              "fallthrough": {"variation": 0}}).to_string()})
    };
    let inited = json!({"namespace": "$inited", "key": "$inited"});
    let whole = snapshot(json!([item("a"), item("b"), inited]));
    let partial = snapshot(json!([item("a")]));
    let whole_head = head_of(plan(&whole, None, 1, false).unwrap());
    assert_eq!(whole_head.source.store_initialized, Some(true));
    let lost = plan(&partial, Some(whole_head.to_json().as_bytes()), 2, false).unwrap_err();
    assert_eq!(
        (lost.code().as_str(), lost.path()),
        ("PUBLISH_REFUSED", "$")
    );
    // A head that says nothing of a marker (data not read from a Relay
    // table, or a head written before heads carried their source) is
    // no reason to refuse.
    let from_json = head_of(plan(&example(), None, 1, false).unwrap());
    assert!(matches!(
        plan(&partial, Some(from_json.to_json().as_bytes()), 2, false),
        Ok(Plan::Write(_))
    ));
    // The marker back, with the same flags: the head is written again,
    // naming the same generation, which nothing expires; a lost marker
    // is then refused again.
    let partial_first = head_of(plan(&partial, None, 1, false).unwrap());
    let same_flags = snapshot(json!([
        item("a"),
        json!({"namespace": "$inited", "key": "$inited"})
    ]));
    assert_eq!(same_flags.id(), partial.id());
    let Plan::Write(again) = plan(
        &same_flags,
        Some(partial_first.to_json().as_bytes()),
        5,
        false,
    )
    .unwrap() else {
        panic!("the head is written again")
    };
    assert!(again.replaced.is_empty());
    assert_eq!(again.published.head.source.store_initialized, Some(true));
    assert_eq!(again.published.head.sequence, 5);
    let lost_again = plan(
        &partial,
        Some(again.published.head.to_json().as_bytes()),
        6,
        false,
    )
    .unwrap_err();
    assert_eq!(lost_again.code().as_str(), "PUBLISH_REFUSED");
    // A table first published without its marker publishes, with the
    // warning, and so does the next one without it.
    let first = head_of(plan(&partial, None, 3, false).unwrap());
    assert!(first.source.uninitialized());
    let back = Head::from_json(first.to_json().as_bytes()).unwrap();
    assert!(back.source.uninitialized());
    let other = snapshot(json!([item("c")]));
    assert!(matches!(
        plan(&other, Some(first.to_json().as_bytes()), 4, false),
        Ok(Plan::Write(_))
    ));
}

#[test]
fn the_source_facts_reach_the_readers() {
    let items = json!([
        {"namespace": "features", "key": "a", "version": 1,
         "item": json!({"key": "a", "on": true, "variations": [0], "version": 1}).to_string()},
        {"namespace": "other:features", "key": "x", "version": 1, "item": "{}"}
    ]);
    let read = snapshot(items);
    let published = publish(&read, 1).unwrap();
    let head = Head::from_json(published.head.to_json().as_bytes()).unwrap();
    let back = head.assemble(&published.chunks).unwrap();
    let codes =
        |s: &Snapshot| -> Vec<&str> { s.source_problems().iter().map(|p| p.code).collect() };
    assert_eq!(codes(&back), codes(&read));
    assert_eq!(codes(&back), ["STORE_NOT_INITIALIZED", "OTHER_NAMESPACES"]);
    // A clean source adds nothing to the head.
    assert!(!publish(&example(), 1)
        .unwrap()
        .head
        .to_json()
        .contains("source"));
}

#[test]
fn a_head_is_read_up_to_its_bound_and_refused_past_it() {
    let text = publish(&example(), 1).unwrap().head.to_json();
    let padded = |total: usize| format!("{text}{}", " ".repeat(total - text.len()));
    assert!(Head::from_json(padded(MAX_HEAD_BYTES).as_bytes()).is_ok());
    let error = Head::from_json(padded(MAX_HEAD_BYTES + 1).as_bytes()).unwrap_err();
    assert_eq!(
        (error.code().as_str(), error.path()),
        ("PUBLISHED_HEAD_INVALID", "$")
    );
}

#[test]
fn a_head_naming_the_most_chunks_fits_its_bound() {
    let mut head = publish(&example(), 1).unwrap().head;
    let chunk = head.chunks[0].clone();
    head.chunks = (0..MAX_CHUNKS)
        .map(|n| ChunkInfo {
            name: format!("snapshots/{}/{n}.json.gz", head.id),
            size: CHUNK_BYTES,
            ..chunk.clone()
        })
        .collect();
    head.size = CHUNK_BYTES * MAX_CHUNKS;
    let text = head.to_json();
    assert!(text.len() < MAX_HEAD_BYTES, "{} bytes", text.len());
    assert_eq!(
        Head::from_json(text.as_bytes()).unwrap().chunks.len(),
        MAX_CHUNKS
    );
}

#[test]
fn a_pinned_answer_takes_a_kill_switch_made_through_a_prerequisite() {
    // Upstream: canary on, with no prerequisite. Held: canary on behind
    // a global kill switch, which is off; and a deeper chain.
    let upstream = snapshot(json!({"flags": {
        "canary": {"on": true, "variations": [false, true], "fallthrough": {"variation": 1}},
        "deep": {"on": true, "variations": [false, true], "fallthrough": {"variation": 1}},
        "kill": {"on": true, "variations": [false, true], "fallthrough": {"variation": 1}}}}));
    let held = snapshot(json!({"flags": {
        "canary": {"on": true, "variations": [false, true], "offVariation": 0,
                   "fallthrough": {"variation": 1}, "prerequisites": [{"key": "kill", "variation": 1}]},
        "deep": {"on": true, "variations": [false, true], "offVariation": 0,
                 "fallthrough": {"variation": 1}, "prerequisites": [{"key": "canary", "variation": 1}]},
        "kill": {"on": false, "variations": [false, true], "offVariation": 0,
                 "fallthrough": {"variation": 1}}}}));
    let composite = pinned(&upstream, 1, &held, 2).unwrap();
    let user = crate::Context::from_value(&json!({"key": "u"})).unwrap();
    for key in ["canary", "deep"] {
        let detail = composite.variation_detail(key, &user, &json!(null), crate::ValueType::Any);
        assert_eq!(*detail.value, json!(false), "{key}");
        assert_eq!(detail.reason.kind_str(), "PREREQUISITE_FAILED", "{key}");
    }
    let all = composite.all_flags_state(&user, crate::AllFlagsOptions::default());
    assert_eq!(all.to_value()["canary"], json!(false));
}

#[test]
fn a_flag_larger_than_a_chunk_spans_several() {
    let big = big_flag();
    let published = publish(&big, 0).unwrap();
    let text = canonical_json(&big);
    assert!(text.len() > 2_000_000);
    assert_eq!(published.chunks.len(), text.len().div_ceil(CHUNK_BYTES));
    assert!(published.chunks.iter().all(|c| c.len() <= CHUNK_BYTES));
    let back = published.head.assemble(&published.chunks).unwrap();
    assert_eq!(back.id(), big.id());
}

#[test]
fn missing_or_changed_chunks_load_nothing() {
    let big = big_flag();
    let Published { head, chunks } = publish(&big, 0).unwrap();
    let code = |result: Result<Snapshot, SnapshotError>| {
        let error = result.err().unwrap();
        (error.code().as_str(), error.path().to_owned())
    };
    assert_eq!(
        code(head.assemble(&chunks[..2])),
        ("PUBLISHED_CHUNK_MISSING", "$.chunks[2]".to_owned())
    );
    let mut changed = chunks.clone();
    changed[1][10] ^= 1;
    assert_eq!(
        code(head.assemble(&changed)),
        ("PUBLISHED_CHUNK_CORRUPT", "$.chunks[1]".to_owned())
    );
    let mut swapped = chunks.clone();
    swapped.swap(0, 1);
    assert_eq!(code(head.assemble(&swapped)).0, "PUBLISHED_CHUNK_CORRUPT");
    // A head naming another snapshot of the same bytes: the id is checked.
    let mut wrong = head.clone();
    wrong.id = "0123456789abcdef".to_owned();
    assert_eq!(
        code(wrong.assemble(&chunks)),
        ("PUBLISHED_CHUNK_CORRUPT", "$.id".to_owned())
    );
}

#[test]
fn a_snapshot_of_too_many_chunks_is_not_published() {
    assert_eq!(
        cut(b"abcdefg", 3, 3).unwrap(),
        [b"abc".to_vec(), b"def".to_vec(), b"g".to_vec()]
    );
    assert_eq!(cut(b"abcdefghi", 3, 3).unwrap().len(), 3);
    let refused = cut(b"abcdefghij", 3, 3).unwrap_err();
    assert_eq!(
        (refused.code().as_str(), refused.path()),
        ("PUBLISHED_HEAD_INVALID", "$.chunks")
    );
}

#[test]
fn heads_that_do_not_add_up_are_refused() {
    let head = publish(&example(), 5).unwrap().head;
    let refused = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut value = head.to_value();
        change(&mut value);
        let error = Head::from_json(&serde_json::to_vec(&value).unwrap()).unwrap_err();
        assert_eq!(error.code().as_str(), "PUBLISHED_HEAD_INVALID");
        error.path().to_owned()
    };
    assert_eq!(
        refused(&|v| v["format"] = json!("launchdarkly")),
        "$.format"
    );
    assert_eq!(refused(&|v| v["id"] = json!("../../etc")), "$.id");
    assert_eq!(refused(&|v| v["chunks"] = json!([])), "$.chunks");
    for name in [
        "../x",
        "/etc/passwd",
        "a//b",
        "https://elsewhere.test/x",
        "a/./b",
        "",
    ] {
        assert_eq!(
            refused(&|v| v["chunks"][0]["name"] = json!(name)),
            "$.chunks[0].name",
            "{name}"
        );
    }
    assert_eq!(refused(&|v| v["size"] = json!(1)), "$.size");
    assert_eq!(
        refused(&|v| v["chunks"][0]["size"] = json!("big")),
        "$.chunks[0].size"
    );
    assert_eq!(
        refused(&|v| v["publishedAt"] = json!(null)),
        "$.publishedAt"
    );
    let error = Head::from_json(b"not json").unwrap_err();
    assert_eq!(error.code().as_str(), "PUBLISHED_HEAD_INVALID");
}
