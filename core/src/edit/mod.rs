//! Edits of a snapshot's flags, as a person makes them from a terminal: a
//! snapshot and one [`Change`] give a new snapshot, or an [`EditError`]
//! whose code is stable and whose message says what to do. Pure: a host
//! reads the snapshot and publishes the result.
//!
//! A percentage rollout keeps the flag's salt, its seed and what it buckets
//! by, and its variations' order, so a context's bucket never moves: the
//! variations take consecutive ranges of buckets in that order. For a flag
//! of two variations (a boolean canary), raising the share of the first
//! only adds contexts to it, and lowering it only removes some; with more,
//! a variation keeps its contexts when the shares before it stay as they
//! are. Weights are LaunchDarkly's, in thousandths of a percent (100,000 in
//! all): `12.5%` is exactly 12,500.

use serde_json::{json, Map, Value};

use crate::published::canonical_json;
use crate::snapshot::Snapshot;

pub mod diff;
mod named;
pub mod record;
mod target;
mod weights;

pub use named::{change_from_json, variation_of};
pub use record::{summary, Record};
pub use weights::{parse_percent, percent, rollout_weights};

/// The sum of a rollout's weights: 100%.
pub const TOTAL_WEIGHT: u32 = 100_000;

/// One change to a snapshot's flags.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new flag, off: `variations` (at least two, each different), or a
    /// boolean flag (`true`, `false`); when on, it serves its last
    /// variation until a rollout or a target says otherwise, and when off
    /// its last variation too (`false` for a boolean flag).
    Create {
        /// The flag's key: letters, digits, `.`, `_` and `-`.
        key: String,
        /// Its variations; `None` for a boolean flag.
        variations: Option<Vec<Value>>,
    },
    /// Targeting on.
    On {
        /// The flag.
        key: String,
    },
    /// Targeting off (the kill switch): every context gets the off variation.
    Off {
        /// The flag.
        key: String,
    },
    /// The default rule serves these weights, one per variation, in
    /// thousandths of a percent (see [`rollout_weights`]).
    Rollout {
        /// The flag.
        key: String,
        /// One weight per variation, summing to [`TOTAL_WEIGHT`].
        weights: Vec<u32>,
    },
    /// Context keys of `kind` served `variation` before any rule, added or
    /// removed.
    Target {
        /// The flag.
        key: String,
        /// The variation's index.
        variation: usize,
        /// The context kind (`user` when none is given).
        kind: String,
        /// Keys to add.
        add: Vec<String>,
        /// Keys to remove.
        remove: Vec<String>,
    },
    /// The variation served while the flag is off.
    OffVariation {
        /// The flag.
        key: String,
        /// The variation's index.
        variation: usize,
    },
    /// The flag removed from the snapshot.
    Archive {
        /// The flag.
        key: String,
    },
}

impl Change {
    /// The flag it changes.
    pub fn key(&self) -> &str {
        match self {
            Change::Create { key, .. }
            | Change::On { key }
            | Change::Off { key }
            | Change::Rollout { key, .. }
            | Change::Target { key, .. }
            | Change::OffVariation { key, .. }
            | Change::Archive { key } => key,
        }
    }
}

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError {
    /// `FLAG_NOT_FOUND`, `FLAG_EXISTS`, `FLAG_KEY_INVALID`,
    /// `VARIATIONS_INVALID`, `VARIATION_NOT_FOUND`, `PERCENT_INVALID`,
    /// `ROLLOUT_INVALID`, `KEY_TARGETED_TWICE`, `KEY_NOT_TARGETED`,
    /// `FLAG_IS_PREREQUISITE` or `EDIT_INVALID`.
    pub code: &'static str,
    /// What is wrong, and what to do.
    pub message: String,
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for EditError {}

pub(super) fn refuse(code: &'static str, message: impl Into<String>) -> EditError {
    EditError {
        code,
        message: message.into(),
    }
}

/// `snapshot` with `change` made, or why not. The changed flag's `version`
/// goes up by one; the rest of the snapshot is as it was.
pub fn apply(snapshot: &Snapshot, change: &Change) -> Result<Snapshot, EditError> {
    let mut document: Value = serde_json::from_slice(&canonical_json(snapshot)).map_err(|e| {
        refuse(
            "EDIT_INVALID",
            format!("the snapshot does not read back: {e}"),
        )
    })?;
    let flags = document
        .get_mut("flags")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| refuse("EDIT_INVALID", "the snapshot has no flags object"))?;
    match change {
        Change::Create { key, variations } => create(flags, key, variations.as_deref())?,
        Change::Archive { key } => archive(flags, key)?,
        other => {
            let key = other.key();
            let flag = flags
                .get_mut(key)
                .and_then(Value::as_object_mut)
                .ok_or_else(|| not_found(key))?;
            edit_flag(flag, other)?;
            let version = flag.get("version").and_then(Value::as_i64).unwrap_or(0);
            flag.insert("version".into(), json!(version + 1));
        }
    }
    let text = serde_json::to_vec(&document).map_err(|e| {
        refuse(
            "EDIT_INVALID",
            format!("the edited snapshot does not serialize: {e}"),
        )
    })?;
    Snapshot::from_json(&text).map_err(|e| {
        refuse(
            "EDIT_INVALID",
            format!(
                "the edited snapshot does not read: {} at {}: {}",
                e.code(),
                e.path(),
                e.message()
            ),
        )
    })
}

