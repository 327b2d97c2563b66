//! The rule a verified token answers by at evaluation: upstream's answer,
//! rebuilt from the receiving snapshot and proved the same, unless that
//! snapshot switched the flag off (the kill switch wins) or the token expired.

use std::collections::HashSet;

use super::wire::{answer_hash, flag_hash, HASH};
use super::Token;
use crate::eval::Evaluation;
use crate::packed;
use crate::snapshot::Snapshot;

impl Token {
    /// Upstream's answer for `flag_key`, rebuilt from `snapshot`, with the
    /// propagated marker; `None` when the token does not decide the flag,
    /// has expired at `now_ms`, `snapshot` switched the flag off (or a
    /// prerequisite of it), or cannot reproduce the answer exactly.
    pub(crate) fn decide<'a>(
        &self,
        snapshot: &'a Snapshot,
        flag_key: &str,
        now_ms: u64,
    ) -> Option<Evaluation<'a>> {
        if !self.live(now_ms) {
            return None;
        }
        let hash = flag_hash(flag_key);
        let decision = self.decisions.iter().find(|d| d.flag == hash)?;
        if snapshot.switched_off(flag_key) {
            return None;
        }
        let mut evaluation = packed::unpack(snapshot, flag_key, decision.packed)?;
        if answer_hash(flag_key, &evaluation) != decision.check {
            return None;
        }
        evaluation.reason.propagated = true;
        Some(evaluation)
    }

    /// How many of its decisions `snapshot` applies at `now_ms`: the rest
    /// (flags switched off, deleted, or whose variations or rules changed
    /// since) are evaluated normally.
    pub fn reproducible(&self, snapshot: &Snapshot, now_ms: u64) -> usize {
        let decided: HashSet<[u8; HASH]> = self.decisions.iter().map(|d| d.flag).collect();
        snapshot
            .flag_keys()
            .iter()
            .filter(|key| {
                decided.contains(&flag_hash(key)) && self.decide(snapshot, key, now_ms).is_some()
            })
            .count()
    }
}
