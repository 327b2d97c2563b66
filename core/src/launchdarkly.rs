//! LaunchDarkly's server-side polling API, as a sync reads it with no Relay
//! Proxy: where it asks (`poll_url`), what each answer's status means
//! (`poll_status`), how long it waits before asking again after a failure
//! (`retry_delay_ms`), when a webhook's polls ask for the changed payload
//! (`WEBHOOK_POLLS_MS`), and whether a webhook's signature holds
//! (`webhook_signature_valid`). No I/O and no clock: the hosts
//! (`flagcore/sync` in Node, `flagcore sync launchdarkly`) send the requests,
//! and the vectors in `tests/vectors/launchdarkly` pin every rule.
//!
//! A request is `GET {baseUri}/sdk/latest-all[?filter=KEY]` with the SDK key
//! as `Authorization` (the raw key, no scheme) and `If-None-Match` with the
//! last ETag; a `200` answers the polling format
//! (`{"flags": {...}, "segments": {...}}`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// LaunchDarkly's polling API, for its commercial instance.
pub const DEFAULT_BASE_URI: &str = "https://sdk.launchdarkly.com";

/// The path of every flag and segment of the SDK key's environment.
pub const POLL_PATH: &str = "/sdk/latest-all";

/// The most bytes a webhook's body may hold (LaunchDarkly's change
/// notifications are a few kilobytes); past it, the body is not read.
pub const MAX_WEBHOOK_BYTES: usize = 65_536;

/// How many requests one poll makes at the most: the first, and the
/// retries `retry_delay_ms` allows.
pub const MAX_ATTEMPTS: u32 = 4;

/// The first retry's delay before jitter; each later one doubles it, up to
/// `MAX_RETRY_DELAY_MS`.
const FIRST_RETRY_DELAY_MS: u64 = 500;
const MAX_RETRY_DELAY_MS: u64 = 4_000;

/// After a valid webhook, when each poll asks for the payload (milliseconds
/// since the webhook arrived) until its ETag changes: LaunchDarkly's CDN may
/// answer the old payload for a moment. Five polls over ten seconds.
pub const WEBHOOK_POLLS_MS: [u64; 5] = [0, 1_000, 3_000, 6_000, 10_000];

/// What a polling answer's status means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollStatus {
    /// `200`: the body is the environment's flags and segments.
    Changed,
    /// `304`: unchanged since the ETag sent; nothing to write.
    Unchanged,
    /// Asking again may succeed (`400`, `408`, `429`, `5xx`, as
    /// LaunchDarkly's SDKs hold): retry after `retry_delay_ms`.
    Retry,
    /// Asking again will not: stop, say why, and write nothing.
    Refused(PollRefusal),
}

/// Why a poll stops: a stable code and a message that names the fix. The
/// message never holds the SDK key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollRefusal {
    /// `LAUNCHDARKLY_UNAUTHORIZED`, `LAUNCHDARKLY_NOT_FOUND` or `LAUNCHDARKLY_UNEXPECTED`.
    pub code: &'static str,
    /// What is wrong, and what to set.
    pub message: &'static str,
}

/// What an answer with HTTP status `status` means.
pub fn poll_status(status: u16) -> PollStatus {
    match status {
        200 => PollStatus::Changed,
        304 => PollStatus::Unchanged,
        400 | 408 | 429 | 500..=599 => PollStatus::Retry,
        401 | 403 => PollStatus::Refused(PollRefusal {
            code: "LAUNCHDARKLY_UNAUTHORIZED",
            message: "LaunchDarkly refused the SDK key: set LAUNCHDARKLY_SDK_KEY to the server-side SDK key of the environment to sync (the environment's keys in LaunchDarkly's project settings), not a mobile key or a client-side ID",
        }),
        404 => PollStatus::Refused(PollRefusal {
            code: "LAUNCHDARKLY_NOT_FOUND",
            message: "LaunchDarkly found nothing there: the base URI is not LaunchDarkly's polling API (LAUNCHDARKLY_BASE_URI, default https://sdk.launchdarkly.com), or the payload filter does not exist in the environment",
        }),
        _ => PollStatus::Refused(PollRefusal {
            code: "LAUNCHDARKLY_UNEXPECTED",
            message: "LaunchDarkly answered a status a poll does not expect (not 200, 304, a retryable failure or a refusal of the key)",
        }),
    }
}

