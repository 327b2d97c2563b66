//! The only place values cross the boundary.
//!
//! An evaluation answers one JavaScript number, not an object: building a
//! detail object through N-API costs more than the evaluation itself. The
//! number packs the variation index, the reason and its indexes; `index.js`
//! builds the detail from it and from values it fetched once per flag.
//!
//! | bits  | field                                                        |
//! |-------|--------------------------------------------------------------|
//! | 0-15  | variation index + 1 (0: none)                                |
//! | 16-18 | reason kind: OFF, FALLTHROUGH, TARGET_MATCH, RULE_MATCH, PREREQUISITE_FAILED, ERROR |
//! | 19-21 | error kind, in `ErrorKind::ALL` order                        |
//! | 22    | inExperiment                                                 |
//! | 23-25 | bigSegmentsStatus + 1 (0: none)                              |
//! | 26-45 | rule index, or the failed prerequisite's position            |
//!
//! A detail that does not fit (65,535 variations, a million rules) answers
//! -1, and `index.js` asks for the detail as JSON instead; -2 asks it to
//! register a prepared context again.

use flagcore::{BigSegmentsStatus, Detail, ErrorKind, ReasonKind};

pub(crate) const DOES_NOT_FIT: f64 = -1.0;

/// A prepared context that the native cache no longer holds: register it again.
pub(crate) const NOT_PREPARED: f64 = -2.0;

pub(crate) fn pack(detail: &Detail<'_>, prerequisite_keys: impl Fn() -> Vec<String>) -> f64 {
    let index = match detail.variation_index {
        None => 0,
        Some(i) if i < 0xFFFF => i as u64 + 1,
        Some(_) => return DOES_NOT_FIT,
    };
    let reason = &detail.reason;
    let (kind, position) = match reason.kind {
        ReasonKind::Off => (0, 0),
        ReasonKind::Fallthrough => (1, 0),
        ReasonKind::TargetMatch => (2, 0),
        ReasonKind::RuleMatch { rule_index, .. } => (3, rule_index),
        ReasonKind::PrerequisiteFailed { prerequisite_key } => {
            match prerequisite_keys()
                .iter()
                .position(|k| k == prerequisite_key)
            {
                Some(position) => (4, position),
                None => return DOES_NOT_FIT,
            }
        }
        ReasonKind::Error(_) => (5, 0),
    };
    if position >= 1 << 20 {
        return DOES_NOT_FIT;
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
        | ((position as u64) << 26);
    packed as f64
}
