//! The native half of the `flagcore` npm package. Registration only: the
//! exported functions live in `snapshot.rs` and `refresh.rs`, the per-thread context cache in `contexts.rs`,
//! error mapping in `error.rs`. Behaviour lives in the core.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// In test builds napi-derive does not register the exported functions, so
// what only they use looks unused there.
#![cfg_attr(test, allow(dead_code))]

mod contexts;
mod error;
mod refresh;
mod snapshot;
