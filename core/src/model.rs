//! LaunchDarkly's flag and segment data model, read leniently: unknown
//! properties are ignored, missing ones and `null`s take their defaults.
//! A property of the wrong type is an error, so bad data is refused whole at
//! ingestion rather than half-understood at evaluation.
//!
//! Each struct keeps exactly what the JSON says (that is what the snapshot id
//! hashes) plus `#[serde(skip)]` fields that `prepare` fills once per snapshot:
//! key sets, parsed attribute references, dates, versions, hash prefixes.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use std::fmt;
use std::sync::OnceLock;

use regex_lite::Regex;
use sha1::Sha1;

use crate::attr::AttrRef;
use crate::keyset::{KeyList, KeySet};
use crate::semver::SemVer;

/// How deep prerequisites, or segments within segments, may nest. Deeper
/// data is reported as `MALFORMED_FLAG` rather than risking the stack of a
/// Node, Python or WASM host; a kill switch past it counts as switched off.
/// A bound of the data model, so that evaluation and the snapshot's
/// kill-switch rule share it without importing each other.
pub(crate) const MAX_DEPTH: usize = 64;

/// Reads a property whose `null` means the same as its absence.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A feature flag.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flag {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) key: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) version: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) on: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) prerequisites: Vec<Prerequisite>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) targets: Vec<Target>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) context_targets: Vec<Target>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) rules: Vec<FlagRule>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) fallthrough: VariationOrRollout,
    #[serde(default)]
    pub(crate) off_variation: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) variations: Vec<Value>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) client_side: bool,
    #[serde(default)]
    pub(crate) client_side_availability: Option<ClientSideAvailability>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) salt: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) track_events: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) track_events_fallthrough: bool,
    #[serde(default)]
    pub(crate) debug_events_until_date: Option<i64>,
    #[serde(default)]
    pub(crate) sampling_ratio: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) exclude_from_summaries: bool,
    #[serde(default)]
    pub(crate) migration: Option<Migration>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) deleted: bool,
}

/// `{key, variation}`: the named flag must be on and answer that variation.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Prerequisite {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) key: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) variation: i64,
}

/// An individual-targeting list, in `targets` or `contextTargets`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    #[serde(default)]
    pub(crate) context_kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) variation: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) values: KeyList,
}

/// A targeting rule: all clauses must match.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlagRule {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) clauses: Vec<Clause>,
    #[serde(default)]
    pub(crate) variation: Option<i64>,
    #[serde(default)]
    pub(crate) rollout: Option<Rollout>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) track_events: bool,
}

/// A fixed variation or a percentage rollout.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct VariationOrRollout {
    #[serde(default)]
    pub(crate) variation: Option<i64>,
    #[serde(default)]
    pub(crate) rollout: Option<Rollout>,
}

/// A percentage rollout or an experiment.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    #[serde(default)]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) context_kind: Option<String>,
    #[serde(default)]
    pub(crate) bucket_by: Option<String>,
    #[serde(default)]
    pub(crate) seed: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) variations: Vec<WeightedVariation>,
    #[serde(skip)]
    pub(crate) bucketer: Bucketer,
}

impl Rollout {
    pub(crate) fn is_experiment(&self) -> bool {
        self.kind.as_deref() == Some("experiment")
    }
}

/// One slice of a rollout; weights are in units of 1/100000.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct WeightedVariation {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) variation: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) weight: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) untracked: bool,
}

/// One condition of a rule.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Clause {
    #[serde(default)]
    pub(crate) context_kind: Option<String>,
    #[serde(default)]
    pub(crate) attribute: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) op: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) values: Vec<Value>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) negate: bool,
    #[serde(skip)]
    pub(crate) prepared: PreparedClause,
}

/// The newer client-side visibility schema.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientSideAvailability {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) using_mobile_key: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) using_environment_id: bool,
}

/// Migration settings; carried, not evaluated.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Migration {
    #[serde(default)]
    pub(crate) check_ratio: Option<i64>,
}

/// A segment: a reusable set of contexts.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) key: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) version: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) included: KeyList,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) excluded: KeyList,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) included_contexts: Vec<SegmentTarget>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) excluded_contexts: Vec<SegmentTarget>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) rules: Vec<SegmentRule>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) salt: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) unbounded: bool,
    #[serde(default)]
    pub(crate) unbounded_context_kind: Option<String>,
    #[serde(default)]
    pub(crate) generation: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) deleted: bool,
}

/// Included or excluded keys of one context kind.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentTarget {
    #[serde(default)]
    pub(crate) context_kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) values: KeyList,
}

/// A segment rule, optionally weighted.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentRule {
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) clauses: Vec<Clause>,
    #[serde(default)]
    pub(crate) weight: Option<i64>,
    #[serde(default)]
    pub(crate) bucket_by: Option<String>,
    #[serde(default)]
    pub(crate) rollout_context_kind: Option<String>,
    #[serde(skip)]
    pub(crate) bucketer: Bucketer,
}

impl Flag {
    /// A flag from the file-data-source `flagValues` shape: on, one
    /// variation, fallthrough to it; version 1 as LaunchDarkly's SDKs give it.
    pub(crate) fn from_value(key: &str, value: Value) -> Flag {
        Flag {
            key: key.to_owned(),
            version: 1,
            on: true,
            fallthrough: VariationOrRollout {
                variation: Some(0),
                rollout: None,
            },
            variations: vec![value],
            ..Flag::default()
        }
    }

    /// Whether client-side SDKs using an environment id may see this flag.
    pub(crate) fn client_side_visible(&self) -> bool {
        match &self.client_side_availability {
            Some(availability) => availability.using_environment_id,
            None => self.client_side,
        }
    }
}

impl Segment {}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Op {
    #[default]
    Unknown,
    In,
    StartsWith,
    EndsWith,
    Contains,
    Matches,
    LessThan,
    LessThanOrEqual,
    GreaterThan,
    GreaterThanOrEqual,
    Before,
    After,
    SemVerEqual,
    SemVerLessThan,
    SemVerGreaterThan,
    SegmentMatch,
}

/// What `prepare` derives from a clause.
#[derive(Debug, Clone, Default)]
pub(crate) struct PreparedClause {
    pub(crate) op: Op,
    /// `None` when the attribute is missing, empty or an invalid reference:
    /// `MALFORMED_FLAG` if a non-segment clause is evaluated.
    pub(crate) attr: Option<AttrRef>,
    /// The raw attribute is `kind`: match against every kind of the context.
    pub(crate) attr_is_kind: bool,
    pub(crate) strings: KeySet,
    pub(crate) instants: Vec<Option<f64>>,
    pub(crate) versions: Vec<Option<SemVer>>,
    pub(crate) regexes: Vec<OnceLock<Option<Regex>>>,
}

/// Everything about one rollout's bucketing that does not depend on the
/// context, prepared once per snapshot: the hash state after the prefix,
/// the context kind, and the parsed `bucketBy` reference.
#[derive(Clone, Default)]
pub(crate) struct Bucketer {
    pub(crate) prefix: Sha1,
    pub(crate) kind: String,
    /// `None` when `bucketBy` is not a valid reference: `MALFORMED_FLAG`.
    pub(crate) attr: Option<AttrRef>,
}

impl fmt::Debug for Bucketer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bucketer")
            .field("kind", &self.kind)
            .field("attr", &self.attr)
            .finish_non_exhaustive()
    }
}
