//! Evaluation results and reasons, in LaunchDarkly's JSON shapes (§10).

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// Why an evaluation failed. The detail then holds the caller's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The client has no flag data yet (a binding's cold start with no source).
    ClientNotReady,
    /// No flag with that key (or it was deleted).
    FlagNotFound,
    /// The flag data cannot be evaluated (bad index, cycle, bad reference...).
    MalformedFlag,
    /// The context is missing or invalid.
    UserNotSpecified,
    /// The value's JSON type is not the one the typed method asked for.
    WrongType,
    /// An unexpected failure; flagcore reports it instead of crashing.
    Exception,
}

impl ErrorKind {
    /// Every kind, for tests that prove each one is reachable.
    pub const ALL: [ErrorKind; 6] = [
        ErrorKind::ClientNotReady,
        ErrorKind::FlagNotFound,
        ErrorKind::MalformedFlag,
        ErrorKind::UserNotSpecified,
        ErrorKind::WrongType,
        ErrorKind::Exception,
    ];

    /// The `errorKind` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::ClientNotReady => "CLIENT_NOT_READY",
            ErrorKind::FlagNotFound => "FLAG_NOT_FOUND",
            ErrorKind::MalformedFlag => "MALFORMED_FLAG",
            ErrorKind::UserNotSpecified => "USER_NOT_SPECIFIED",
            ErrorKind::WrongType => "WRONG_TYPE",
            ErrorKind::Exception => "EXCEPTION",
        }
    }

    /// Reads an `errorKind` string.
    pub fn parse(text: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// The health of the big-segment store, reported on reasons that consulted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BigSegmentsStatus {
    /// Fresh membership data.
    Healthy,
    /// Membership data older than the staleness limit.
    Stale,
    /// The store failed.
    StoreError,
    /// No store is configured: flagcore snapshots carry no big-segment
    /// membership, so this is what flags using big segments report.
    NotConfigured,
}

impl BigSegmentsStatus {
    /// The `bigSegmentsStatus` string.
    pub fn as_str(self) -> &'static str {
        match self {
            BigSegmentsStatus::Healthy => "HEALTHY",
            BigSegmentsStatus::Stale => "STALE",
            BigSegmentsStatus::StoreError => "STORE_ERROR",
            BigSegmentsStatus::NotConfigured => "NOT_CONFIGURED",
        }
    }
}

/// What decided an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonKind<'a> {
    /// The flag is off.
    Off,
    /// No target or rule matched.
    Fallthrough,
    /// The context's key is individually targeted.
    TargetMatch,
    /// A rule matched.
    RuleMatch {
        /// Its position in `rules`.
        rule_index: usize,
        /// Its `id`; omitted from JSON when empty.
        rule_id: &'a str,
    },
    /// A prerequisite was not met.
    PrerequisiteFailed {
        /// The first prerequisite that failed.
        prerequisite_key: &'a str,
    },
    /// The evaluation failed; the value is the caller's default.
    Error(ErrorKind),
}

/// A reason, as LaunchDarkly's `EvaluationReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason<'a> {
    /// The kind, with its own fields.
    pub kind: ReasonKind<'a>,
    /// The context is part of an experiment (rollouts of kind `experiment`).
    pub in_experiment: bool,
    /// Set when a big segment was consulted.
    pub big_segments_status: Option<BigSegmentsStatus>,
    /// The answer was decided upstream and carried here by a decision token
    /// (see [`crate::token`]): `"propagated": true`, a flagcore extension.
    pub propagated: bool,
}

impl<'a> Reason<'a> {
    /// A reason of that kind, with no extra fields.
    pub fn new(kind: ReasonKind<'a>) -> Self {
        Reason {
            kind,
            in_experiment: false,
            big_segments_status: None,
            propagated: false,
        }
    }

    /// An `ERROR` reason.
    pub fn error(kind: ErrorKind) -> Self {
        Reason::new(ReasonKind::Error(kind))
    }