pub(super) fn not_found(key: &str) -> EditError {
    refuse(
        "FLAG_NOT_FOUND",
        format!("there is no flag {key:?}: `flagcore flag list` lists them, `flagcore flag create` makes one"),
    )
}

fn create(
    flags: &mut Map<String, Value>,
    key: &str,
    variations: Option<&[Value]>,
) -> Result<(), EditError> {
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(refuse(
            "FLAG_KEY_INVALID",
            format!("{key:?} is not a flag key: use letters, digits, '.', '_' and '-'"),
        ));
    }
    if flags.contains_key(key) {
        return Err(refuse(
            "FLAG_EXISTS",
            format!("flag {key:?} exists already"),
        ));
    }
    let variations = variations.map_or_else(|| vec![json!(true), json!(false)], <[Value]>::to_vec);
    if variations.len() < 2
        || (1..variations.len()).any(|i| variations[..i].contains(&variations[i]))
    {
        return Err(refuse(
            "VARIATIONS_INVALID",
            "a flag needs at least two variations, each different, like '[\"v1\", \"v2\"]'",
        ));
    }
    let last = variations.len() - 1;
    flags.insert(
        key.to_owned(),
        json!({
            "key": key, "version": 1, "on": false, "variations": variations,
            "offVariation": last, "fallthrough": {"variation": last},
            "targets": [], "contextTargets": [], "rules": [], "prerequisites": [],
            "salt": salt(key), "trackEvents": false, "trackEventsFallthrough": false,
            "clientSide": false, "deleted": false
        }),
    );
    Ok(())
}

// A new flag's salt: fixed by its key, so that the same flag created twice
// buckets users alike.
fn salt(key: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(key.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn archive(flags: &mut Map<String, Value>, key: &str) -> Result<(), EditError> {
    if !flags.contains_key(key) {
        return Err(not_found(key));
    }
    let dependents: Vec<&String> = flags
        .iter()
        .filter(|(_, flag)| {
            flag["prerequisites"]
                .as_array()
                .is_some_and(|list| list.iter().any(|p| p["key"] == key))
        })
        .map(|(k, _)| k)
        .collect();
    if !dependents.is_empty() {
        return Err(refuse(
            "FLAG_IS_PREREQUISITE",
            format!("flag {key:?} is a prerequisite of {dependents:?}: remove it from them first"),
        ));
    }
    flags.remove(key);
    Ok(())
}

pub(super) fn variation_count(flag: &Map<String, Value>) -> usize {
    flag.get("variations")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

pub(super) fn check_variation(
    flag: &Map<String, Value>,
    variation: usize,
) -> Result<(), EditError> {
    let count = variation_count(flag);
    if variation >= count {
        return Err(refuse(
            "VARIATION_NOT_FOUND",
            format!(
                "variation {variation} does not exist: the flag has {count} (0 to {})",
                count.saturating_sub(1)
            ),
        ));
    }
    Ok(())
}

fn edit_flag(flag: &mut Map<String, Value>, change: &Change) -> Result<(), EditError> {
    match change {
        Change::On { .. } => {
            flag.insert("on".into(), json!(true));
        }
        Change::Off { .. } => {
            flag.insert("on".into(), json!(false));
        }
        Change::OffVariation { variation, .. } => {
            check_variation(flag, *variation)?;
            flag.insert("offVariation".into(), json!(variation));
        }
        Change::Rollout { weights, .. } => weights::rollout(flag, weights)?,
        Change::Target {
            variation,
            kind,
            add,
            remove,
            ..
        } => target::target(flag, *variation, kind, add, remove)?,
        Change::Create { .. } | Change::Archive { .. } => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;
