//! The rules of `flagcore::launchdarkly` for `flagcore/sync` (sync.js,
//! launchdarkly.js), which reads LaunchDarkly's polling API with no Relay
//! Proxy: the host sends the requests, the core says what they mean.

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use serde_json::{json, Value};

use flagcore::launchdarkly::{self, PollStatus};

/// The polling URL for a base URI and an optional payload filter; throws
/// when the base URI is not an http(s) URL.
#[napi(catch_unwind)]
pub fn launch_darkly_poll_url(base_uri: String, filter: Option<String>) -> napi::Result<String> {
    launchdarkly::poll_url(&base_uri, filter.as_deref()).map_err(napi::Error::from_reason)
}

/// What an answer's HTTP status means: `{ kind: 'changed' | 'unchanged' |
/// 'retry' }`, or `{ kind: 'refused', code, message }`.
#[napi(catch_unwind)]
pub fn launch_darkly_poll_status(status: u32) -> Value {
    match launchdarkly::poll_status(u16::try_from(status).unwrap_or(0)) {
        PollStatus::Changed => json!({"kind": "changed"}),
        PollStatus::Unchanged => json!({"kind": "unchanged"}),
        PollStatus::Retry => json!({"kind": "retry"}),
        PollStatus::Refused(refusal) => {
            json!({"kind": "refused", "code": refusal.code, "message": refusal.message})
        }
    }
}

/// How long to wait after the `failures`-th failed request of a poll, for a
/// `jitter` from 0 to 1; null when the poll gives up.
#[napi(catch_unwind)]
pub fn launch_darkly_retry_delay_ms(failures: u32, jitter: f64) -> Option<f64> {
    launchdarkly::retry_delay_ms(failures, jitter).map(|ms| ms as f64)
}

/// Whether a webhook's `X-LD-Signature` holds for its raw body under `secret`.
#[napi(catch_unwind)]
pub fn launch_darkly_webhook_valid(secret: String, body: Buffer, signature: String) -> bool {
    launchdarkly::webhook_signature_valid(secret.as_bytes(), &body, &signature)
}

/// `[maxWebhookBytes, ...webhookPollsMs]`: the webhook body's bound, then
/// when a webhook's polls ask (milliseconds after it arrived).
#[napi(catch_unwind)]
pub fn launch_darkly_limits() -> Vec<f64> {
    std::iter::once(launchdarkly::MAX_WEBHOOK_BYTES as f64)
        .chain(launchdarkly::WEBHOOK_POLLS_MS.iter().map(|&ms| ms as f64))
        .collect()
}
