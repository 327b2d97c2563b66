//! Segment membership (§9 of the evaluation spec).

use crate::eval::{Abort, Evaluator, MAX_DEPTH};
use crate::keyset::KeyList;
use crate::model::{Segment, SegmentRule, SegmentTarget};
use crate::reason::BigSegmentsStatus;

impl<'a> Evaluator<'a, '_> {
    /// Whether the context is in `segment`. `chain` holds the segments on the
    /// current path: meeting one again is a cycle, and the flag is malformed.
    pub(crate) fn segment_contains(
        &mut self,
        segment: &'a Segment,
        chain: &mut Vec<&'a str>,
    ) -> Result<bool, Abort> {
        if chain.contains(&segment.key.as_str()) || chain.len() >= MAX_DEPTH {
            return Err(Abort);
        }
        self.step()?;
        if segment.unbounded {
            // Big segments keep membership in a store that snapshots do not
            // carry: report NOT_CONFIGURED and fall through to the rules, as
            // LaunchDarkly's SDKs do with no store configured.
            let kind = segment
                .unbounded_context_kind
                .as_deref()
                .filter(|k| !k.is_empty())
                .unwrap_or("user");
            if self.context.individual(kind).is_none() {
                return Ok(false);
            }
            self.big_segments = Some(BigSegmentsStatus::NotConfigured);
            if segment.generation.is_none() {
                return Ok(false);
            }
        } else {
            // Inclusion beats exclusion.
            if self.listed(&segment.included, &segment.included_contexts) {
                return Ok(true);
            }
            if self.listed(&segment.excluded, &segment.excluded_contexts) {
                return Ok(false);
            }
        }
        chain.push(&segment.key);
        let mut result = Ok(false);
        for rule in &segment.rules {
            match self.segment_rule_matches(rule, chain) {
                Ok(false) => continue,
                other => {
                    result = other;
                    break;
                }
            }
        }
        chain.pop();
        result
    }

    /// `keys` apply to the user kind (also inside a multi-kind context);
    /// `targets` name their kinds.
    fn listed(&self, keys: &KeyList, targets: &[SegmentTarget]) -> bool {
        let by_user = self
            .context
            .individual("user")
            .is_some_and(|user| keys.contains(user.key()));
        by_user
            || targets.iter().any(|target| {
                let kind = target
                    .context_kind
                    .as_deref()
                    .filter(|k| !k.is_empty())
                    .unwrap_or("user");
                self.context
                    .individual(kind)
                    .is_some_and(|c| target.values.contains(c.key()))
            })
    }

    fn segment_rule_matches(
        &mut self,
        rule: &'a SegmentRule,
        chain: &mut Vec<&'a str>,
    ) -> Result<bool, Abort> {
        for clause in &rule.clauses {
            let depth = chain.len();
            let matched = self.clause_matches(clause, chain)?;
            chain.truncate(depth);
            if !matched {
                return Ok(false);
            }
        }
        let Some(weight) = rule.weight else {
            return Ok(true);
        };
        let bucket = rule.bucketer.bucket(self.context).map_err(|_| Abort)?;
        // A context without the rule's kind counts as bucket 0, as
        // LaunchDarkly's Node and Python SDKs do: in iff the weight is positive.
        Ok(bucket.value < weight as f64 / 100_000.0)
    }
}
