//! Filling a snapshot's derived fields once, so that evaluation does no
//! parsing: each clause's parsed operator and values (`clause.rs`), each
//! rollout's and weighted segment rule's bucketing state (`bucket.rs`).

use crate::model::{Bucketer, Flag, Segment};

impl Flag {
    /// Fills the derived fields once, so that evaluation does no parsing.
    pub(crate) fn prepare(&mut self) {
        let (key, salt) = (&self.key, &self.salt);
        let rollouts = self
            .rules
            .iter_mut()
            .filter_map(|rule| rule.rollout.as_mut())
            .chain(self.fallthrough.rollout.as_mut());
        for rollout in rollouts {
            rollout.bucketer = Bucketer::for_rollout(key, salt, rollout);
        }
        for rule in &mut self.rules {
            for clause in &mut rule.clauses {
                clause.prepare();
            }
        }
    }
}

impl Segment {
    /// Fills the derived fields once, so that evaluation does no parsing.
    pub(crate) fn prepare(&mut self) {
        let (key, salt) = (&self.key, &self.salt);
        for rule in &mut self.rules {
            rule.bucketer = Bucketer::for_segment_rule(key, salt, rule);
            for clause in &mut rule.clauses {
                clause.prepare();
            }
        }
    }
}
