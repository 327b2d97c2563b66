//! flagcore evaluates LaunchDarkly-format feature flags from a snapshot, with
//! LaunchDarkly's exact semantics and bucketing, and no I/O: data comes in as
//! bytes or JSON values, and every host (Node, Python, WASM, the CLI) gets
//! the same answer from the same snapshot.
//!
//! ```
//! use flagcore::{Context, Snapshot, ValueType};
//! use serde_json::json;
//!
//! let snapshot = Snapshot::from_json(br#"{"flags": {"beta": {
//!     "key": "beta", "on": true, "variations": [false, true],
//!     "fallthrough": {"variation": 1}}}}"#)?;
//! let context = Context::from_value(&json!({"kind": "user", "key": "u1"}))?;
//! let detail = snapshot.variation_detail("beta", &context, &json!(false), ValueType::Bool);
//! assert_eq!(*detail.value, json!(true));
//! assert_eq!(detail.reason.kind_str(), "FALLTHROUGH");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod all_flags;
mod attr;
pub mod base64;
mod bucket;
pub mod canary;
mod check;
mod clause;
mod context;
mod dynamodb;
pub mod edit;
mod error;
mod eval;
mod json;
mod keyset;
pub mod launchdarkly;
pub mod metrics;
mod model;
pub mod packed;
mod prepare;
pub mod published;
mod reason;
pub mod refresh;
mod scope;
mod segment;
mod semver;
mod snapshot;
mod source;
mod time;
pub mod token;
mod variation;

pub use all_flags::{AllFlagsOptions, AllFlagsState};
pub use check::{Problem, Severity};
pub use context::{Context, ContextError};
pub use error::{ErrorCode, SnapshotError};
pub use eval::Evaluation;
/// JSON text as a value through the core's one copy of serde_json's parser.
pub use json::parse as parse_json;
pub use reason::{BigSegmentsStatus, Detail, ErrorKind, Reason, ReasonField, ReasonKind};
pub use scope::Scope;
pub use snapshot::Snapshot;
pub use source::{Format, SourceInfo};
pub use token::{Token, TokenError, TokenErrorCode, TokenStatus};
pub use variation::ValueType;

/// Re-exported so hosts build values with the same JSON type the core uses.
pub use serde_json::Value;
