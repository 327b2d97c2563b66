//! When a `FlagClient` goes back to its source: the one rule the Node, WASM
//! and Python clients follow. It does no I/O and reads no clock: a host
//! passes its times, and gets back the times from which a call, and a call
//! that brings a token from a snapshot it has not seen, refresh first. Times
//! and durations are in any one unit (the JS clients use milliseconds,
//! Python seconds).
//!
//! - A snapshot is used for `ttl` after the last successful check; a `ttl`
//!   of 0 refreshes on every call, a negative one never.
//! - Without a snapshot, every call refreshes.
//! - After a failure, no call waits for the source for `retry` (at most
//!   `ttl`): calls answer from what they have.
//! - A token from an unseen snapshot may refresh once `retry` has passed
//!   since the last check, and never within the backoff (which snapshots
//!   count as seen is the host's to track).
//! - A request pinned to another snapshot than the one held (see
//!   `published::pinned`) may read that snapshot from the source, but never
//!   within the backoff either: no request waits on a source that failed
//!   within it.

/// A client's time to live and retry interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefreshPolicy {
    ttl: f64,
    retry: f64,
}

/// What the client knows when it schedules: whether it holds a snapshot,
/// when its last successful check was, and when its last failure was (0
/// for never).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefreshState {
    /// Whether the client holds a snapshot.
    pub has_snapshot: bool,
    /// When the source last answered (0 for never).
    pub checked_at: f64,
    /// When the source last failed (0 for never).
    pub failed_at: f64,
}

/// From when calls refresh: `call` for any call, `token` for a call with a
/// token from a snapshot the client has not seen. A call at `now` refreshes
/// when `now >= call` (or `now >= token`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefreshDeadlines {
    /// From when any call refreshes first.
    pub call: f64,
    /// From when a call with a token from an unseen snapshot refreshes first.
    pub token: f64,
    /// From when a pinned request may read its snapshot from the source.
    pub pin: f64,
}

impl RefreshPolicy {
    /// `ttl` below 0 is forever; `retry` is capped at `ttl`.
    pub fn new(ttl: f64, retry: f64) -> RefreshPolicy {
        let ttl = if ttl < 0.0 { f64::INFINITY } else { ttl };
        let retry = if ttl < retry { ttl } else { retry };
        RefreshPolicy { ttl, retry }
    }

    /// The time to live, after the rule for negative values.
    pub fn ttl(&self) -> f64 {
        self.ttl
    }

    /// The retry interval, after the cap.
    pub fn retry(&self) -> f64 {
        self.retry
    }

    /// When calls refresh, for `state`.
    pub fn deadlines(&self, state: RefreshState) -> RefreshDeadlines {
        // A failure after the last good check holds every call off for `retry`.
        let backoff_end = if state.failed_at > state.checked_at {
            state.failed_at + self.retry
        } else {
            f64::NEG_INFINITY
        };
        let call = if state.has_snapshot {
            later(backoff_end, state.checked_at + self.ttl)
        } else {
            backoff_end
        };
        let token = if state.has_snapshot {
            later(backoff_end, state.checked_at + self.retry)
        } else {
            f64::INFINITY
        };
        RefreshDeadlines {
            call,
            token,
            pin: backoff_end,
        }
    }
}

/// The later of two times. A NaN `b` (from a NaN time to live) wins, so
/// that the time never comes.
fn later(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(has_snapshot: bool, checked_at: f64, failed_at: f64) -> RefreshState {
        RefreshState {
            has_snapshot,
            checked_at,
            failed_at,
        }
    }

    #[test]
    fn a_cold_client_refreshes_at_once_and_backs_off_after_a_failure() {
        let policy = RefreshPolicy::new(15_000.0, 1_000.0);
        assert_eq!(
            policy.deadlines(state(false, 0.0, 0.0)).call,
            f64::NEG_INFINITY
        );
        assert_eq!(policy.deadlines(state(false, 0.0, 5_000.0)).call, 6_000.0);
    }

    #[test]
    fn a_snapshot_is_used_for_its_time_to_live() {
        let policy = RefreshPolicy::new(15_000.0, 1_000.0);
        let d = policy.deadlines(state(true, 10_000.0, 0.0));
        assert_eq!((d.call, d.token), (25_000.0, 11_000.0));
        assert_eq!(
            RefreshPolicy::new(-1.0, 1_000.0)
                .deadlines(state(true, 10.0, 0.0))
                .call,
            f64::INFINITY
        );
    }

    #[test]
    fn no_pinned_snapshot_is_read_within_the_backoff() {
        let policy = RefreshPolicy::new(15_000.0, 1_000.0);
        assert_eq!(
            policy.deadlines(state(true, 10_000.0, 0.0)).pin,
            f64::NEG_INFINITY
        );
        assert_eq!(
            policy.deadlines(state(true, 10_000.0, 12_000.0)).pin,
            13_000.0
        );
        // A success since the failure ends the backoff.
        assert_eq!(
            policy.deadlines(state(true, 12_500.0, 12_000.0)).pin,
            f64::NEG_INFINITY
        );
    }

    #[test]
    fn the_retry_interval_is_at_most_the_time_to_live() {
        assert_eq!(RefreshPolicy::new(500.0, 1_000.0).retry(), 500.0);
        assert_eq!(RefreshPolicy::new(0.0, 1_000.0).retry(), 0.0);
    }

    #[test]
    fn a_nan_time_to_live_never_refreshes_a_held_snapshot() {
        let d = RefreshPolicy::new(f64::NAN, 1_000.0).deadlines(state(true, 10.0, 0.0));
        assert!(
            d.call.is_nan(),
            "a NaN time to live gives a time that never comes"
        );
    }
}
