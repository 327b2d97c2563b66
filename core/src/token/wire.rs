//! A token's bytes: the layout, the hashes that name flags, answers and
//! contexts, the signing key's check, LEB128 numbers and URL-safe base64.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{TokenError, TokenErrorCode, MIN_KEY_BYTES};
use crate::context::Context;
use crate::eval::Evaluation;
use crate::packed;

pub(super) const VERSION: u8 = 2;

// Format 2 carries packed answers of version 1: a new packed layout needs a
// new token format too, so that no token is read with the wrong layout.
const _: () = assert!(VERSION == 2 && packed::VERSION == 1);
pub(super) const HEADER: usize = 1 + 8 + BINDING + 6 + 4 + 1;
pub(super) const BINDING: usize = 16;
pub(super) const MAC: usize = 32;
pub(super) const HASH: usize = 6;

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

pub(super) fn first<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
}

pub(super) fn flag_hash(key: &str) -> [u8; HASH] {
    first(&sha256(&[b"flag\0", key.as_bytes()]))
}

/// Binds a token to the context's kinds and keys (in kind order). Every
/// part is length-prefixed, so no two contexts share an encoding.
pub(super) fn binding(context: &Context) -> [u8; BINDING] {
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
pub(super) fn answer_hash(key: &str, evaluation: &Evaluation<'_>) -> [u8; HASH] {
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

pub(super) fn mac(key: &[u8]) -> Result<Hmac<Sha256>, TokenError> {
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

pub(super) fn hex_id(id: &str) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = id
            .get(i * 2..i * 2 + 2)
            .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            .unwrap_or(0);
    }
    out
}

pub(super) fn leb128(mut n: u64, out: &mut Vec<u8>) {
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
pub(super) struct Reader<'a>(pub(super) &'a [u8]);

impl<'a> Reader<'a> {
    pub(super) fn read(&mut self, n: usize) -> Result<&'a [u8], TokenError> {
        self.take(n).ok_or_else(|| malformed("truncated"))
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }

    pub(super) fn number(&mut self, n: usize) -> Result<u64, TokenError> {
        Ok(self
            .read(n)?
            .iter()
            .fold(0u64, |n, b| (n << 8) | u64::from(*b)))
    }

    pub(super) fn leb128(&mut self) -> Option<u64> {
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

pub(super) fn malformed(message: &str) -> TokenError {
    TokenError::new(TokenErrorCode::Malformed, message)
}
