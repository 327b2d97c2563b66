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

use std::collections::HashSet;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::context::Context;
use crate::eval::Evaluation;
use crate::packed;
use crate::reason::ReasonKind;
use crate::snapshot::Snapshot;

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
const SKEW_MS: u64 = 60_000;

const VERSION: u8 = 2;

// Format 2 carries packed answers of version 1: a new packed layout needs a
// new token format too, so that no token is read with the wrong layout.
const _: () = assert!(VERSION == 2 && packed::VERSION == 1);
const HEADER: usize = 1 + 8 + BINDING + 6 + 4 + 1;
const BINDING: usize = 16;
const MAC: usize = 32;
const HASH: usize = 6;

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

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn first<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
}

fn flag_hash(key: &str) -> [u8; HASH] {
    first(&sha256(&[b"flag\0", key.as_bytes()]))
}

/// Binds a token to the context's kinds and keys (in kind order). Every
/// part is length-prefixed, so no two contexts share an encoding.
fn binding(context: &Context) -> [u8; BINDING] {
    fn part(hasher: &mut Sha256, bytes: &[u8]) {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    }
    let mut hasher = Sha256::new();
    hasher.update(b"flagcore context binding\0");
    hasher.update((context.kinds().count() as u64).to_be_bytes());
    for kind in context.kinds() {
        part(&mut hasher, kind.as_bytes());
        part(
            &mut hasher,
            context.key(kind).unwrap_or_default().as_bytes(),
        );
    }
    first(&hasher.finalize())
}

/// The hash of an answer as LaunchDarkly's JSON has it, without the
/// propagated marker: equal hashes mean equal value, index and reason.
fn answer_hash(key: &str, evaluation: &Evaluation<'_>) -> [u8; HASH] {
    let mut reason = evaluation.reason;
    reason.propagated = false;
    let value = evaluation.value.cloned().unwrap_or_default();
    let json = serde_json::json!({"value": value, "variationIndex": evaluation.variation_index, "reason": reason});
    first(&sha256(&[
        b"answer\0",
        key.as_bytes(),
        b"\0",
        json.to_string().as_bytes(),
    ]))
}

fn mac(key: &[u8]) -> Result<Hmac<Sha256>, TokenError> {
    if key.is_empty() {
        return Err(TokenError::new(
            TokenErrorCode::NoKey,
            format!(
                "no signing key: set FLAGCORE_SIGNING_KEY (or give the client a signing key) to a \
                 secret of at least {MIN_KEY_BYTES} bytes, the same in every function of the call chain"
            ),
        ));
    }
    if key.len() < MIN_KEY_BYTES {
        return Err(TokenError::new(
            TokenErrorCode::NoKey,
            format!(
                "the signing key has {} bytes and needs at least {MIN_KEY_BYTES}: set \
                 FLAGCORE_SIGNING_KEY (or the client's signing key) to a longer secret",
                key.len()
            ),
        ));
    }
    Hmac::<Sha256>::new_from_slice(key)
        .map_err(|_| TokenError::new(TokenErrorCode::NoKey, "unusable signing key"))
}

fn hex_id(id: &str) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = id
            .get(i * 2..i * 2 + 2)
            .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            .unwrap_or(0);
    }
    out
}

/// A time to live in seconds, as a host passes it, in milliseconds: refused
/// unless it is a number in (0, 3600].
pub fn ttl_ms(ttl_seconds: f64) -> Result<u64, TokenError> {
    let ms = ttl_seconds * 1000.0;
    if ms.is_finite() && ms >= 1.0 && ms <= MAX_TTL_MS as f64 {
        Ok(ms as u64)
    } else {
        Err(TokenError::new(
            TokenErrorCode::InvalidTtl,
            format!(
                "the time to live must be more than 0 and at most {} seconds, not {ttl_seconds}",
                MAX_TTL_MS / 1000
            ),
        ))
    }
}

