//! The packed answer: an evaluation's variation and reason in one number,
//! relative to the flag it answers (rule and prerequisite positions, not
//! ids). A format of the core's own, with a version: decision tokens carry
//! it (`crate::token`), and the JS bindings' answer ABI (the `flagcore-js-glue` crate) is built
//! on it. Changing the layout changes what tokens mean, so it takes a new
//! [`VERSION`] and a new token format.
//!
//! | bits  | field                                                        |
//! |-------|--------------------------------------------------------------|
//! | 0-15  | variation index + 1 (0: none)                                |
//! | 16-18 | reason kind: OFF, FALLTHROUGH, TARGET_MATCH, RULE_MATCH, PREREQUISITE_FAILED, ERROR |
//! | 19-21 | error kind, in [`ErrorKind::ALL`] order                      |
//! | 22    | inExperiment                                                 |
//! | 23-25 | bigSegmentsStatus + 1 (0: none)                              |
//! | 26-45 | rule index, or the failed prerequisite's position            |
//! | 46    | propagated (decided upstream, see [`crate::token`])          |

use crate::eval::Evaluation;
use crate::reason::{BigSegmentsStatus, ErrorKind, Reason, ReasonKind};
use crate::snapshot::Snapshot;

/// The layout above. Token format 2 carries answers of this version.
pub const VERSION: u32 = 1;

/// The packed form of an answer to flag `key` of `snapshot`, or `None`
/// when it does not fit.
pub fn pack(
    snapshot: &Snapshot,
    key: &str,
    variation_index: Option<usize>,
    reason: &Reason<'_>,
) -> Option<u64> {
    let index = match variation_index {
        None => 0u64,
        Some(i) if i < 0xFFFF => i as u64 + 1,
        Some(_) => return None,
    };
    let (kind, position): (u64, usize) = match reason.kind {
        ReasonKind::Off => (0, 0),
        ReasonKind::Fallthrough => (1, 0),
        ReasonKind::TargetMatch => (2, 0),
        ReasonKind::RuleMatch { rule_index, .. } => (3, rule_index),
        ReasonKind::PrerequisiteFailed { prerequisite_key } => {
            let prerequisites = snapshot
                .reason_keys(key)
                .map(|(_, p)| p)
                .unwrap_or_default();
            match prerequisites.iter().position(|k| *k == prerequisite_key) {
                Some(position) => (4, position),
                None => return None,
            }
        }
        ReasonKind::Error(_) => (5, 0),
    };
    if position >= 1 << 20 {
        return None;
    }
    let error = reason
        .error_kind()
        .and_then(|e| ErrorKind::ALL.iter().position(|k| *k == e))
        .unwrap_or(0) as u64;
    let big = match reason.big_segments_status {
        None => 0,
        Some(BigSegmentsStatus::Healthy) => 1,
        Some(BigSegmentsStatus::Stale) => 2,
        Some(BigSegmentsStatus::StoreError) => 3,
        Some(BigSegmentsStatus::NotConfigured) => 4,
    };
    let packed = index
        | (kind << 16)
        | (error << 19)
        | (u64::from(reason.in_experiment) << 22)
        | (big << 23)
        | ((position as u64) << 26)
        | (u64::from(reason.propagated) << 46);
    Some(packed)
}

/// The answer that [`pack`] packed, rebuilt from flag `key` of
/// `snapshot`: `None` when the flag has no such variation, rule or
/// prerequisite.
pub(crate) fn unpack<'a>(snapshot: &'a Snapshot, key: &str, bits: u64) -> Option<Evaluation<'a>> {
    let variations = snapshot.variations(key)?;
    let (rule_ids, prerequisites) = snapshot.reason_keys(key)?;
    let position = ((bits >> 26) & 0xF_FFFF) as usize;
    let kind = match (bits >> 16) & 7 {
        0 => ReasonKind::Off,
        1 => ReasonKind::Fallthrough,
        2 => ReasonKind::TargetMatch,
        3 => ReasonKind::RuleMatch {
            rule_index: position,
            rule_id: rule_ids.get(position)?,
        },
        4 => ReasonKind::PrerequisiteFailed {
            prerequisite_key: prerequisites.get(position)?,
        },
        5 => ReasonKind::Error(*ErrorKind::ALL.get(((bits >> 19) & 7) as usize)?),
        _ => return None,
    };
    let big_segments_status = match (bits >> 23) & 7 {
        0 => None,
        1 => Some(BigSegmentsStatus::Healthy),
        2 => Some(BigSegmentsStatus::Stale),
        3 => Some(BigSegmentsStatus::StoreError),
        4 => Some(BigSegmentsStatus::NotConfigured),
        _ => return None,
    };
    let variation_index = match bits & 0xFFFF {
        0 => None,
        n => Some(n as usize - 1),
    };
    let value = match variation_index {
        Some(i) => Some(variations.get(i)?),
        None => None,
    };
    Some(Evaluation {
        value,
        variation_index,
        reason: Reason {
            kind,
            in_experiment: (bits >> 22) & 1 == 1,
            big_segments_status,
            propagated: (bits >> 46) & 1 == 1,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_of_version_1_is_fixed() {
        // A change here changes what every decision token in flight means:
        // it needs a new VERSION and a new token format, not a new number.
        let snapshot = Snapshot::from_json(
            br#"{"flags": {"f": {"on": true, "variations": [1, 2, 3], "offVariation": 1,
                "rules": [{"id": "a", "clauses": [], "variation": 0}, {"id": "b", "clauses": [], "variation": 2}],
                "fallthrough": {"variation": 0}}}}"#,
        )
        .unwrap();
        let reason = Reason {
            kind: ReasonKind::RuleMatch {
                rule_index: 1,
                rule_id: "b",
            },
            in_experiment: true,
            big_segments_status: Some(BigSegmentsStatus::Stale),
            propagated: true,
        };
        let bits = pack(&snapshot, "f", Some(2), &reason).unwrap();
        assert_eq!(
            bits,
            3 | (3 << 16) | (1 << 22) | (2 << 23) | (1 << 26) | (1 << 46)
        );
        let back = unpack(&snapshot, "f", bits).unwrap();
        assert_eq!((back.variation_index, back.reason), (Some(2), reason));
        assert_eq!(VERSION, 1);
    }
}
