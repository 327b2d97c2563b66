//! The WASM half of the `flagcore-wasm` npm package. Registration only: the
//! exported functions live in `snapshot.rs` and `refresh.rs`, value conversion in
//! `convert.rs`, error mapping in `error.rs`. Behaviour lives in the core.
//!
//! A panic would trap the whole WASM instance; the core has none, and this
//! crate denies the constructs that could bring one.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod convert;
mod error;
mod refresh;
mod snapshot;