/// How long to wait after the `failures`-th failed request of one poll
/// before the next one (`failures` from 1), or `None` when the poll gives up
/// (it has made `MAX_ATTEMPTS` requests). `jitter`, from 0 to 1 (a host's
/// random number; out of range is clamped), spreads the delay over its upper
/// half, so that syncs that failed together do not ask again together.
pub fn retry_delay_ms(failures: u32, jitter: f64) -> Option<u64> {
    if failures == 0 || failures >= MAX_ATTEMPTS {
        return None;
    }
    let delay = (FIRST_RETRY_DELAY_MS << (failures - 1).min(16)).min(MAX_RETRY_DELAY_MS);
    let jitter = if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    };
    let half = delay / 2;
    Some(half + (half as f64 * jitter).floor() as u64)
}

/// The polling URL for `base_uri` (any path it has is kept; a trailing `/`
/// is not doubled) and an optional payload filter key, percent-encoded.
/// Refuses a base URI that is not `https://`, except `http://` to this
/// machine (a local stand-in): the SDK key must not cross a network in the
/// clear. Refuses one with a query, or with a user and password, which
/// messages would then show.
pub fn poll_url(base_uri: &str, filter: Option<&str>) -> Result<String, String> {
    let base = base_uri.trim();
    let (rest, secure) = match base.strip_prefix("https://") {
        Some(rest) => (rest, true),
        None => (
            base.strip_prefix("http://").ok_or_else(|| {
                format!("LaunchDarkly's base URI must start with https:// (or http:// to 127.0.0.1 for a local stand-in), not {base:?}")
            })?,
            false,
        ),
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        // Not shown: it holds a password.
        return Err("LaunchDarkly's base URI must not hold a user and password: the SDK key is what authenticates".into());
    }
    if authority.is_empty() || rest.contains(['?', '#']) {
        return Err(format!(
            "LaunchDarkly's base URI must be a scheme and a host (and a path), with no query, like https://sdk.launchdarkly.com, not {base:?}"
        ));
    }
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    if !secure && !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err(format!(
            "LaunchDarkly's base URI must use https://, so that the SDK key is not sent in the clear (http:// is for a local stand-in on 127.0.0.1), not {base:?}"
        ));
    }
    let mut url = String::with_capacity(base.len() + POLL_PATH.len() + 32);
    url.push_str(base.trim_end_matches('/'));
    url.push_str(POLL_PATH);
    if let Some(filter) = filter.filter(|f| !f.is_empty()) {
        url.push_str("?filter=");
        for byte in filter.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                url.push(byte as char);
            } else {
                url.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    Ok(url)
}

/// Whether `signature` (an `X-LD-Signature` header: the hex HMAC-SHA256 of
/// the raw body under the webhook's secret) holds for `body`, compared in
/// constant time. An empty secret, a body past `MAX_WEBHOOK_BYTES` or a
/// header that is not 64 hex digits never holds.
pub fn webhook_signature_valid(secret: &[u8], body: &[u8], signature: &str) -> bool {
    if secret.is_empty() || body.len() > MAX_WEBHOOK_BYTES {
        return false;
    }
    let Some(expected) = hex_digest(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn hex_digest(text: &str) -> Option<[u8; 32]> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        out[i] = (high * 16 + low) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_give_up() {
        assert_eq!(retry_delay_ms(0, 0.5), None);
        assert_eq!(retry_delay_ms(1, 0.0), Some(250));
        assert_eq!(retry_delay_ms(1, 1.0), Some(500));
        assert_eq!(retry_delay_ms(3, 1.0), Some(2_000));
        assert_eq!(retry_delay_ms(MAX_ATTEMPTS, 0.5), None);
        assert_eq!(retry_delay_ms(2, f64::NAN), Some(500));
    }

    #[test]
    fn a_refused_base_uri_never_shows_its_password() {
        let error = poll_url("https://me:hunter2@sdk.launchdarkly.com", None).unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn webhook_signatures() {
        let secret = b"a webhook secret";
        let body = br#"{"kind":"flag"}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(body);
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(webhook_signature_valid(secret, body, &hex));
        assert!(webhook_signature_valid(secret, body, &hex.to_uppercase()));
        assert!(!webhook_signature_valid(secret, b"{}", &hex));
        assert!(!webhook_signature_valid(b"", body, &hex));
        assert!(!webhook_signature_valid(secret, body, &hex[..62]));
        assert!(!webhook_signature_valid(secret, body, ""));
    }
}
