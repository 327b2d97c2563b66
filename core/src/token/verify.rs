//! Verifying: a token's signature, lifetime and time, then its decisions.

use hmac::Mac;

use super::wire::{self, Reader, BINDING, HASH, HEADER, MAC, VERSION};
use super::{
    Decision, Token, TokenError, TokenErrorCode, MAX_DECISIONS, MAX_TOKEN_CHARS, PREFIX, SKEW_MS,
};
use crate::base64;

/// Checks a token's signature and time, and reads it. A token issued with
/// a lifetime over `max_lifetime_ms` is refused, however fresh.
pub fn verify(
    text: &str,
    key: &[u8],
    now_ms: u64,
    max_lifetime_ms: u64,
) -> Result<Token, TokenError> {
    let mut verifier = wire::mac(key)?;
    let text = text.trim();
    if text.len() > MAX_TOKEN_CHARS {
        return Err(TokenError::new(
            TokenErrorCode::TooLarge,
            format!("longer than {MAX_TOKEN_CHARS} characters"),
        ));
    }
    let body = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| wire::malformed("not a flagcore token (it starts with fc1.)"))?;
    let bytes =
        base64::decode_url_safe(body).ok_or_else(|| wire::malformed("not URL-safe base64"))?;
    if bytes.len() < HEADER + MAC {
        return Err(wire::malformed("too short"));
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
        return Err(wire::malformed("unknown token version"));
    }
    let snapshot_id: String = reader.read(8)?.iter().map(|b| format!("{b:02x}")).collect();
    let binding = wire::first(reader.read(BINDING)?);
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
        let flag = wire::first(reader.read(HASH)?);
        let packed = reader
            .leb128()
            .ok_or_else(|| wire::malformed("truncated"))?;
        let check = wire::first(reader.read(HASH)?);
        decisions.push(Decision {
            flag,
            packed,
            check,
        });
    }
    if !reader.0.is_empty() {
        return Err(wire::malformed("trailing bytes"));
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
