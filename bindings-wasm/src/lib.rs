//! The WASM half of the `flagcore-wasm` npm package. Registration only; the
//! exported functions live by job, under the same file names as in the Node
//! and Python bindings: `snapshot.rs`, `context.rs` (prepared contexts and
//! the instance's cache), `detail.rs`, `metrics.rs`, `published.rs`, `refresh.rs`, with
//! value conversion in `convert.rs` and error mapping in `error.rs`.
//! Behaviour lives in the core.
//!
//! A panic would trap the whole WASM instance; the core has none, and this
//! crate denies the constructs that could bring one.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod context;
mod convert;
mod detail;
mod error;
mod metrics;
mod published;
mod refresh;
mod snapshot;
