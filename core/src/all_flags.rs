//! The all-flags state, for bootstrapping LaunchDarkly's client-side SDKs:
//! `{"<flag>": value, ..., "$flagsState": {...}, "$valid": true}`.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::context::Context;
use crate::eval;
use crate::model::Flag;
use crate::reason::{Reason, ReasonKind};
use crate::snapshot::Snapshot;

/// Options of `allFlagsState`, as LaunchDarkly names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllFlagsOptions {
    /// Only flags visible to client-side SDKs using an environment id.
    pub client_side_only: bool,
    /// Include each flag's reason.
    pub with_reasons: bool,
    /// Omit reasons and versions of flags that are not event-tracked.
    pub details_only_for_tracked_flags: bool,
    /// The time, in epoch milliseconds, for `debugEventsUntilDate`; the core
    /// has no clock. 0 counts every debug date as current.
    pub now_millis: i64,
}

/// Every flag's value for one context.
#[derive(Debug, Clone)]
pub struct AllFlagsState<'a> {
    valid: bool,
    flags: Vec<FlagState<'a>>,
    options: AllFlagsOptions,
}

#[derive(Debug, Clone)]
struct FlagState<'a> {
    flag: &'a Flag,
    value: Option<&'a Value>,
    variation: Option<usize>,
    reason: Reason<'a>,
    track_reason: bool,
}

impl Snapshot {
    /// Evaluates every flag for `context`. Values are never replaced by a
    /// default: a flag with no value gives `null`. Upstream's decisions
    /// apply through a [`crate::Scope`]: see [`Snapshot::all_flags_state_at`].
    pub fn all_flags_state(
        &self,
        context: &Context,
        options: AllFlagsOptions,
    ) -> AllFlagsState<'_> {
        self.all_flags(context, options, |_| None)
    }

    /// Every flag's state for `context`; `decided` may answer a flag
    /// instead of its evaluation (a decision token's answer).
    pub(crate) fn all_flags<'a>(
        &'a self,
        context: &Context,
        options: AllFlagsOptions,
        decided: impl Fn(&Flag) -> Option<eval::Evaluation<'a>>,
    ) -> AllFlagsState<'a> {
        let flags = self
            .flags_sorted()
            .filter(|flag| !options.client_side_only || flag.client_side_visible())
            .map(|flag| {
                let result = decided(flag).unwrap_or_else(|| eval::evaluate(self, flag, context));
                FlagState {
                    flag,
                    value: result.value,
                    variation: result.variation_index,
                    track_reason: experiment_tracked(flag, &result.reason),
                    reason: result.reason,
                }
            })
            .collect();
        AllFlagsState {
            valid: true,
            flags,
            options,
        }
    }

    /// As [`Snapshot::all_flags_state`], with the context as JSON: an invalid
    /// context gives an empty, invalid state (`"$valid": false`).
    pub fn all_flags_state_json(
        &self,
        context: &Value,
        options: AllFlagsOptions,
    ) -> AllFlagsState<'_> {
        match Context::from_value(context) {
            Ok(context) => self.all_flags_state(&context, options),
            Err(_) => AllFlagsState::invalid(options),
        }
    }
}

/// Whether LaunchDarkly would record full events with the reason.
fn experiment_tracked(flag: &Flag, reason: &Reason<'_>) -> bool {
    if reason.in_experiment {
        return true;
    }
    match reason.kind {
        ReasonKind::Fallthrough => flag.track_events_fallthrough,
        ReasonKind::RuleMatch { rule_index, .. } => {
            flag.rules.get(rule_index).is_some_and(|r| r.track_events)
        }
        _ => false,
    }
}

impl<'a> AllFlagsState<'a> {
    /// The state for a context that was refused: empty, `"$valid": false`.
    pub(crate) fn invalid(options: AllFlagsOptions) -> AllFlagsState<'a> {
        AllFlagsState {
            valid: false,
            flags: Vec::new(),
            options,
        }
    }

    /// Whether the context was valid.
    pub fn valid(&self) -> bool {
        self.valid
    }

    /// The value of one flag: `Some(None)` when the flag gave no value.
    pub fn value(&self, key: &str) -> Option<Option<&'a Value>> {
        self.flags
            .iter()
            .find(|f| f.flag.key == key)
            .map(|f| f.value)
    }

    /// The flag keys present, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.flags.iter().map(|f| f.flag.key.as_str())
    }

    /// The state as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for AllFlagsState<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for state in &self.flags {
            map.serialize_entry(&state.flag.key, &state.value)?;
        }
        map.serialize_entry("$flagsState", &FlagsMeta(self))?;
        map.serialize_entry("$valid", &self.valid)?;
        map.end()
    }
}

struct FlagsMeta<'s, 'a>(&'s AllFlagsState<'a>);

impl Serialize for FlagsMeta<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let options = self.0.options;
        let mut map = serializer.serialize_map(Some(self.0.flags.len()))?;
        for state in &self.0.flags {
            map.serialize_entry(&state.flag.key, &StateMeta { state, options })?;
        }
        map.end()
    }
}

struct StateMeta<'s, 'a> {
    state: &'s FlagState<'a>,
    options: AllFlagsOptions,
}

impl Serialize for StateMeta<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (state, options) = (self.state, self.options);
        let flag = state.flag;
        let debugging = flag
            .debug_events_until_date
            .is_some_and(|d| d > options.now_millis);
        let details = !options.details_only_for_tracked_flags
            || flag.track_events
            || state.track_reason
            || debugging;
        let mut map = serializer.serialize_map(None)?;
        if let Some(variation) = state.variation {
            map.serialize_entry("variation", &variation)?;
        }
        if details {
            map.serialize_entry("version", &flag.version)?;
        }
        if (options.with_reasons && details) || state.track_reason {
            map.serialize_entry("reason", &state.reason)?;
        }
        if flag.track_events || state.track_reason {
            map.serialize_entry("trackEvents", &true)?;
        }
        if state.track_reason {
            map.serialize_entry("trackReason", &true)?;
        }
        if let Some(date) = flag.debug_events_until_date {
            map.serialize_entry("debugEventsUntilDate", &date)?;
        }
        map.end()
    }
}
