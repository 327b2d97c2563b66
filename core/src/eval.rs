//! Flag evaluation (§5 of the evaluation spec): off, prerequisites, targets,
//! rules, fallthrough. Total: every problem in the flag data becomes a reason.

use serde_json::Value;

use crate::context::Context;
use crate::model::Op;
use crate::model::{Clause, Flag, FlagRule, Rollout};
use crate::reason::{BigSegmentsStatus, ErrorKind, Reason, ReasonKind};
use crate::snapshot::Snapshot;

pub(crate) use crate::model::MAX_DEPTH;

/// How many prerequisite and segment evaluations one flag evaluation may
/// make. Acyclic data can still fan out exponentially (each flag requiring
/// the next two twice over); past this budget it is `MALFORMED_FLAG`.
pub(crate) const MAX_STEPS: usize = 10_000;

/// A flag's raw result, before the caller's default is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation<'a> {
    /// The variation's value; `None` when the flag gave none (off with no
    /// off variation, a failed prerequisite with none, or an error).
    pub value: Option<&'a Value>,
    /// The variation's index, when there is a value.
    pub variation_index: Option<usize>,
    /// Why.
    pub reason: Reason<'a>,
}

impl<'a> Evaluation<'a> {
    pub(crate) fn error(kind: ErrorKind) -> Self {
        Evaluation {
            value: None,
            variation_index: None,
            reason: Reason::error(kind),
        }
    }
}

/// The data is malformed in a way that stops the whole evaluation: a
/// prerequisite or segment cycle, a bad clause, or a budget overrun.
pub(crate) struct Abort;

/// A flag's result inside the evaluation, where prerequisites need to tell
/// "no value" apart from "malformed".
enum Outcome<'a> {
    Variation(usize, Reason<'a>),
    NoValue(Reason<'a>),
    Malformed,
}

pub(crate) struct Evaluator<'a, 'c> {
    pub(crate) snapshot: &'a Snapshot,
    pub(crate) context: &'c Context,
    pub(crate) big_segments: Option<BigSegmentsStatus>,
    steps: usize,
}

/// Evaluates `flag` for `context`.
pub(crate) fn evaluate<'a>(
    snapshot: &'a Snapshot,
    flag: &'a Flag,
    context: &Context,
) -> Evaluation<'a> {
    let mut evaluator = Evaluator {
        snapshot,
        context,
        big_segments: None,
        steps: 0,
    };
    let mut chain = Vec::new();
    let mut result = match evaluator.flag(flag, &mut chain) {
        Ok(Outcome::Variation(index, reason)) => Evaluation {
            value: flag.variations.get(index),
            variation_index: Some(index),
            reason,
        },
        Ok(Outcome::NoValue(reason)) => Evaluation {
            value: None,
            variation_index: None,
            reason,
        },
        Ok(Outcome::Malformed) | Err(Abort) => Evaluation::error(ErrorKind::MalformedFlag),
    };
    result.reason.big_segments_status = evaluator.big_segments;
    result
}