/// Issues a token for `context` holding the answers of `flag_keys` in
/// `snapshot`, signed with `key`, valid for `ttl_ms` from `now_ms`.
/// Flags that are unknown or answer an error are left out: downstream
/// evaluates those itself. A context that carries an unexpired token
/// (`carried`, verified for it) passes its decisions on, and the new token
/// expires no later than that one.
#[allow(clippy::too_many_arguments)]
pub fn issue(
    snapshot: &Snapshot,
    context: &Context,
    carried: Option<&Token>,
    flag_keys: &[&str],
    key: &[u8],
    now_ms: u64,
    ttl_ms: u64,
) -> Result<String, TokenError> {
    let mut signer = mac(key)?;
    if ttl_ms == 0 || ttl_ms > MAX_TTL_MS {
        return Err(TokenError::new(
            TokenErrorCode::InvalidTtl,
            format!("the time to live must be in (0, {MAX_TTL_MS}] ms, not {ttl_ms}"),
        ));
    }
    let now_ms = now_ms.min((1 << 48) - 1);
    let mut expires_ms = now_ms.saturating_add(ttl_ms);
    if let Some(carried) = carried.filter(|t| t.live(now_ms)) {
        expires_ms = expires_ms.min(carried.expires_ms);
    }
    let mut payload = Vec::with_capacity(HEADER + flag_keys.len() * 16 + MAC);
    payload.push(VERSION);
    payload.extend_from_slice(&hex_id(snapshot.id()));
    payload.extend_from_slice(&binding(context));
    payload.extend_from_slice(&now_ms.to_be_bytes()[2..]);
    let lifetime = u32::try_from(expires_ms - now_ms).unwrap_or(u32::MAX);
    payload.extend_from_slice(&lifetime.to_be_bytes());
    let count_at = payload.len();
    payload.push(0);
    let mut count = 0usize;
    let mut seen = HashSet::new();
    for flag_key in flag_keys {
        let evaluation = answer(snapshot, flag_key, context, carried, now_ms);
        if matches!(evaluation.reason.kind, ReasonKind::Error(_)) || !seen.insert(*flag_key) {
            continue;
        }
        let Some(packed) = packed::pack(
            snapshot,
            flag_key,
            evaluation.variation_index,
            &evaluation.reason,
        ) else {
            continue;
        };
        count += 1;
        if count > MAX_DECISIONS {
            return Err(TokenError::new(
                TokenErrorCode::TooLarge,
                format!("a token decides at most {MAX_DECISIONS} flags: name the flags downstream needs"),
            ));
        }
        payload.extend_from_slice(&flag_hash(flag_key));
        leb128(packed, &mut payload);
        payload.extend_from_slice(&answer_hash(flag_key, &evaluation));
    }
    if let Some(slot) = payload.get_mut(count_at) {
        *slot = u8::try_from(count).unwrap_or(u8::MAX);
    }
    signer.update(&payload);
    payload.extend_from_slice(&signer.finalize().into_bytes());
    Ok(format!("{PREFIX}{}", base64url::encode(&payload)))
}

/// The answer for `flag_key`: the token's decision while it holds one that
/// `snapshot` accepts, otherwise the snapshot's own evaluation. The one
/// rule of [`crate::Scope`]'s evaluations and of re-issued tokens.
pub(crate) fn answer<'a>(
    snapshot: &'a Snapshot,
    flag_key: &str,
    context: &Context,
    token: Option<&Token>,
    now_ms: u64,
) -> Evaluation<'a> {
    token
        .and_then(|t| t.decide(snapshot, flag_key, now_ms))
        .unwrap_or_else(|| snapshot.evaluate(flag_key, context))
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

fn leb128(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads bytes off the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn read(&mut self, n: usize) -> Result<&'a [u8], TokenError> {
        self.take(n).ok_or_else(|| malformed("truncated"))
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }

    fn number(&mut self, n: usize) -> Result<u64, TokenError> {
        Ok(self
            .read(n)?
            .iter()
            .fold(0u64, |n, b| (n << 8) | u64::from(*b)))
    }

    fn leb128(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.take(1)?.first()?;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }
}

fn malformed(message: &str) -> TokenError {
    TokenError::new(TokenErrorCode::Malformed, message)
}

