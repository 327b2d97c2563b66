//! `Snapshot::check`: what a person would want to know before shipping a
//! snapshot. Evaluation tolerates all of these (they become reasons or
//! non-matches); this finds them ahead of time.

use std::collections::HashMap;

use regex_lite::Regex;
use serde::Serialize;
use serde_json::Value;

use crate::error::JsonPath;
use crate::model::Bucketer;
use crate::model::Op;
use crate::model::{Clause, Flag, Rollout, Segment};
use crate::semver::SemVer;
use crate::snapshot::Snapshot;
use crate::time;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look; evaluation is as the data says.
    Warning,
    /// Evaluation gives `MALFORMED_FLAG`, or silently never matches.
    Error,
}

/// One finding of [`Snapshot::check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// A stable code, e.g. `UNKNOWN_PREREQUISITE`.
    pub code: &'static str,
    /// Where, as a path into the polling form of the snapshot
    /// (`$.flags.<key>...`), whatever format it was read from.
    pub path: String,
    /// What, for a person.
    pub message: String,
}

struct Checker<'a> {
    snapshot: &'a Snapshot,
    problems: Vec<Problem>,
}

impl Snapshot {
    /// The problems of how the snapshot was stored, not of its flags (items
    /// without data, a missing `$inited` marker, other namespaces): cheap,
    /// for a client to report at every refresh.
    pub fn source_problems(&self) -> Vec<Problem> {
        let mut checker = Checker {
            snapshot: self,
            problems: Vec::new(),
        };
        checker.source();
        let mut problems = checker.problems;
        problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
        problems
    }

    /// Lists the problems of this snapshot, errors first.
    pub fn check(&self) -> Vec<Problem> {
        let mut checker = Checker {
            snapshot: self,
            problems: Vec::new(),
        };
        let root = JsonPath::root();
        for flag in self.flags_sorted() {
            checker.flag(flag, &root.key("flags").key(&flag.key));
        }
        for segment in self.segments_sorted() {
            checker.segment(segment, &root.key("segments").key(&segment.key));
        }
        checker.cycles();
        checker.source();
        let mut problems = checker.problems;
        problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
        problems
    }
}