    /// The `kind` string: `OFF`, `RULE_MATCH`, ...
    pub fn kind_str(&self) -> &'static str {
        match self.kind {
            ReasonKind::Off => "OFF",
            ReasonKind::Fallthrough => "FALLTHROUGH",
            ReasonKind::TargetMatch => "TARGET_MATCH",
            ReasonKind::RuleMatch { .. } => "RULE_MATCH",
            ReasonKind::PrerequisiteFailed { .. } => "PREREQUISITE_FAILED",
            ReasonKind::Error(_) => "ERROR",
        }
    }

    /// The error kind, for `ERROR` reasons.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        match self.kind {
            ReasonKind::Error(kind) => Some(kind),
            _ => None,
        }
    }

    /// The reason as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// A value in a reason's JSON form (see [`Reason::fields`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReasonField<'a> {
    /// One of LaunchDarkly's names: a reason kind, an error kind, a big
    /// segments status.
    Name(&'static str),
    /// Text from the flag: a rule id, a prerequisite key.
    Text(&'a str),
    /// A rule index.
    Index(usize),
    /// `true`: the flags (`inExperiment`, `propagated`) appear only when set.
    True,
}

impl<'a> Reason<'a> {
    /// The reason's JSON form, entry by entry, in LaunchDarkly's order: the
    /// one description of that form, which its serialization and every
    /// host's own conversion (Python's dicts) follow.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, ReasonField<'a>)> {
        let (second, third) = match self.kind {
            ReasonKind::RuleMatch {
                rule_index,
                rule_id,
            } => (
                Some(("ruleIndex", ReasonField::Index(rule_index))),
                (!rule_id.is_empty()).then_some(("ruleId", ReasonField::Text(rule_id))),
            ),
            ReasonKind::PrerequisiteFailed { prerequisite_key } => (
                Some(("prerequisiteKey", ReasonField::Text(prerequisite_key))),
                None,
            ),
            ReasonKind::Error(kind) => {
                (Some(("errorKind", ReasonField::Name(kind.as_str()))), None)
            }
            ReasonKind::Off | ReasonKind::Fallthrough | ReasonKind::TargetMatch => (None, None),
        };
        [
            Some(("kind", ReasonField::Name(self.kind_str()))),
            second,
            third,
            self.in_experiment
                .then_some(("inExperiment", ReasonField::True)),
            self.big_segments_status
                .map(|status| ("bigSegmentsStatus", ReasonField::Name(status.as_str()))),
            self.propagated.then_some(("propagated", ReasonField::True)),
        ]
        .into_iter()
        .flatten()
    }
}

impl Serialize for Reason<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self.fields() {
            match value {
                ReasonField::Name(text) | ReasonField::Text(text) => {
                    map.serialize_entry(name, text)?
                }
                ReasonField::Index(index) => map.serialize_entry(name, &index)?,
                ReasonField::True => map.serialize_entry(name, &true)?,
            }
        }
        map.end()
    }
}

/// One evaluation's answer: `{value, variationIndex, reason}`.
///
/// It borrows from the snapshot and the caller's default, so evaluating
/// allocates nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail<'a> {
    /// The flag's value, or the caller's default when there is none.
    pub value: Cow<'a, Value>,
    /// The variation's index; `None` when the default was used.
    pub variation_index: Option<usize>,
    /// Why.
    pub reason: Reason<'a>,
}

impl<'a> Detail<'a> {
    /// The default value with an `ERROR` reason.
    pub fn error(default: &'a Value, kind: ErrorKind) -> Self {
        Detail {
            value: Cow::Borrowed(default),
            variation_index: None,
            reason: Reason::error(kind),
        }
    }

    /// The detail as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for Detail<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("value", &*self.value)?;
        map.serialize_entry("variationIndex", &self.variation_index)?;
        map.serialize_entry("reason", &self.reason)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reasons_serialize_in_launchdarkly_shapes() {
        let mut rule = Reason::new(ReasonKind::RuleMatch {
            rule_index: 1,
            rule_id: "r",
        });
        rule.in_experiment = true;
        assert_eq!(
            rule.to_value(),
            json!({"kind": "RULE_MATCH", "ruleIndex": 1, "ruleId": "r", "inExperiment": true})
        );
        let no_id = Reason::new(ReasonKind::RuleMatch {
            rule_index: 0,
            rule_id: "",
        });
        assert_eq!(
            no_id.to_value(),
            json!({"kind": "RULE_MATCH", "ruleIndex": 0})
        );
        assert_eq!(
            Reason::error(ErrorKind::WrongType).to_value(),
            json!({"kind": "ERROR", "errorKind": "WRONG_TYPE"})
        );
    }
}
