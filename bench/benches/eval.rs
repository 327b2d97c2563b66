//! flagcore beside LaunchDarkly's own Rust evaluator, in one run, on the same
//! snapshot and context. `make bench` runs this and prints the ratios.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use flagcore::{Context, Snapshot, ValueType};
use flagcore_bench::{context_json, snapshot_json, LdStore, ROLLOUT_FLAG, RULES_FLAG};
use launchdarkly_server_sdk_evaluation as ld;
use serde_json::{json, Value};

fn ld_variation(store: &LdStore, key: &str, context: &ld::Context) -> Option<usize> {
    let flag = ld::Store::flag(store, key)?;
    ld::evaluate(store, &flag, context, None)
        .variation_index
        .and_then(|i| usize::try_from(i).ok())
}

fn benches(c: &mut Criterion) {
    let text = snapshot_json();
    let snapshot = match Snapshot::from_json(text.as_bytes()) {
        Ok(snapshot) => snapshot,
        Err(e) => panic!("benchmark snapshot: {e}"),
    };
    let store: LdStore =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("LaunchDarkly store: {e}"));
    let context = Context::from_value(&context_json()).unwrap_or_else(|e| panic!("{e}"));
    let ld_context: ld::Context =
        serde_json::from_value(context_json()).unwrap_or_else(|e| panic!("{e}"));

    // Both evaluators must agree before their speed means anything.
    for key in [ROLLOUT_FLAG, RULES_FLAG] {
        let ours = snapshot.evaluate(key, &context).variation_index;
        assert_eq!(
            ours,
            ld_variation(&store, key, &ld_context),
            "{key}: the evaluators disagree"
        );
    }
    eprintln!(
        "benchmark snapshot: {} bytes, {} flags",
        text.len(),
        snapshot.flag_keys().len()
    );

    let default_bool = json!(false);
    let default_string = json!("classic");
    let mut group = c.benchmark_group("a_rollout_bool");
    group.bench_function("flagcore", |b| {
        b.iter(|| {
            snapshot
                .variation_detail(
                    black_box(ROLLOUT_FLAG),
                    black_box(&context),
                    &default_bool,
                    ValueType::Bool,
                )
                .variation_index
        })
    });
    group.bench_function("launchdarkly", |b| {
        b.iter(|| ld_variation(&store, black_box(ROLLOUT_FLAG), black_box(&ld_context)))
    });
    group.finish();

    let mut group = c.benchmark_group("b_rules_segment_string");
    group.bench_function("flagcore", |b| {
        b.iter(|| {
            snapshot
                .variation_detail(
                    black_box(RULES_FLAG),
                    black_box(&context),
                    &default_string,
                    ValueType::String,
                )
                .variation_index
        })
    });
    group.bench_function("launchdarkly", |b| {
        b.iter(|| ld_variation(&store, black_box(RULES_FLAG), black_box(&ld_context)))
    });
    group.finish();

    let mut group = c.benchmark_group("parse_1mb");
    group.sample_size(30);
    group.bench_function("flagcore", |b| {
        b.iter(|| Snapshot::from_json(black_box(text.as_bytes())).map(|s| s.flag_keys().len()))
    });
    group.bench_function("launchdarkly", |b| {
        b.iter(|| serde_json::from_str::<LdStore>(black_box(&text)).map(|s| s.flags.len()))
    });
    group.finish();

    // The content id is computed on first use; this is what that first use costs.
    let mut group = c.benchmark_group("content_id_1mb");
    group.sample_size(30);
    group.bench_function("flagcore", |b| {
        // The snapshot is returned, so that freeing it is not timed.
        b.iter_batched(
            || Snapshot::from_json(text.as_bytes()).ok(),
            |snapshot| {
                if let Some(snapshot) = &snapshot {
                    black_box(snapshot.id());
                }
                snapshot
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("context_from_json");
    let raw: Value = context_json();
    group.bench_function("flagcore", |b| {
        b.iter(|| Context::from_value(black_box(&raw)).map(|c| c.is_multi()))
    });
    group.finish();
}

criterion_group! {
    name = all;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(all);