impl Checker<'_> {
    fn report(&mut self, severity: Severity, code: &'static str, path: &JsonPath, message: String) {
        self.problems.push(Problem {
            severity,
            code,
            path: path.as_str().to_owned(),
            message,
        });
    }

    fn variation(&mut self, flag: &Flag, index: i64, path: &JsonPath) {
        let count = flag.variations.len();
        if usize::try_from(index).map_or(true, |i| i >= count) {
            self.report(
                Severity::Error,
                "VARIATION_OUT_OF_RANGE",
                path,
                format!("variation {index} does not exist: the flag has {count} variation(s)"),
            );
        }
    }

    fn flag(&mut self, flag: &Flag, path: &JsonPath) {
        if let Some(off) = flag.off_variation {
            self.variation(flag, off, &path.key("offVariation"));
        }
        for (i, prerequisite) in flag.prerequisites.iter().enumerate() {
            let at = path.key("prerequisites").index(i);
            match self.snapshot.flag(&prerequisite.key) {
                None => self.report(
                    Severity::Error,
                    "UNKNOWN_PREREQUISITE",
                    &at.key("key"),
                    format!(
                        "prerequisite flag {:?} is not in the snapshot; the flag always fails it",
                        prerequisite.key
                    ),
                ),
                Some(required) => {
                    self.variation(required, prerequisite.variation, &at.key("variation"))
                }
            }
        }
        for (name, targets) in [
            ("targets", &flag.targets),
            ("contextTargets", &flag.context_targets),
        ] {
            for (i, target) in targets.iter().enumerate() {
                self.variation(
                    flag,
                    target.variation,
                    &path.key(name).index(i).key("variation"),
                );
            }
        }
        for (i, rule) in flag.rules.iter().enumerate() {
            let at = path.key("rules").index(i);
            for (j, clause) in rule.clauses.iter().enumerate() {
                self.clause(clause, &at.key("clauses").index(j));
            }
            self.variation_or_rollout(flag, rule.variation, rule.rollout.as_ref(), &at);
        }
        let fallthrough = &flag.fallthrough;
        self.variation_or_rollout(
            flag,
            fallthrough.variation,
            fallthrough.rollout.as_ref(),
            &path.key("fallthrough"),
        );
    }

    fn variation_or_rollout(
        &mut self,
        flag: &Flag,
        variation: Option<i64>,
        rollout: Option<&Rollout>,
        path: &JsonPath,
    ) {
        if let Some(variation) = variation {
            self.variation(flag, variation, &path.key("variation"));
            return;
        }
        let Some(rollout) = rollout.filter(|r| !r.variations.is_empty()) else {
            self.report(
                Severity::Error,
                "NO_VARIATION_OR_ROLLOUT",
                path,
                "neither a variation nor a rollout with variations: evaluation gives MALFORMED_FLAG".to_owned(),
            );
            return;
        };
        let at = path.key("rollout");
        let mut total: i64 = 0;
        for (i, weighted) in rollout.variations.iter().enumerate() {
            self.variation(
                flag,
                weighted.variation,
                &at.key("variations").index(i).key("variation"),
            );
            total = total.saturating_add(weighted.weight);
        }
        if total != 100_000 {
            self.report(
                Severity::Error,
                "ROLLOUT_WEIGHTS",
                &at.key("variations"),
                format!(
                    "weights add up to {total}, not 100000 ({:.3}%): contexts past the end get the last variation",
                    total as f64 / 1000.0
                ),
            );
        }
        self.bucket_by(&rollout.bucketer, rollout.bucket_by.as_deref(), &at);
    }

    fn bucket_by(&mut self, bucketer: &Bucketer, bucket_by: Option<&str>, path: &JsonPath) {
        if !bucketer.is_valid() {
            self.report(
                Severity::Error,
                "INVALID_ATTRIBUTE_REFERENCE",
                &path.key("bucketBy"),
                format!(
                    "bucketBy {:?} is not a valid attribute reference",
                    bucket_by.unwrap_or_default()
                ),
            );
        }
    }

    fn clause(&mut self, clause: &Clause, path: &JsonPath) {
        let prepared = &clause.prepared;
        match prepared.op {
            Op::SegmentMatch => {
                for (i, value) in clause.values.iter().enumerate() {
                    let known = value
                        .as_str()
                        .is_some_and(|key| self.snapshot.segment(key).is_some());
                    if !known {
                        self.report(
                            Severity::Error,
                            "UNKNOWN_SEGMENT",
                            &path.key("values").index(i),
                            format!("segment {value} is not in the snapshot; it matches nobody"),
                        );
                    }
                }
                return;
            }
            Op::Unknown => self.report(
                Severity::Warning,
                "UNKNOWN_OPERATOR",
                &path.key("op"),
                format!(
                    "operator {:?} is unknown; the clause never matches",
                    clause.op
                ),
            ),
            Op::Matches => {
                for (i, value) in clause.values.iter().enumerate() {
                    if let Some(Err(e)) = value.as_str().map(Regex::new) {
                        self.report(
                            Severity::Error,
                            "INVALID_REGEX",
                            &path.key("values").index(i),
                            format!("{value} is not a valid regular expression: {e}"),
                        );
                    }
                }
            }
            Op::SemVerEqual | Op::SemVerLessThan | Op::SemVerGreaterThan => {
                self.values(clause, path, "INVALID_SEMVER", "a semantic version", |v| {
                    v.as_str().and_then(SemVer::parse).is_some()
                });
            }
            Op::Before | Op::After => {
                self.values(clause, path, "INVALID_DATE", "a date", |v| {
                    time::millis(v).is_some()
                });
            }
            _ => {}
        }
        if prepared.attr.is_none() {
            self.report(
                Severity::Error,
                "INVALID_ATTRIBUTE_REFERENCE",
                &path.key("attribute"),
                format!(
                    "attribute {:?} is missing or not a valid reference: evaluation gives MALFORMED_FLAG",
                    clause.attribute.as_deref().unwrap_or_default()
                ),
            );
        }
    }

    fn values(
        &mut self,
        clause: &Clause,
        path: &JsonPath,
        code: &'static str,
        what: &str,
        valid: impl Fn(&Value) -> bool,
    ) {
        for (i, value) in clause.values.iter().enumerate() {
            if !valid(value) {
                self.report(
                    Severity::Warning,
                    code,
                    &path.key("values").index(i),
                    format!("{value} is not {what}; it never matches"),
                );
            }
        }
    }

    fn segment(&mut self, segment: &Segment, path: &JsonPath) {
        if segment.unbounded {
            self.report(
                Severity::Warning,
                "BIG_SEGMENT",
                path,
                "a big segment: snapshots carry no big-segment membership, so only its rules apply \
                 and reasons say bigSegmentsStatus NOT_CONFIGURED"
                    .to_owned(),
            );
        }
        for (i, rule) in segment.rules.iter().enumerate() {
            let at = path.key("rules").index(i);
            for (j, clause) in rule.clauses.iter().enumerate() {
                self.clause(clause, &at.key("clauses").index(j));
            }
            if let Some(weight) = rule.weight {
                if !(0..=100_000).contains(&weight) {
                    self.report(
                        Severity::Warning,
                        "SEGMENT_WEIGHT",
                        &at.key("weight"),
                        format!("weight {weight} is outside 0..100000"),
                    );
                }
                self.bucket_by(&rule.bucketer, rule.bucket_by.as_deref(), &at);
            }
        }
    }

    /// Prerequisite cycles and segment cycles, each reported once.
    fn cycles(&mut self) {
        let snapshot = self.snapshot;
        let flag_edges: Vec<(&str, Vec<&str>)> = snapshot
            .flags_sorted()
            .map(|f| {
                (
                    f.key.as_str(),
                    f.prerequisites.iter().map(|p| p.key.as_str()).collect(),
                )
            })
            .collect();
        for cycle in find_cycles(&flag_edges) {
            let path = JsonPath::root()
                .key("flags")
                .key(cycle[0])
                .key("prerequisites");
            self.report(
                Severity::Error,
                "PREREQUISITE_CYCLE",
                &path,
                format!("prerequisites form a cycle: {}", cycle.join(" -> ")),
            );
        }
        let segment_edges: Vec<(&str, Vec<&str>)> = snapshot
            .segments_sorted()
            .map(|s| {
                let referenced = s
                    .rules
                    .iter()
                    .flat_map(|r| &r.clauses)
                    .filter(|c| c.prepared.op == Op::SegmentMatch)
                    .flat_map(|c| c.values.iter().filter_map(Value::as_str))
                    .collect();
                (s.key.as_str(), referenced)
            })
            .collect();
        for cycle in find_cycles(&segment_edges) {
            let path = JsonPath::root().key("segments").key(cycle[0]).key("rules");
            self.report(
                Severity::Error,
                "SEGMENT_CYCLE",
                &path,
                format!(
                    "segments refer to each other in a cycle: {}",
                    cycle.join(" -> ")
                ),
            );
        }
    }

    fn source(&mut self) {
        let source = self.snapshot.source();
        if source.store_initialized == Some(false) {
            self.report(
                Severity::Warning,
                "STORE_NOT_INITIALIZED",
                &JsonPath::root(),
                "no $inited item: the Relay Proxy may not have finished writing this table (flagcore evaluates it anyway, as daemon-mode SDKs do)".to_owned(),
            );
        }
        if !source.items_without_data.is_empty() {
            self.report(
                Severity::Error,
                "DYNAMODB_ITEM_WITHOUT_DATA",
                &JsonPath::root(),
                format!(
                    "items with no \"item\" attribute, read as deleted: {}",
                    source.items_without_data.join(", ")
                ),
            );
        }
        if !source.skipped_namespaces.is_empty() {
            self.report(
                Severity::Warning,
                "OTHER_NAMESPACES",
                &JsonPath::root(),
                format!(
                    "skipped items of other namespaces: {} (is a --prefix needed?)",
                    source.skipped_namespaces.join(", ")
                ),
            );
        }
    }
}

