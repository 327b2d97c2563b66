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
//! | 1     | format version (1)                                             |
//! | 8     | the upstream snapshot's id                                     |
//! | 8     | the context binding: SHA-256 over its kinds and keys           |
//! | 6     | issued at, milliseconds since the epoch                        |
//! | 2     | time to live, seconds                                          |
//! | 1     | number of decisions                                            |
//! | each  | 6 bytes of SHA-256(flag key), the answer packed as in [`crate::host`] (LEB128), 6 bytes of SHA-256 over the flag key and the answer's JSON |
//! | 32    | HMAC-SHA256 with the signing key over everything before        |
//!
//! Twenty decisions make 482 characters. The answer's hash lets a
//! downstream snapshot rebuild the answer (value, rule id, prerequisite key)
//! from the packed form and prove it is the same; a flag whose variations or
//! rules changed so that it cannot is evaluated normally instead.
//!
//! A token that is malformed, badly signed, expired, or bound to other keys
//! is refused with a [`TokenError`]: it never decides anything.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::context::Context;
use crate::eval::Evaluation;
use crate::host;
use crate::reason::ReasonKind;
use crate::snapshot::Snapshot;

/// What a token starts with.
pub const PREFIX: &str = "fc1.";

/// The shortest signing key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

/// How far in the future a token's issue time may be (clock skew between
/// functions), in milliseconds.
const SKEW_MS: u64 = 60_000;

const VERSION: u8 = 1;
const HEADER: usize = 1 + 8 + 8 + 6 + 2 + 1;
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
    /// Issued for other context keys.
    WrongContext,
    /// The context cannot be evaluated, so no token can be made for it.
    InvalidContext,
}