impl<'a> Evaluator<'a, '_> {
    /// Counts one nested evaluation against the budget.
    pub(crate) fn step(&mut self) -> Result<(), Abort> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(Abort);
        }
        Ok(())
    }

    fn flag(&mut self, flag: &'a Flag, chain: &mut Vec<&'a str>) -> Result<Outcome<'a>, Abort> {
        if !flag.on {
            return Ok(off(flag, Reason::new(ReasonKind::Off)));
        }
        if !flag.prerequisites.is_empty() {
            if chain.len() >= MAX_DEPTH {
                return Err(Abort);
            }
            chain.push(&flag.key);
            let failed = self.prerequisites(flag, chain);
            chain.pop();
            if let Some(prerequisite_key) = failed? {
                return Ok(off(
                    flag,
                    Reason::new(ReasonKind::PrerequisiteFailed { prerequisite_key }),
                ));
            }
        }
        if let Some(outcome) = self.targets(flag) {
            return Ok(outcome);
        }
        for (rule_index, rule) in flag.rules.iter().enumerate() {
            if self.rule_matches(rule)? {
                let kind = ReasonKind::RuleMatch {
                    rule_index,
                    rule_id: &rule.id,
                };
                return Ok(self.variation_or_rollout(
                    flag,
                    rule.variation,
                    rule.rollout.as_ref(),
                    kind,
                ));
            }
        }
        let fallthrough = &flag.fallthrough;
        Ok(self.variation_or_rollout(
            flag,
            fallthrough.variation,
            fallthrough.rollout.as_ref(),
            ReasonKind::Fallthrough,
        ))
    }

    /// The key of the first prerequisite that is not met, if any.
    fn prerequisites(
        &mut self,
        flag: &'a Flag,
        chain: &mut Vec<&'a str>,
    ) -> Result<Option<&'a str>, Abort> {
        for prerequisite in &flag.prerequisites {
            self.step()?;
            let key = prerequisite.key.as_str();
            let Some(required) = self.snapshot.flag(key) else {
                return Ok(Some(key));
            };
            if chain.contains(&key) {
                return Err(Abort);
            }
            let met = match self.flag(required, chain)? {
                Outcome::Variation(index, _) => {
                    required.on && i64::try_from(index).ok() == Some(prerequisite.variation)
                }
                Outcome::NoValue(_) | Outcome::Malformed => false,
            };
            if !met {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }

    /// Individual targeting (§5.3).
    fn targets(&self, flag: &'a Flag) -> Option<Outcome<'a>> {
        let user = self.context.individual("user");
        let target_match = || Reason::new(ReasonKind::TargetMatch);
        if flag.context_targets.is_empty() {
            let user = user?;
            let hit = flag
                .targets
                .iter()
                .find(|t| t.values.contains(user.key()))?;
            return Some(fixed(flag, hit.variation, target_match()));
        }
        for target in &flag.context_targets {
            let kind = target
                .context_kind
                .as_deref()
                .filter(|k| !k.is_empty())
                .unwrap_or("user");
            let hit = if kind == "user" && target.values.is_empty() {
                // A placeholder: the user keys live in `targets`, same variation.
                user.zip(
                    flag.targets
                        .iter()
                        .find(|t| t.variation == target.variation),
                )
                .is_some_and(|(user, t)| t.values.contains(user.key()))
            } else {
                self.context
                    .individual(kind)
                    .is_some_and(|c| target.values.contains(c.key()))
            };
            if hit {
                return Some(fixed(flag, target.variation, target_match()));
            }
        }
        None
    }

    fn rule_matches(&mut self, rule: &'a FlagRule) -> Result<bool, Abort> {
        let mut segment_chain = Vec::new();
        for clause in &rule.clauses {
            segment_chain.clear();
            if !self.clause_matches(clause, &mut segment_chain)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// One clause (§6); `segment_chain` holds the segments on the current
    /// path, for cycle detection.
    pub(crate) fn clause_matches(
        &mut self,
        clause: &'a Clause,
        segment_chain: &mut Vec<&'a str>,
    ) -> Result<bool, Abort> {
        let prepared = &clause.prepared;
        if prepared.op == Op::SegmentMatch {
            for key in clause.values.iter().filter_map(Value::as_str) {
                if let Some(segment) = self.snapshot.segment(key) {
                    if self.segment_contains(segment, segment_chain)? {
                        return Ok(!clause.negate);
                    }
                }
            }
            return Ok(clause.negate);
        }
        let attr = prepared.attr.as_ref().ok_or(Abort)?;
        if prepared.attr_is_kind {
            let hit = self
                .context
                .parts()
                .iter()
                .any(|part| clause.matches_value(part.kind_value()));
            return Ok(hit != clause.negate);
        }
        let kind = clause
            .context_kind
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or("user");
        // A missing kind or attribute is a non-match whatever `negate` says.
        let Some(individual) = self.context.individual(kind) else {
            return Ok(false);
        };
        let hit = match individual.get(attr) {
            None | Some(Value::Null) => return Ok(false),
            Some(Value::Array(items)) => items.iter().any(|item| clause.matches_value(item)),
            Some(value) => clause.matches_value(value),
        };
        Ok(hit != clause.negate)
    }

    /// A rule's or the fallthrough's variation, or its rollout's pick (§7).
    fn variation_or_rollout(
        &self,
        flag: &'a Flag,
        variation: Option<i64>,
        rollout: Option<&'a Rollout>,
        kind: ReasonKind<'a>,
    ) -> Outcome<'a> {
        if let Some(variation) = variation {
            return fixed(flag, variation, Reason::new(kind));
        }
        let Some(rollout) = rollout.filter(|r| !r.variations.is_empty()) else {
            return Outcome::Malformed;
        };
        let Ok(bucket) = rollout.bucketer.bucket(self.context) else {
            return Outcome::Malformed;
        };
        let mut sum = 0.0;
        // Past the end of the weights (they need not add up): the last one.
        let mut chosen = rollout.variations.last();
        for weighted in &rollout.variations {
            sum += weighted.weight as f64 / 100_000.0;
            if bucket.value < sum {
                chosen = Some(weighted);
                break;
            }
        }
        let Some(chosen) = chosen else {
            return Outcome::Malformed;
        };
        let mut reason = Reason::new(kind);
        reason.in_experiment = rollout.is_experiment() && !chosen.untracked && !bucket.missing_kind;
        fixed(flag, chosen.variation, reason)
    }
}

/// `variations[index]`, or `MALFORMED_FLAG` for an index out of range.
fn fixed<'a>(flag: &Flag, index: i64, reason: Reason<'a>) -> Outcome<'a> {
    match usize::try_from(index) {
        Ok(i) if i < flag.variations.len() => Outcome::Variation(i, reason),
        _ => Outcome::Malformed,
    }
}

/// The off variation, or no value when there is none.
fn off<'a>(flag: &Flag, reason: Reason<'a>) -> Outcome<'a> {
    match flag.off_variation {
        Some(index) => fixed(flag, index, reason),
        None => Outcome::NoValue(reason),
    }
}