/// Checks a token's signature and time, and reads it. A token issued with
/// a lifetime over `max_lifetime_ms` is refused, however fresh.
pub fn verify(
    text: &str,
    key: &[u8],
    now_ms: u64,
    max_lifetime_ms: u64,
) -> Result<Token, TokenError> {
    let mut verifier = mac(key)?;
    let text = text.trim();
    if text.len() > MAX_TOKEN_CHARS {
        return Err(TokenError::new(
            TokenErrorCode::TooLarge,
            format!("longer than {MAX_TOKEN_CHARS} characters"),
        ));
    }
    let body = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| malformed("not a flagcore token (it starts with fc1.)"))?;
    let bytes = base64url::decode(body).ok_or_else(|| malformed("not URL-safe base64"))?;
    if bytes.len() < HEADER + MAC {
        return Err(malformed("too short"));
    }
    let (payload, signature) = bytes.split_at(bytes.len() - MAC);
    verifier.update(payload);
    verifier.verify_slice(signature).map_err(|_| {
        TokenError::new(
            TokenErrorCode::BadSignature,
            "the signature does not match the signing key",
        )
    })?;
    let mut reader = Reader(payload);
    if reader.read(1)? != [VERSION] {
        return Err(malformed("unknown token version"));
    }
    let snapshot_id: String = reader.read(8)?.iter().map(|b| format!("{b:02x}")).collect();
    let binding = first(reader.read(BINDING)?);
    let issued_ms = reader.number(6)?;
    let lifetime_ms = reader.number(4)?;
    let count = usize::from(reader.read(1)?.first().copied().unwrap_or(0));
    if count > MAX_DECISIONS {
        return Err(TokenError::new(
            TokenErrorCode::TooLarge,
            format!("{count} decisions: a token holds at most {MAX_DECISIONS}"),
        ));
    }
    let mut decisions = Vec::with_capacity(count);
    for _ in 0..count {
        let flag = first(reader.read(HASH)?);
        let packed = reader.leb128().ok_or_else(|| malformed("truncated"))?;
        let check = first(reader.read(HASH)?);
        decisions.push(Decision {
            flag,
            packed,
            check,
        });
    }
    if !reader.0.is_empty() {
        return Err(malformed("trailing bytes"));
    }
    if lifetime_ms > max_lifetime_ms {
        return Err(TokenError::new(
            TokenErrorCode::LifetimeTooLong,
            format!(
                "issued for {} s; this function accepts at most {} s",
                lifetime_ms / 1000,
                max_lifetime_ms / 1000
            ),
        ));
    }
    let expires_ms = issued_ms.saturating_add(lifetime_ms);
    if now_ms >= expires_ms {
        return Err(TokenError::new(
            TokenErrorCode::Expired,
            format!("expired {} s ago", (now_ms - expires_ms) / 1000),
        ));
    }
    if issued_ms > now_ms.saturating_add(SKEW_MS) {
        return Err(TokenError::new(
            TokenErrorCode::NotYetValid,
            "issued in the future",
        ));
    }
    Ok(Token {
        snapshot_id,
        binding,
        issued_ms,
        expires_ms,
        decisions,
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

    /// Upstream's answer for `flag_key`, rebuilt from `snapshot`, with the
    /// propagated marker; `None` when the token does not decide the flag,
    /// has expired at `now_ms`, `snapshot` switched the flag off (or a
    /// prerequisite of it), or cannot reproduce the answer exactly.
    pub(crate) fn decide<'a>(
        &self,
        snapshot: &'a Snapshot,
        flag_key: &str,
        now_ms: u64,
    ) -> Option<Evaluation<'a>> {
        if !self.live(now_ms) {
            return None;
        }
        let hash = flag_hash(flag_key);
        let decision = self.decisions.iter().find(|d| d.flag == hash)?;
        if snapshot.switched_off(flag_key) {
            return None;
        }
        let mut evaluation = packed::unpack(snapshot, flag_key, decision.packed)?;
        if answer_hash(flag_key, &evaluation) != decision.check {
            return None;
        }
        evaluation.reason.propagated = true;
        Some(evaluation)
    }

    /// How many of its decisions `snapshot` applies at `now_ms`: the rest
    /// (flags switched off, deleted, or whose variations or rules changed
    /// since) are evaluated normally.
    pub fn reproducible(&self, snapshot: &Snapshot, now_ms: u64) -> usize {
        let decided: HashSet<[u8; HASH]> = self.decisions.iter().map(|d| d.flag).collect();
        snapshot
            .flag_keys()
            .iter()
            .filter(|key| {
                decided.contains(&flag_hash(key)) && self.decide(snapshot, key, now_ms).is_some()
            })
            .count()
    }
}

