//! Decision tokens: one decision per user across a call chain.
//!
//! A function that evaluated flags for a context issues a token holding its
//! answers; it passes the token with its downstream call (a W3C `baggage`
//! entry, an HTTP header). A downstream function that attaches the verified
//! token to the same context answers those flags exactly as upstream did,
//! even when its own snapshot changed in between, with `"propagated": true`
//! added to the reason.
//!
//! A token is `fc1.` and the URL-safe base64 (no padding) of:
//!
//! | bytes | field                                                          |
//! |-------|----------------------------------------------------------------|
//! | 1     | format version (2)                                             |
//! | 8     | the upstream snapshot's id                                     |
//! | 16    | the context binding: SHA-256 over its kinds and keys, each length-prefixed |
//! | 6     | issued at, milliseconds since the epoch                        |
//! | 4     | lifetime, milliseconds                                         |
//! | 1     | number of decisions, at most [`MAX_DECISIONS`]                 |
//! | each  | 6 bytes of SHA-256(flag key), the answer packed as in `crate::packed` (version 1, LEB128), 6 bytes of SHA-256 over the flag key and the answer's JSON |
//! | 32    | HMAC-SHA256 with the signing key over everything before        |
//!
//! Twenty decisions make about 500 characters; [`MAX_DECISIONS`] fit in one
//! 4,096-byte `baggage` member. The answer's hash lets a downstream snapshot
//! rebuild the answer (value, rule id, prerequisite key) from the packed
//! form and prove it is the same; a flag whose variations or rules changed
//! so that it cannot is evaluated normally instead.
//!
//! What a token can never do:
//! - decide a flag that the receiving snapshot has turned off, or whose
//!   prerequisites it has turned off or deleted: the kill switch wins;
//! - decide a flag the receiving snapshot does not have;
//! - decide for another context: the binding covers every kind and key;
//! - decide after it expired: expiry is checked at every evaluation, and a
//!   token re-issued from a token-carrying context keeps the original expiry;
//! - live longer than the receiver allows (`max_lifetime_ms` of [`verify`]).
//!
//! A token that is malformed, badly signed, expired, or bound to other keys
//! is refused with a [`TokenError`]: it never decides anything.
//!
//! The module's rooms: `wire` the bytes (layout, hashes, signing key,
//! LEB128; base64 is [`crate::base64`]), `issue` and [`verify`] the two ends, and `decide` the rule a
//! verified token answers by at evaluation. Whether a token or the snapshot
//! answers a flag is [`crate::Scope`]'s choice, and a token is issued from
//! a scope: [`crate::Snapshot::decision_token`].

use std::fmt;

use serde_json::{json, Value};

use crate::context::Context;

mod decide;
mod issue;
mod verify;
mod wire;

pub(crate) use issue::issue;
pub use verify::verify;
use wire::{binding, BINDING, HASH};

/// What a token starts with.
pub const PREFIX: &str = "fc1.";

/// The shortest signing key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

/// The most decisions one token carries: with them it still fits one
/// 4,096-byte W3C `baggage` member, which OpenTelemetry's propagators keep.
pub const MAX_DECISIONS: usize = 128;

/// The longest token text accepted, in characters (a full token of
/// [`MAX_DECISIONS`] is shorter).
pub const MAX_TOKEN_CHARS: usize = 4_000;

/// The longest lifetime a token can be issued with, in milliseconds (one hour).
pub const MAX_TTL_MS: u64 = 3_600_000;

/// The longest lifetime a receiver accepts unless told otherwise, in
/// milliseconds (five minutes): a leaked token decides for no longer.
pub const DEFAULT_MAX_LIFETIME_MS: u64 = 300_000;

/// How far in the future a token's issue time may be (clock skew between
/// functions), in milliseconds.
pub(crate) const SKEW_MS: u64 = 60_000;

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenErrorCode {
    /// No signing key, or one shorter than [`MIN_KEY_BYTES`].
    NoKey,
    /// Not a flagcore token, or damaged.
    Malformed,
    /// The signature does not match: another key, or a forged token.
    BadSignature,
    /// Past its time to live.
    Expired,
    /// Issued further in the future than clocks drift.
    NotYetValid,
    /// Issued with a longer lifetime than the receiver accepts.
    LifetimeTooLong,
    /// Issued for other context keys.
    WrongContext,
    /// The context cannot be evaluated, so no token can be made for it.
    InvalidContext,
    /// A time to live that is not a number of seconds in (0, 3600].
    InvalidTtl,
    /// More flags than [`MAX_DECISIONS`], or a text longer than [`MAX_TOKEN_CHARS`].
    TooLarge,
}

impl TokenErrorCode {
    /// Every code, for tests that prove each one is reachable.
    pub const ALL: [TokenErrorCode; 10] = [
        TokenErrorCode::NoKey,
        TokenErrorCode::Malformed,
        TokenErrorCode::BadSignature,
        TokenErrorCode::Expired,
        TokenErrorCode::NotYetValid,
        TokenErrorCode::LifetimeTooLong,
        TokenErrorCode::WrongContext,
        TokenErrorCode::InvalidContext,
        TokenErrorCode::InvalidTtl,
        TokenErrorCode::TooLarge,
    ];

