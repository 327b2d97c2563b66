//! `flagcore rollout`: how a flag's variations split over contexts from a
//! file, or synthetic ones.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufRead};
use std::path::Path;
use std::process::ExitCode;

use flagcore::{Context, Snapshot, ValueType};
use serde_json::{json, Value};

use crate::{Failure, Outcome, RolloutArgs};

/// Contexts for a rollout preview, one at a time.
pub(crate) enum Contexts {
    Synthetic {
        kind: String,
        next: u64,
        count: u64,
    },
    File {
        lines: io::Lines<io::BufReader<fs::File>>,
        number: u64,
    },
}

impl Iterator for Contexts {
    type Item = Result<Value, Failure>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Contexts::Synthetic { kind, next, count } => {
                if next >= count {
                    return None;
                }
                let context = json!({"kind": kind, "key": format!("synthetic-{next}")});
                *next += 1;
                Some(Ok(context))
            }
            Contexts::File { lines, number } => loop {
                let line = match lines.next()? {
                    Ok(line) => line,
                    Err(e) => return Some(Err(Failure(format!("cannot read the contexts: {e}")))),
                };
                *number += 1;
                if line.trim().is_empty() {
                    continue;
                }
                return Some(
                    serde_json::from_str(&line)
                        .map_err(|e| Failure(format!("contexts line {number} is not JSON: {e}"))),
                );
            },
        }
    }
}

/// Contexts from a file of JSON lines, or `synthetic` ones of `kind`, and
/// how to name them.
pub(crate) fn contexts(
    file: Option<&Path>,
    synthetic: u64,
    kind: &str,
) -> Result<(Contexts, String), Failure> {
    Ok(match file {
        Some(path) => {
            let file = fs::File::open(path)
                .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
            let lines = io::BufReader::new(file).lines();
            (
                Contexts::File { lines, number: 0 },
                format!("contexts from {}", path.display()),
            )
        }
        None => {
            Context::new(kind, "k").map_err(|e| Failure(format!("--kind: {e}")))?;
            let contexts = Contexts::Synthetic {
                kind: kind.to_owned(),
                next: 0,
                count: synthetic,
            };
            (contexts, format!("synthetic {kind} contexts"))
        }
    })
}

/// The most contexts `diff` and an edit's preview evaluate.
pub(crate) const MAX_PREVIEW_CONTEXTS: usize = 1_000_000;

/// As [`contexts`], each read as a context: a line that is not one stops
/// with its number.
pub(crate) fn read_contexts(
    file: Option<&Path>,
    synthetic: u64,
    kind: &str,
) -> Result<(Vec<Context>, String), Failure> {
    if file.is_none() && synthetic > MAX_PREVIEW_CONTEXTS as u64 {
        return Err(Failure(format!(
            "--synthetic {synthetic}: a preview evaluates at most {MAX_PREVIEW_CONTEXTS} contexts"
        )));
    }
    let (contexts, described) = contexts(file, synthetic, kind)?;
    let mut out = Vec::new();
    for (n, value) in contexts.enumerate() {
        if n >= MAX_PREVIEW_CONTEXTS {
            return Err(Failure(format!(
                "a preview evaluates at most {MAX_PREVIEW_CONTEXTS} contexts: sample them"
            )));
        }
        let value = value?;
        out.push(
            Context::from_value(&value)
                .map_err(|e| Failure(format!("context {} is not a context: {e}", n + 1)))?,
        );
    }
    Ok((out, described))
}

pub(crate) fn rollout(args: &RolloutArgs) -> Outcome {
    let (snapshot, from) = args.source.load()?;
    if !snapshot.flag_keys().iter().any(|k| k == &args.flag) {
        return Err(Failure(format!("flag {:?} is not in {from}", args.flag)));
    }
    let (contexts, described) = contexts(args.contexts.as_deref(), args.synthetic, &args.kind)?;
    let mut by_variation: BTreeMap<usize, u64> = BTreeMap::new();
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    let (mut total, mut no_value) = (0u64, 0u64);
    for context in contexts {
        let context = context?;
        let detail =
            snapshot.variation_detail_json(&args.flag, &context, &Value::Null, ValueType::Any);
        total += 1;
        match detail.variation_index {
            Some(index) => *by_variation.entry(index).or_default() += 1,
            None => no_value += 1,
        }
        let reason = match detail.reason.error_kind() {
            Some(kind) => format!("ERROR/{}", kind.as_str()),
            None => detail.reason.kind_str().to_owned(),
        };
        *by_reason.entry(reason).or_default() += 1;
    }
    let variations = variation_values(&snapshot, &args.flag);
    let share = |count: u64| {
        if total == 0 {
            0.0
        } else {
            count as f64 * 100.0 / total as f64
        }
    };
    if args.json {
        let rows: Vec<Value> = variations
            .iter()
            .enumerate()
            .map(|(index, value)| {
                let count = by_variation.get(&index).copied().unwrap_or(0);
                json!({"variation": index, "value": value, "contexts": count, "share": share(count)})
            })
            .collect();
        let report = json!({
            "flag": args.flag, "snapshot": snapshot.id(), "contexts": total,
            "variations": rows, "noVariation": no_value, "reasons": by_reason,
        });
        println!("{report}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "flag {} · snapshot {} · {total} {described}",
        args.flag,
        snapshot.id()
    );
    println!();
    let values: Vec<String> = variations
        .iter()
        .map(|v| truncate(&v.to_string(), 40))
        .collect();
    let width = values
        .iter()
        .map(|v| v.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "{:<9}  {:<width$}  {:>10}  {:>8}",
        "variation", "value", "contexts", "share"
    );
    for (index, value) in values.iter().enumerate() {
        let count = by_variation.get(&index).copied().unwrap_or(0);
        println!(
            "{index:<9}  {value:<width$}  {count:>10}  {:>7.2}%",
            share(count)
        );
    }
    if no_value > 0 {
        println!(
            "{:<9}  {:<width$}  {no_value:>10}  {:>7.2}%",
            "-",
            "(default)",
            share(no_value)
        );
    }
    println!();
    let reasons: Vec<String> = by_reason
        .iter()
        .map(|(reason, count)| format!("{reason} {count}"))
        .collect();
    println!("reasons: {}", reasons.join(", "));
    Ok(ExitCode::SUCCESS)
}

fn variation_values(snapshot: &Snapshot, flag: &str) -> Vec<Value> {
    snapshot
        .variations(flag)
        .map(<[Value]>::to_vec)
        .unwrap_or_default()
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}
