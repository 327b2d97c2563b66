//! The native half of the `flagcore` npm package. Registration only; the
//! exported functions live by job, under the same file names as in the WASM
//! and Python bindings: `snapshot.rs`, `context.rs` (prepared contexts and
//! their per-thread cache), `detail.rs`, `edit.rs` and `canary.rs` (native only: the WASM module has no room), `metrics.rs`, `published.rs`, `refresh.rs`, with
//! error mapping in `error.rs` and the hot path's string conversion in
//! `convert.rs`. Behaviour lives in the core.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// In test builds napi-derive does not register the exported functions, so
// what only they use looks unused there.
#![cfg_attr(test, allow(dead_code))]

mod canary;
mod context;
mod convert;
mod detail;
mod edit;
mod error;
mod launchdarkly;
mod metrics;
mod published;
mod refresh;
mod snapshot;
