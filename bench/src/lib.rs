//! Shared benchmark data.
