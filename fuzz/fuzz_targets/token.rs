//! Token verification. Half the inputs are token texts as they arrive in a
//! header; the other half are payloads signed here with the test key, so
//! that the reader behind the signature check is reached too. Whatever
//! verifies is attached to a context and evaluated.
#![no_main]

use std::sync::OnceLock;

use flagcore::{base64, token};
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

mod common;

const KEY: &[u8] = b"a signing key for fuzzing, 32 bytes";
const NOW_MS: u64 = 1_700_000_000_000;

/// The binding bytes of the first context (bytes 9 to 25 of a token), read
/// off a real token: spliced into signed payloads, they let a fuzzed token
/// reach evaluation, which a random binding never would.
fn binding() -> &'static [u8] {
    static BINDING: OnceLock<Vec<u8>> = OnceLock::new();
    BINDING.get_or_init(|| {
        let context = &common::contexts()[0];
        let text = common::example().decision_token(Ok(&flagcore::Scope::new(context.clone())), &[], KEY, NOW_MS, 60_000)
            .unwrap_or_else(|e| panic!("{e}"));
        base64::decode_url_safe(&text[token::PREFIX.len()..]).unwrap_or_default()[9..25].to_vec()
    })
}

fn signed(payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY).unwrap_or_else(|e| panic!("{e}"));
    mac.update(payload);
    let mut bytes = payload.to_vec();
    bytes.extend_from_slice(&mac.finalize().into_bytes());
    format!("{}{}", token::PREFIX, base64::encode_url_safe(&bytes))
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