    /// The stable code: `TOKEN_EXPIRED` and so on.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenErrorCode::NoKey => "TOKEN_NO_KEY",
            TokenErrorCode::Malformed => "TOKEN_MALFORMED",
            TokenErrorCode::BadSignature => "TOKEN_BAD_SIGNATURE",
            TokenErrorCode::Expired => "TOKEN_EXPIRED",
            TokenErrorCode::NotYetValid => "TOKEN_NOT_YET_VALID",
            TokenErrorCode::LifetimeTooLong => "TOKEN_LIFETIME_TOO_LONG",
            TokenErrorCode::WrongContext => "TOKEN_WRONG_CONTEXT",
            TokenErrorCode::InvalidContext => "TOKEN_INVALID_CONTEXT",
            TokenErrorCode::InvalidTtl => "TOKEN_INVALID_TTL",
            TokenErrorCode::TooLarge => "TOKEN_TOO_LARGE",
        }
    }
}

/// A token that cannot be issued or used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    code: TokenErrorCode,
    message: String,
}

impl TokenError {
    pub(crate) fn new(code: TokenErrorCode, message: impl Into<String>) -> Self {
        TokenError {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn wrong_context() -> Self {
        TokenError::new(
            TokenErrorCode::WrongContext,
            "the token was issued for another context's keys",
        )
    }

    /// The stable code.
    pub fn code(&self) -> TokenErrorCode {
        self.code
    }

    /// What is wrong, for a person.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for TokenError {}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Decision {
    flag: [u8; HASH],
    packed: u64,
    check: [u8; HASH],
}

/// A verified token: upstream's decisions for one context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    snapshot_id: String,
    binding: [u8; BINDING],
    issued_ms: u64,
    expires_ms: u64,
    decisions: Vec<Decision>,
}

/// A time to live in seconds, as hosts take it from their users, in whole
/// milliseconds for [`crate::Snapshot::decision_token`]: 0 under a
/// millisecond (NaN, the infinities, anything not positive) and `u64::MAX`
/// over [`MAX_TTL_MS`], both of which it refuses with `TOKEN_INVALID_TTL`;
/// the limit is checked before the fraction is cut off, so 3600.0005 s is
/// refused. Every binding converts with this, so all refuse alike.
pub fn ttl_ms_from_seconds(ttl_seconds: f64) -> u64 {
    let ms = ttl_seconds * 1000.0;
    if !(ms.is_finite() && ms >= 1.0) {
        0
    } else if ms > MAX_TTL_MS as f64 {
        u64::MAX
    } else {
        ms as u64
    }
}

/// What became of the decision token a request carried, for a host to
/// report (see [`crate::Scope::attach`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenStatus {
    /// The request carried no token.
    Absent,
    /// The token verified for the context and decides `flags` flags.
    Applied {
        /// The id of the snapshot upstream answered from.
        snapshot_id: String,
        /// How many flags it decides.
        flags: usize,
        /// When upstream issued it, in milliseconds since the epoch.
        issued_ms: u64,
        /// When it stops deciding, in milliseconds since the epoch.
        expires_ms: u64,
    },
    /// The token was refused, and decides nothing.
    Refused(TokenError),
}

impl TokenStatus {
    /// The status as every host reports it: `{"applied": true, "snapshotId",
    /// "flags", "issuedMs", "expiresMs"}`, `{"applied": false, "code",
    /// "message"}`, or `{"applied": false}` when there was no token.
    pub fn to_value(&self) -> Value {
        match self {
            TokenStatus::Absent => json!({"applied": false}),
            TokenStatus::Applied {
                snapshot_id,
                flags,
                issued_ms,
                expires_ms,
            } => json!({"applied": true, "snapshotId": snapshot_id, "flags": flags,
                "issuedMs": issued_ms, "expiresMs": expires_ms}),
            TokenStatus::Refused(error) => {
                json!({"applied": false, "code": error.code().as_str(), "message": error.message()})
            }
        }
    }
}

/// The token in a header value: the value itself when it is a token, or
/// the `flagcore` member of a W3C `baggage` header
/// (`baggage: userId=alice,flagcore=fc1.…`).
pub fn from_header(value: &str) -> Option<&str> {
    let value = value.trim();
    if value.starts_with(PREFIX) {
        return Some(value);
    }
    value.split(',').find_map(|member| {
        let (name, rest) = member.split_once('=')?;
        let token = rest.split(';').next()?.trim();
        (name.trim() == "flagcore" && !token.is_empty()).then_some(token)
    })
}

impl Token {
    /// The id of the snapshot upstream answered from.
    pub fn snapshot_id(&self) -> &str {
        &self.snapshot_id
    }

    /// When upstream issued it, in milliseconds since the epoch.
    pub fn issued_ms(&self) -> u64 {
        self.issued_ms
    }

    /// When it stops deciding, in milliseconds since the epoch.
    pub fn expires_ms(&self) -> u64 {
        self.expires_ms
    }

    /// Whether it still decides at `now_ms`.
    pub fn live(&self, now_ms: u64) -> bool {
        now_ms < self.expires_ms
    }

    /// How many flags it decides.
    pub fn len(&self) -> usize {
        self.decisions.len()
    }

    /// Whether it decides no flag.
    pub fn is_empty(&self) -> bool {
        self.decisions.is_empty()
    }

    /// Whether it was issued for this context's kinds and keys.
    pub fn binds(&self, context: &Context) -> bool {
        self.binding == binding(context)
    }
}

#[cfg(test)]
mod tests;