impl TokenErrorCode {
    /// The stable code: `TOKEN_EXPIRED` and so on.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenErrorCode::NoKey => "TOKEN_NO_KEY",
            TokenErrorCode::Malformed => "TOKEN_MALFORMED",
            TokenErrorCode::BadSignature => "TOKEN_BAD_SIGNATURE",
            TokenErrorCode::Expired => "TOKEN_EXPIRED",
            TokenErrorCode::NotYetValid => "TOKEN_NOT_YET_VALID",
            TokenErrorCode::WrongContext => "TOKEN_WRONG_CONTEXT",
            TokenErrorCode::InvalidContext => "TOKEN_INVALID_CONTEXT",
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
    fn new(code: TokenErrorCode, message: impl Into<String>) -> Self {
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
    binding: [u8; 8],
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

/// Binds a token to the context's kinds and keys (in kind order).
fn binding(context: &Context) -> [u8; 8] {
    let mut hasher = Sha256::new();
    for kind in context.kinds() {
        hasher.update(kind.as_bytes());
        hasher.update([0]);
        hasher.update(context.key(kind).unwrap_or_default().as_bytes());
        hasher.update([0]);
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
    if key.len() < MIN_KEY_BYTES {
        return Err(TokenError::new(
            TokenErrorCode::NoKey,
            format!("the signing key must have at least {MIN_KEY_BYTES} bytes"),
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

/// Issues a token for `context` holding the answers of `flag_keys` in
/// `snapshot`, signed with `key`, valid for `ttl_seconds` from `now_ms`.
/// Flags that are unknown or answer an error are left out: downstream
/// evaluates those itself.
pub fn issue(
    snapshot: &Snapshot,
    context: &Context,
    flag_keys: &[&str],
    key: &[u8],
    now_ms: u64,
    ttl_seconds: u16,
) -> Result<String, TokenError> {
    let mut signer = mac(key)?;
    let mut payload = Vec::with_capacity(HEADER + flag_keys.len() * 16 + MAC);
    payload.push(VERSION);
    payload.extend_from_slice(&hex_id(snapshot.id()));
    payload.extend_from_slice(&binding(context));
    payload.extend_from_slice(&now_ms.min((1 << 48) - 1).to_be_bytes()[2..]);
    payload.extend_from_slice(&ttl_seconds.to_be_bytes());
    let count_at = payload.len();
    payload.push(0);
    let mut count = 0u8;
    for flag_key in flag_keys {
        if count == u8::MAX {
            break;
        }
        let evaluation = snapshot.evaluate(flag_key, context);
        if matches!(evaluation.reason.kind, ReasonKind::Error(_)) {
            continue;
        }
        let Some(packed) = host::pack_bits(
            snapshot,
            flag_key,
            evaluation.variation_index,
            &evaluation.reason,
        ) else {
            continue;
        };
        payload.extend_from_slice(&flag_hash(flag_key));
        leb128(packed, &mut payload);
        payload.extend_from_slice(&answer_hash(flag_key, &evaluation));
        count += 1;
    }
    if let Some(slot) = payload.get_mut(count_at) {
        *slot = count;
    }
    signer.update(&payload);
    payload.extend_from_slice(&signer.finalize().into_bytes());
    Ok(format!("{PREFIX}{}", base64url::encode(&payload)))
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

/// Checks a token's signature and time, and reads it.
pub fn verify(text: &str, key: &[u8], now_ms: u64) -> Result<Token, TokenError> {
    let mut verifier = mac(key)?;
    let body = text
        .trim()
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
    let binding = first(reader.read(8)?);
    let issued_ms = reader
        .read(6)?
        .iter()
        .fold(0u64, |n, b| (n << 8) | u64::from(*b));
    let ttl = reader
        .read(2)?
        .iter()
        .fold(0u64, |n, b| (n << 8) | u64::from(*b));
    let count = reader.read(1)?.first().copied().unwrap_or(0);
    let mut decisions = Vec::with_capacity(usize::from(count));
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
    let expires_ms = issued_ms.saturating_add(ttl.saturating_mul(1000));
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
    /// propagated marker; `None` when the token does not decide the flag or
    /// `snapshot` cannot reproduce the answer exactly.
    pub(crate) fn decide<'a>(
        &self,
        snapshot: &'a Snapshot,
        flag_key: &str,
    ) -> Option<Evaluation<'a>> {
        let hash = flag_hash(flag_key);
        let decision = self.decisions.iter().find(|d| d.flag == hash)?;
        let mut evaluation = host::unpack(snapshot, flag_key, decision.packed)?;
        if answer_hash(flag_key, &evaluation) != decision.check {
            return None;
        }
        evaluation.reason.propagated = true;
        Some(evaluation)
    }

    /// How many of its decisions `snapshot` reproduces: the rest (flags
    /// whose variations or rules changed since) are evaluated normally.
    pub fn reproducible(&self, snapshot: &Snapshot) -> usize {
        let decided: std::collections::HashSet<[u8; HASH]> =
            self.decisions.iter().map(|d| d.flag).collect();
        snapshot
            .flag_keys()
            .iter()
            .filter(|key| decided.contains(&flag_hash(key)) && self.decide(snapshot, key).is_some())
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

    #[test]
    fn a_downstream_snapshot_answers_as_upstream_did() {
        let (before, after) = (snapshot(10_000), snapshot(50_000));
        let keys: Vec<String> = before.flag_keys().to_vec();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut moved = 0;
        for n in 0..200 {
            let context = user(&format!("user-{n}"));
            let token = issue(&before, &context, &keys, KEY, 1_000_000, 60).unwrap();
            assert!(
                token.len() <= 1024,
                "{} characters for 20 flags",
                token.len()
            );
            assert!(token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
            let verified = verify(&token, KEY, 1_030_000).unwrap();
            assert_eq!((verified.snapshot_id(), verified.len()), (before.id(), 20));
            let carried = context.clone().with_token(verified).unwrap();
            for key in &keys {
                let upstream = before.evaluate(key, &context);
                let fresh = after.evaluate(key, &context);
                let downstream = after.evaluate(key, &carried);
                moved += usize::from(fresh.variation_index != upstream.variation_index);
                assert_eq!(
                    (downstream.value, downstream.variation_index),
                    (upstream.value, upstream.variation_index)
                );
                let mut expected = upstream.reason;
                expected.propagated = true;
                assert_eq!(downstream.reason, expected);
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

    #[test]
    fn refused_tokens_decide_nothing() {
        let s = snapshot(10_000);
        let context = user("user-1");
        let token = issue(
            &s,
            &context,
            &["canary-release-flag-00"],
            KEY,
            1_000_000,
            60,
        )
        .unwrap();
        let code = |result: Result<Token, TokenError>| result.map(|_| ()).unwrap_err().code();
        assert_eq!(
            code(verify(
                &token,
                b"another key, 32 bytes long......",
                1_000_000
            )),
            TokenErrorCode::BadSignature
        );
        assert_eq!(
            code(verify(&token, b"short", 1_000_000)),
            TokenErrorCode::NoKey
        );
        assert_eq!(
            code(verify(&token, KEY, 1_060_000)),
            TokenErrorCode::Expired
        );
        assert_eq!(
            code(verify(&token, KEY, 900_000)),
            TokenErrorCode::NotYetValid
        );
        assert_eq!(
            code(verify("fc1.!!", KEY, 1_000_000)),
            TokenErrorCode::Malformed
        );
        assert_eq!(
            code(verify("eyJhbGciOi", KEY, 1_000_000)),
            TokenErrorCode::Malformed
        );
        // Any changed character breaks the signature (or the encoding).
        for i in PREFIX.len()..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(verify(&changed, KEY, 1_000_000).is_err(), "position {i}");
        }
        let verified = verify(&token, KEY, 1_000_000).unwrap();
        assert_eq!(
            user("user-2")
                .with_token(verified.clone())
                .unwrap_err()
                .code(),
            TokenErrorCode::WrongContext
        );
        assert_eq!(verified.reproducible(&s), 1);
    }

    #[test]
    fn a_changed_flag_is_evaluated_normally() {
        let s = snapshot(100_000);
        let context = user("user-1");
        let token = verify(
            &issue(&s, &context, &["canary-release-flag-00"], KEY, 0, 60).unwrap(),
            KEY,
            0,
        )
        .unwrap();
        // The same flag with its variations swapped: index 1 is now `false`.
        let changed = Snapshot::from_json(
            br#"{"flags": {"canary-release-flag-00": {"on": true, "variations": [true, false], "fallthrough": {"variation": 0}}}}"#,
        )
        .unwrap();
        assert_eq!(token.reproducible(&changed), 0);
        let carried = context.clone().with_token(token).unwrap();
        let answer = changed.evaluate("canary-release-flag-00", &carried);
        assert_eq!(
            (answer.variation_index, answer.reason.propagated),
            (Some(0), false)
        );
    }
}