/// URL-safe base64 without padding (RFC 4648 §5): every character is allowed
/// in an HTTP header and in a W3C `baggage` value.
mod base64url {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                let index = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(
                    ALPHABET.get(index as usize).copied().unwrap_or(b'A'),
                ));
            }
        }
        out
    }

    fn value(c: u8) -> Option<u32> {
        ALPHABET.iter().position(|a| *a == c).map(|p| p as u32)
    }

    pub fn decode(text: &str) -> Option<Vec<u8>> {
        let text = text.as_bytes();
        if text.len() % 4 == 1 {
            return None;
        }
        let mut out = Vec::with_capacity(text.len() * 3 / 4);
        for chunk in text.chunks(4) {
            let mut n = 0u32;
            for (i, c) in chunk.iter().enumerate() {
                n |= value(*c)? << (18 - 6 * i);
            }
            let bytes = chunk.len() - 1;
            // The bits past the last byte must be zero: one text per token.
            if bytes < 3 && n & (0x00FF_FFFF >> (8 * bytes)) != 0 {
                return None;
            }
            for i in 0..bytes {
                out.push((n >> (16 - 8 * i)) as u8);
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scope;
    use serde_json::json;

    const KEY: &[u8] = b"a signing key of 32 bytes, for tests";

    fn snapshot(weight: u64) -> Snapshot {
        let flag = |key: &str| {
            json!({"key": key, "on": true, "salt": "s", "variations": [false, true], "offVariation": 0,
                "rules": [{"id": "staff", "clauses": [{"attribute": "email", "op": "endsWith", "values": ["@corp.example"]}], "variation": 1}],
                "fallthrough": {"rollout": {"variations": [{"variation": 1, "weight": weight}, {"variation": 0, "weight": 100_000 - weight}]}}})
        };
        let flags: serde_json::Map<String, serde_json::Value> = (0..20)
            .map(|i| format!("canary-release-flag-{i:02}"))
            .map(|k| (k.clone(), flag(&k)))
            .collect();
        Snapshot::from_json(json!({"flags": flags}).to_string().as_bytes()).unwrap()
    }

    fn user(key: &str) -> Context {
        Context::from_value(&json!({"kind": "user", "key": key})).unwrap()
    }

    #[test]
    fn base64url_round_trips() {
        for n in 0..40 {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + n) as u8).collect();
            assert_eq!(
                base64url::decode(&base64url::encode(&bytes)).unwrap(),
                bytes
            );
        }
        assert_eq!(base64url::encode(b"\xfb\xff"), "-_8");
        assert!(base64url::decode("a").is_none() && base64url::decode("a+b=").is_none());
        // Nonzero bits past the last byte: another text for the same bytes.
        assert_eq!(base64url::decode("-_8").unwrap(), b"\xfb\xff");
        assert!(base64url::decode("-_9").is_none());
    }

    const MAX: u64 = DEFAULT_MAX_LIFETIME_MS;

    #[test]
    fn a_downstream_snapshot_answers_as_upstream_did() {
        let (before, after) = (snapshot(10_000), snapshot(50_000));
        let keys: Vec<String> = before.flag_keys().to_vec();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut moved = 0;
        for n in 0..200 {
            let context = user(&format!("user-{n}"));
            let token = issue(&before, &context, None, &keys, KEY, 1_000_000, 60_000).unwrap();
            assert!(
                token.len() <= 1024,
                "{} characters for 20 flags",
                token.len()
            );
            assert!(token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
            let verified = verify(&token, KEY, 1_030_000, MAX).unwrap();
            assert_eq!((verified.snapshot_id(), verified.len()), (before.id(), 20));
            let carried = Scope::with_token(context.clone(), verified).unwrap();
            for key in &keys {
                let upstream = before.evaluate(key, &context);
                let fresh = after.evaluate(key, &context);
                let downstream = after.evaluate_at(key, &carried, 1_030_000);
                moved += usize::from(fresh.variation_index != upstream.variation_index);
                assert_eq!(
                    (downstream.value, downstream.variation_index),
                    (upstream.value, upstream.variation_index)
                );
                let mut expected = upstream.reason;
                expected.propagated = true;
                assert_eq!(downstream.reason, expected);
                // Without a clock, a token decides nothing.
                assert_eq!(after.evaluate(key, carried.context()), fresh);
            }
        }
        assert!(
            moved > 0,
            "the rollout change moved nobody: the test proves nothing"
        );
    }

    #[test]
    fn tokens_are_found_in_baggage_headers() {
        assert_eq!(from_header(" fc1.abc "), Some("fc1.abc"));
        assert_eq!(
            from_header("userId=alice, flagcore=fc1.abc;ttl=5,x=y"),
            Some("fc1.abc")
        );
        assert_eq!(from_header("userId=alice"), None);
        assert_eq!(from_header(""), None);
    }

    fn code(result: Result<impl Sized, TokenError>) -> TokenErrorCode {
        result.map(|_| ()).unwrap_err().code()
    }

    #[test]
    fn refused_tokens_decide_nothing() {
        let s = snapshot(10_000);
        let context = user("user-1");
        let token = issue(
            &s,
            &context,
            None,
            &["canary-release-flag-00"],
            KEY,
            1_000_000,
            60_000,
        )
        .unwrap();
        assert_eq!(
            code(verify(
                &token,
                b"another key, 32 bytes long......",
                1_000_000,
                MAX
            )),
            TokenErrorCode::BadSignature
        );
        assert_eq!(
            code(verify(&token, b"short", 1_000_000, MAX)),
            TokenErrorCode::NoKey
        );
        // Both messages name the setting that fixes them.
        for key in [&b""[..], b"short"] {
            let message = verify(&token, key, 1_000_000, MAX).unwrap_err().message;
            assert!(message.contains("FLAGCORE_SIGNING_KEY"), "{message}");
        }
        assert_eq!(
            code(verify(&token, KEY, 1_060_000, MAX)),
            TokenErrorCode::Expired
        );
        assert_eq!(
            code(verify(&token, KEY, 900_000, MAX)),
            TokenErrorCode::NotYetValid
        );
        assert_eq!(
            code(verify("fc1.!!", KEY, 1_000_000, MAX)),
            TokenErrorCode::Malformed
        );
        assert_eq!(
            code(verify("eyJhbGciOi", KEY, 1_000_000, MAX)),
            TokenErrorCode::Malformed
        );
        assert_eq!(
            code(verify(
                &"A".repeat(MAX_TOKEN_CHARS + 1),
                KEY,
                1_000_000,
                MAX
            )),
            TokenErrorCode::TooLarge
        );
        // Any changed character breaks the signature (or the encoding).
        for i in PREFIX.len()..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(
                verify(&changed, KEY, 1_000_000, MAX).is_err(),
                "position {i}"
            );
        }
        let verified = verify(&token, KEY, 1_000_000, MAX).unwrap();
        assert_eq!(
            Scope::with_token(user("user-2"), verified.clone())
                .unwrap_err()
                .code(),
            TokenErrorCode::WrongContext
        );
        assert_eq!(verified.reproducible(&s, 1_000_000), 1);
    }

    #[test]
    fn a_changed_flag_is_evaluated_normally() {
        let s = snapshot(100_000);
        let context = user("user-1");
        let token = verify(
            &issue(
                &s,
                &context,
                None,
                &["canary-release-flag-00"],
                KEY,
                0,
                60_000,
            )
            .unwrap(),
            KEY,
            0,
            MAX,
        )
        .unwrap();
        // The same flag with its variations swapped: index 1 is now `false`.
        let changed = Snapshot::from_json(
            br#"{"flags": {"canary-release-flag-00": {"on": true, "variations": [true, false], "fallthrough": {"variation": 0}}}}"#,
        )
        .unwrap();
        assert_eq!(token.reproducible(&changed, 0), 0);
        let carried = Scope::with_token(context.clone(), token).unwrap();
        let answer = changed.evaluate_at("canary-release-flag-00", &carried, 0);
        assert_eq!(
            (answer.variation_index, answer.reason.propagated),
            (Some(0), false)
        );
    }

    fn canary(on: bool, prerequisite: Option<bool>) -> Snapshot {
        let mut flags = json!({"canary": {"on": on, "variations": [false, true], "offVariation": 0,
            "fallthrough": {"variation": 1}}});
        if let Some(gate_on) = prerequisite {
            flags["canary"]["prerequisites"] = json!([{"key": "gate", "variation": 1}]);
            flags["gate"] = json!({"on": gate_on, "variations": [false, true], "offVariation": 0,
                "fallthrough": {"variation": 1}});
        }
        Snapshot::from_json(json!({ "flags": flags }).to_string().as_bytes()).unwrap()
    }

    fn carried(upstream: &Snapshot, context: &Context, at: u64) -> Scope {
        let text = issue(upstream, context, None, &["canary"], KEY, at, 60_000).unwrap();
        let token = verify(&text, KEY, at, MAX).unwrap();
        Scope::with_token(context.clone(), token).unwrap()
    }

    #[test]
    fn a_kill_switch_downstream_wins_over_any_token() {
        let context = user("alice");
        for upstream in [canary(true, None), canary(true, Some(true))] {
            let carried = carried(&upstream, &context, 1_000);
            // Still on downstream: upstream's answer, propagated.
            let same = upstream.evaluate_at("canary", &carried, 2_000);
            assert_eq!(
                (same.variation_index, same.reason.propagated),
                (Some(1), true)
            );
            // Turned off downstream: OFF, whatever the token says.
            let (off_downstream, gated_downstream) =
                (canary(false, Some(true)), canary(true, Some(false)));
            let off = off_downstream.evaluate_at("canary", &carried, 2_000);
            assert_eq!(
                (off.variation_index, off.reason.kind),
                (Some(0), ReasonKind::Off)
            );
            assert!(!off.reason.propagated);
            // A prerequisite turned off downstream: the flag's kill switch too.
            let gated = gated_downstream.evaluate_at("canary", &carried, 2_000);
            assert_eq!(gated.variation_index, Some(0));
            assert!(matches!(
                gated.reason.kind,
                ReasonKind::PrerequisiteFailed { .. }
            ));
            // All-flags state agrees with the single evaluations.
            let state = off_downstream.all_flags_state_at(
                &carried,
                crate::AllFlagsOptions::default(),
                2_000,
            );
            assert_eq!(state.value("canary"), Some(Some(&json!(false))));
        }
    }

    #[test]
    fn all_flags_state_answers_as_the_token_does() {
        let context = user("alice");
        let carried = carried(&canary(true, None), &context, 1_000);
        let changed = Snapshot::from_json(
            br#"{"flags": {"canary": {"on": true, "variations": [false, true], "offVariation": 0,
                "fallthrough": {"variation": 0}}}}"#,
        )
        .unwrap();
        let options = crate::AllFlagsOptions {
            with_reasons: true,
            ..Default::default()
        };
        let state = changed.all_flags_state_at(&carried, options, 2_000);
        assert_eq!(state.value("canary"), Some(Some(&json!(true))));
        let detail = changed.evaluate_at("canary", &carried, 2_000);
        assert_eq!(detail.value, Some(&json!(true)));
        // After expiry both answer from the snapshot.
        let state = changed.all_flags_state_at(&carried, options, 61_000);
        assert_eq!(state.value("canary"), Some(Some(&json!(false))));
    }

    #[test]
    fn expiry_is_checked_at_every_evaluation() {
        let context = user("alice");
        let upstream = canary(true, None);
        let carried = carried(&upstream, &context, 1_000);
        let changed = Snapshot::from_json(
            br#"{"flags": {"canary": {"on": true, "variations": [false, true], "fallthrough": {"variation": 0}}}}"#,
        )
        .unwrap();
        assert_eq!(
            changed
                .evaluate_at("canary", &carried, 60_999)
                .variation_index,
            Some(1)
        );
        let expired = changed.evaluate_at("canary", &carried, 61_000);
        assert_eq!(
            (expired.variation_index, expired.reason.propagated),
            (Some(0), false)
        );
    }

    #[test]
    fn a_reissued_token_keeps_the_original_expiry() {
        let context = user("alice");
        let upstream = canary(true, None);
        let middle = carried(&upstream, &context, 1_000);
        // Re-issued 50 s later for another minute: it still ends at 61 s.
        let text = issue(
            &upstream,
            middle.context(),
            middle.token(),
            &["canary"],
            KEY,
            51_000,
            60_000,
        )
        .unwrap();
        let reissued = verify(&text, KEY, 52_000, MAX).unwrap();
        assert_eq!(reissued.expires_ms(), 61_000);
        assert_eq!(
            code(verify(&text, KEY, 61_000, MAX)),
            TokenErrorCode::Expired
        );
        // From an expired token's context it is a fresh decision with its own lifetime.
        let text = issue(
            &upstream,
            middle.context(),
            middle.token(),
            &["canary"],
            KEY,
            70_000,
            60_000,
        )
        .unwrap();
        assert_eq!(
            verify(&text, KEY, 70_000, MAX).unwrap().expires_ms(),
            130_000
        );
    }

    #[test]
    fn lifetimes_are_bounded_when_issued_and_when_received() {
        for bad in [-1.0, 0.0, f64::NAN, f64::INFINITY, 3_600.5, 1e12] {
            assert_eq!(code(ttl_ms(bad)), TokenErrorCode::InvalidTtl, "{bad}");
        }
        assert_eq!(ttl_ms(0.5).unwrap(), 500);
        assert_eq!(ttl_ms(3_600.0).unwrap(), MAX_TTL_MS);
        let s = canary(true, None);
        let context = user("alice");
        assert_eq!(
            code(issue(&s, &context, None, &["canary"], KEY, 0, 0)),
            TokenErrorCode::InvalidTtl
        );
        let long = issue(&s, &context, None, &["canary"], KEY, 1_000, 600_000).unwrap();
        assert_eq!(
            code(verify(&long, KEY, 1_000, MAX)),
            TokenErrorCode::LifetimeTooLong
        );
        assert!(verify(&long, KEY, 1_000, 600_000).is_ok());
    }

    #[test]
    fn the_binding_separates_every_kind_and_key() {
        let s = canary(true, None);
        let collides =
            Context::from_value(&json!({"kind": "org", "key": "acme\u{0}user\u{0}alice"})).unwrap();
        let multi = Context::from_value(
            &json!({"kind": "multi", "org": {"key": "acme"}, "user": {"key": "alice"}}),
        )
        .unwrap();
        let text = issue(&s, &collides, None, &["canary"], KEY, 1_000, 60_000).unwrap();
        let token = verify(&text, KEY, 1_000, MAX).unwrap();
        assert!(token.binds(&collides));
        assert_eq!(std::mem::size_of_val(&binding(&multi)), 16);
        assert_eq!(
            Scope::with_token(multi, token).unwrap_err().code(),
            TokenErrorCode::WrongContext
        );
        assert_ne!(
            binding(&user("ab")),
            binding(&Context::new("user", "a").unwrap())
        );
    }

    #[test]
    fn a_token_holds_at_most_max_decisions() {
        let flags: serde_json::Map<String, serde_json::Value> = (0..=MAX_DECISIONS)
            .map(|i| (format!("flag-{i:03}"), json!({"on": true, "variations": [false, true], "fallthrough": {"variation": 1}})))
            .collect();
        let s = Snapshot::from_json(json!({ "flags": flags }).to_string().as_bytes()).unwrap();
        let keys: Vec<String> = s.flag_keys().to_vec();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let context = user("alice");
        assert_eq!(
            code(issue(&s, &context, None, &keys, KEY, 1_000, 60_000)),
            TokenErrorCode::TooLarge
        );
        let full = issue(
            &s,
            &context,
            None,
            &keys[..MAX_DECISIONS],
            KEY,
            1_000,
            60_000,
        )
        .unwrap();
        assert!(
            full.len() + "flagcore=".len() <= 4_096,
            "{} characters",
            full.len()
        );
        assert_eq!(verify(&full, KEY, 1_000, MAX).unwrap().len(), MAX_DECISIONS);
        // The same flag named twice is one decision.
        let twice = issue(
            &s,
            &context,
            None,
            &["flag-000", "flag-000"],
            KEY,
            1_000,
            60_000,
        )
        .unwrap();
        assert_eq!(verify(&twice, KEY, 1_000, MAX).unwrap().len(), 1);
    }
}
