//! Issuing: a context's answers, packed, hashed and signed.

use std::collections::HashSet;

use hmac::Mac;

use super::wire::{self, HEADER, MAC, VERSION};
use super::{Token, TokenError, TokenErrorCode, MAX_DECISIONS, MAX_TTL_MS, PREFIX};
use crate::base64;
use crate::context::Context;
use crate::eval::Evaluation;
use crate::packed;
use crate::reason::ReasonKind;
use crate::snapshot::Snapshot;

/// Issues a token holding the answers of `flag_keys` for `context` in
/// `snapshot`, as `answer` gives them (the scope's choice between a carried
/// token and the snapshot: see [`Snapshot::decision_token`]), signed with
/// `key`, valid for `ttl_ms` from `now_ms`, at most [`MAX_TTL_MS`]. Flags
/// that are unknown or answer an error are left out: downstream evaluates
/// those itself. A `carried` token that is unexpired passes its decisions
/// on through `answer`, and the new token expires no later than it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn issue<'a>(
    snapshot: &'a Snapshot,
    context: &Context,
    carried: Option<&Token>,
    flag_keys: &[&str],
    key: &[u8],
    now_ms: u64,
    ttl_ms: u64,
    answer: impl Fn(&str) -> Evaluation<'a>,
) -> Result<String, TokenError> {
    if ttl_ms == 0 || ttl_ms > MAX_TTL_MS {
        return Err(TokenError::new(
            TokenErrorCode::InvalidTtl,
            format!(
                "the time to live must be more than 0 and at most {} seconds",
                MAX_TTL_MS / 1000
            ),
        ));
    }
    let mut signer = wire::mac(key)?;
    let now_ms = now_ms.min((1 << 48) - 1);
    let mut expires_ms = now_ms.saturating_add(ttl_ms);
    if let Some(carried) = carried.filter(|t| t.live(now_ms)) {
        expires_ms = expires_ms.min(carried.expires_ms);
    }
    let mut payload = Vec::with_capacity(HEADER + flag_keys.len() * 16 + MAC);
    payload.push(VERSION);
    payload.extend_from_slice(&wire::hex_id(snapshot.id()));
    payload.extend_from_slice(&wire::binding(context));
    payload.extend_from_slice(&now_ms.to_be_bytes()[2..]);
    let lifetime = u32::try_from(expires_ms - now_ms).unwrap_or(u32::MAX);
    payload.extend_from_slice(&lifetime.to_be_bytes());
    let count_at = payload.len();
    payload.push(0);
    let mut count = 0usize;
    let mut seen = HashSet::new();
    for flag_key in flag_keys {
        let evaluation = answer(flag_key);
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
        payload.extend_from_slice(&wire::flag_hash(flag_key));
        wire::leb128(packed, &mut payload);
        payload.extend_from_slice(&wire::answer_hash(flag_key, &evaluation));
    }
    if let Some(slot) = payload.get_mut(count_at) {
        *slot = u8::try_from(count).unwrap_or(u8::MAX);
    }
    signer.update(&payload);
    payload.extend_from_slice(&signer.finalize().into_bytes());
    Ok(format!("{PREFIX}{}", base64::encode_url_safe(&payload)))
}
