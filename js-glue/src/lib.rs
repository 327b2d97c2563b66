//! What the two JavaScript bindings share, so that they cannot drift: the
//! Node package's N-API module (bindings-node) and flagcore-wasm
//! (bindings-wasm) each wrap these functions under the same names, for the
//! JS layer both packages run (js/). Python converts values
//! of its own and needs none of this.
//!
//! - [`answer`]: evaluations packed into one number, several at a time;
//! - [`cache`]: the parsed form of recent contexts, per thread, so that a
//!   context crosses as JSON text once and then as a number;
//! - [`envelope`]: the JSON the JS layer receives (decision tokens, a
//!   registered context, a flag's details, the all-flags state) and the
//!   conversion of its numbers to the core's milliseconds.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod answer;
pub mod cache;
pub mod envelope;

pub use answer::{
    detail_json, evaluate_many, evaluate_many_prepared, evaluate_packed, evaluate_prepared, first,
    DOES_NOT_FIT, NOT_PREPARED,
};
pub use cache::{canonical_key, local, parse, ContextCache};
pub use envelope::flag_info;

/// The message of the error a binding throws for a snapshot that could not
/// be read: `flagcore:` and the error as JSON, which the JS layer's
/// `SnapshotError` takes apart (js/snapshot.js).
pub fn snapshot_error_message(error: &flagcore::SnapshotError) -> String {
    format!("flagcore:{}", error.to_value())
}

#[cfg(test)]
mod tests;