/// Cycles in a directed graph, each as the list of nodes from the first one
/// met, closing back on it. Iterative, so deep chains cannot overflow.
fn find_cycles<'a>(edges: &[(&'a str, Vec<&'a str>)]) -> Vec<Vec<&'a str>> {
    let index: HashMap<&str, usize> = edges
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (*k, i))
        .collect();
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; edges.len()];
    let mut cycles = Vec::new();
    for start in 0..edges.len() {
        if state.get(start) != Some(&0) {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        if let Some(s) = state.get_mut(start) {
            *s = 1;
        }
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let targets = edges
                .get(node)
                .map(|(_, t)| t.as_slice())
                .unwrap_or_default();
            if let Some(target) = targets.get(*next) {
                *next += 1;
                let Some(&t) = index.get(target) else {
                    continue;
                };
                match state.get(t) {
                    Some(0) => {
                        if let Some(s) = state.get_mut(t) {
                            *s = 1;
                        }
                        stack.push((t, 0));
                    }
                    Some(1) => {
                        let from = stack.iter().position(|&(n, _)| n == t).unwrap_or(0);
                        let mut cycle: Vec<&str> = stack
                            .get(from..)
                            .unwrap_or_default()
                            .iter()
                            .filter_map(|&(n, _)| edges.get(n).map(|e| e.0))
                            .collect();
                        cycle.push(edges.get(t).map_or("", |e| e.0));
                        cycles.push(cycle);
                    }
                    _ => {}
                }
            } else {
                if let Some(s) = state.get_mut(node) {
                    *s = 2;
                }
                stack.pop();
            }
        }
    }
    cycles
}
