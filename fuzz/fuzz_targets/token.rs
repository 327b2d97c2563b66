//! Token verification. Half the inputs are token texts as they arrive in a
//! header; the other half are payloads signed here with the test key, so
//! that the reader behind the signature check is reached too. Whatever
//! verifies is attached to a context and evaluated.
#![no_main]

use std::sync::OnceLock;

use flagcore::token;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

mod common;

const KEY: &[u8] = b"a signing key for fuzzing, 32 bytes";
const NOW_MS: u64 = 1_700_000_000_000;

/// URL-safe base64 without padding, as tokens carry it.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn unbase64url(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::new();
    for chunk in text.as_bytes().chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, c)| {
            n | (ALPHABET.iter().position(|a| a == c).unwrap_or(0) as u32) << (18 - 6 * i)
        });
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

/// The binding bytes of the first context (bytes 9 to 25 of a token), read
/// off a real token: spliced into signed payloads, they let a fuzzed token
/// reach evaluation, which a random binding never would.
fn binding() -> &'static [u8] {
    static BINDING: OnceLock<Vec<u8>> = OnceLock::new();
    BINDING.get_or_init(|| {
        let context = &common::contexts()[0];
        let text = token::issue(common::example(), context, None, &[], KEY, NOW_MS, 60_000)
            .unwrap_or_else(|e| panic!("{e}"));
        unbase64url(&text[token::PREFIX.len()..])[9..25].to_vec()
    })
}

fn signed(payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY).unwrap_or_else(|e| panic!("{e}"));
    mac.update(payload);
    let mut bytes = payload.to_vec();
    bytes.extend_from_slice(&mac.finalize().into_bytes());
    format!("{}{}", token::PREFIX, base64url(&bytes))
}

fuzz_target!(|data: &[u8]| {
    let text = match data.split_first() {
        Some((mode, rest)) if mode & 3 == 3 && rest.len() >= 25 => {
            let mut payload = rest.to_vec();
            payload[9..25].copy_from_slice(binding());
            signed(&payload)
        }
        Some((mode, rest)) if mode & 1 == 1 => signed(rest),
        _ => String::from_utf8_lossy(data).into_owned(),
    };
    let Some(found) = token::from_header(&text) else {
        return;
    };
    let Ok(verified) = token::verify(found, KEY, NOW_MS, token::DEFAULT_MAX_LIFETIME_MS) else {
        return;
    };
    assert!(verified.expires_ms() > NOW_MS && verified.len() <= token::MAX_DECISIONS);
    let snapshot = common::example();
    let _ = verified.reproducible(snapshot, NOW_MS);
    for context in common::contexts() {
        if let Ok(carried) = flagcore::Scope::with_token(context, verified.clone()) {
            common::evaluate_all(snapshot, &carried, NOW_MS);
        }
    }
});
