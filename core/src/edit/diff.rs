//! What changes between two snapshots, for a person deciding whether to
//! publish the second: flags added, removed and changed, and for each
//! changed flag how many of the contexts given move from which value to
//! which. Only flags that differ are listed: a flag whose definition is the
//! same in both (but for its version) and that moves no context is left out.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::context::Context;
use crate::snapshot::Snapshot;

/// What happened to a flag between the two snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagChange {
    /// Only in the second.
    Added,
    /// Only in the first.
    Removed,
    /// In both, defined differently, or answering some context differently
    /// (a segment or a prerequisite changed).
    Changed,
}

impl FlagChange {
    /// `added`, `removed` or `changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagChange::Added => "added",
            FlagChange::Removed => "removed",
            FlagChange::Changed => "changed",
        }
    }
}

/// Contexts that one flag answers with `from` in the first snapshot and `to`
/// in the second; `None` where the flag gives no value (the caller's default).
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    /// The first snapshot's answer.
    pub from: Option<Value>,
    /// The second's.
    pub to: Option<Value>,
    /// How many contexts.
    pub contexts: u64,
}

/// One flag that differs.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagDiff {
    /// The flag's key.
    pub key: String,
    /// What happened to it.
    pub change: FlagChange,
    /// The contexts that moved, most first; none for a flag added or removed.
    pub moves: Vec<Move>,
}

/// Every flag that differs between `a` and `b`, by key, with the moves of
/// `contexts` (each evaluated once per snapshot for each flag that may
/// have moved it).
pub fn diff(a: &Snapshot, b: &Snapshot, contexts: &[Context]) -> Vec<FlagDiff> {
    let mut keys: Vec<&String> = a.flag_keys().iter().chain(b.flag_keys()).collect();
    keys.sort();
    keys.dedup();
    let defined_alike = |key: &str| match (a.flag(key), b.flag(key)) {
        (Some(x), Some(y)) => without_version(x) == without_version(y),
        _ => false,
    };
    // A flag defined alike in both moves a context only through what it
    // looks up: a segment, or a prerequisite that changed. Only those are
    // evaluated, so that a large snapshot's one-flag edit previews fast.
    let segments_alike = a
        .segments_sorted()
        .map(without_version)
        .eq(b.segments_sorted().map(without_version));
    let any_flag_changed = keys.iter().any(|key| !defined_alike(key));
    let mut out = Vec::new();
    for key in keys {
        let (before, after) = (a.flag(key), b.flag(key));
        let change = match (before, after) {
            (None, Some(_)) => FlagChange::Added,
            (Some(_), None) => FlagChange::Removed,
            _ => FlagChange::Changed,
        };
        let alike = defined_alike(key);
        let may_move = !alike
            || !segments_alike
            || (any_flag_changed && before.is_some_and(|flag| !flag.prerequisites.is_empty()));
        if change == FlagChange::Changed && !may_move {
            continue;
        }
        let mut moves = Vec::new();
        if change == FlagChange::Changed {
            let mut counts: BTreeMap<(String, String), Move> = BTreeMap::new();
            for context in contexts {
                let from = a.evaluate(key, context).value.cloned();
                let to = b.evaluate(key, context).value.cloned();
                if from != to {
                    let slot = (text(&from), text(&to));
                    counts
                        .entry(slot)
                        .or_insert(Move {
                            from,
                            to,
                            contexts: 0,
                        })
                        .contexts += 1;
                }
            }
            moves = counts.into_values().collect();
            moves.sort_by_key(|m| std::cmp::Reverse(m.contexts));
            if moves.is_empty() && alike {
                continue;
            }
        }
        out.push(FlagDiff {
            key: key.clone(),
            change,
            moves,
        });
    }
    out
}

fn text(value: &Option<Value>) -> String {
    value.as_ref().map_or_else(String::new, Value::to_string)
}

fn without_version<T: serde::Serialize>(flag: &T) -> Value {
    let mut value = serde_json::to_value(flag).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.remove("version");
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::{apply, Change};
    use serde_json::json;

    fn users(n: usize) -> Vec<Context> {
        (0..n)
            .map(|i| Context::from_value(&json!({"kind": "user", "key": format!("u{i}")})).unwrap())
            .collect()
    }

    fn rollout(snapshot: &Snapshot, percent: u32) -> Snapshot {
        let weights = vec![percent * 1000, 100_000 - percent * 1000];
        let change = Change::Rollout {
            key: "canary".into(),
            weights,
        };
        apply(snapshot, &change).unwrap()
    }

    #[test]
    fn raising_a_rollout_moves_contexts_one_way_only() {
        let empty = Snapshot::from_json(br#"{"flags": {}}"#).unwrap();
        let created = apply(
            &empty,
            &Change::Create {
                key: "canary".into(),
                variations: None,
            },
        )
        .unwrap();
        let on = apply(
            &created,
            &Change::On {
                key: "canary".into(),
            },
        )
        .unwrap();
        let (one, ten) = (rollout(&on, 1), rollout(&on, 10));
        let contexts = users(10_000);
        let found = diff(&one, &ten, &contexts);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].change, FlagChange::Changed);
        let [only] = found[0].moves.as_slice() else {
            panic!("{:?}", found[0].moves)
        };
        assert_eq!(
            (&only.from, &only.to),
            (&Some(json!(false)), &Some(json!(true)))
        );
        assert!((800..1000).contains(&only.contexts), "{}", only.contexts);
        // And back: the same contexts, the other way.
        let back = diff(&ten, &one, &contexts);
        assert_eq!(back[0].moves[0].contexts, only.contexts);
        assert_eq!(back[0].moves[0].from, Some(json!(true)));
        // Alike but for the version: not listed.
        assert!(diff(&ten, &rollout(&ten, 10), &contexts).is_empty());
        // A flag defined alike whose segment changed: listed, with its moves.
        let segment = |included: &str| {
            let text = json!({"flags": {"beta": {"key": "beta", "on": true, "variations": [false, true],
                "offVariation": 0, "fallthrough": {"variation": 0},
                "rules": [{"id": "r", "variation": 1, "clauses": [{"attribute": "segmentMatch", "op": "segmentMatch", "values": ["testers"]}]}]}},
                "segments": {"testers": {"key": "testers", "included": [included]}}});
            Snapshot::from_json(text.to_string().as_bytes()).unwrap()
        };
        let moved = diff(&segment("u1"), &segment("u2"), &contexts);
        assert_eq!(moved.len(), 1);
        assert_eq!(moved[0].moves.len(), 2, "{:?}", moved[0].moves);
        // Added and removed.
        let added = diff(&empty, &on, &contexts);
        assert_eq!(
            (added[0].change, added[0].moves.len()),
            (FlagChange::Added, 0)
        );
        assert_eq!(diff(&on, &empty, &contexts)[0].change, FlagChange::Removed);
    }
}
