//! `flagcore sync launchdarkly`: LaunchDarkly's flags, read from its
//! server-side polling API with no Relay Proxy, published in flagcore's
//! layout, from cron, CI or a laptop. What LaunchDarkly's answers mean and
//! how long to wait before asking again are the core's
//! (`flagcore::launchdarkly`), as for the Node package's `flagcore/sync`.

use std::thread;
use std::time::Duration;

use flagcore::launchdarkly::{self, PollStatus};
use flagcore::published::MAX_SNAPSHOT_BYTES;
use flagcore::Snapshot;

use clap::{Args, Subcommand};

use crate::publish::{self, Destination, Report};
use crate::Failure;

#[derive(Subcommand)]
pub(crate) enum SyncCommand {
    /// Publish LaunchDarkly's flags, read from its polling API with no Relay Proxy
    #[command(long_about = SYNC_LAUNCHDARKLY_ABOUT)]
    Launchdarkly(SyncLaunchDarklyArgs),
}

const SYNC_LAUNCHDARKLY_ABOUT: &str = "\
Publish the flags and segments of a LaunchDarkly environment in flagcore's layout, read from
LaunchDarkly's server-side polling API (GET /sdk/latest-all) with the SDK key in
LAUNCHDARKLY_SDK_KEY: no Relay Proxy, and one request to LaunchDarkly per run, however many
functions read what it publishes. Useful from cron, CI and a laptop; the Node package's
flagcore/sync does the same from a Lambda function, with LaunchDarkly's webhooks.

It publishes as `flagcore publish` does (to a directory, or dynamodb:TABLE[/PREFIX]): nothing
when the destination's head already names the same content, and never a payload that does not
read or that `flagcore check` finds errors in. 401 and 403 (a wrong key) and 404 stop at once;
429, 5xx, a timeout and a body cut off are asked again, after 250 ms to 2 s with jitter, four
requests in all. It exits 0 when it published or found the content unchanged, 1 otherwise, and
what was published stays. No message holds the SDK key.";

#[derive(Args)]
pub(crate) struct SyncLaunchDarklyArgs {
    /// Where to publish: a directory, or dynamodb:TABLE[/PREFIX]
    #[arg(long, value_name = "DIR|dynamodb:TABLE[/PREFIX]", value_parser = publish::destination)]
    pub(crate) to: publish::Destination,
    /// LaunchDarkly's polling API, for its other instances and for tests
    #[arg(long, value_name = "URI", env = "LAUNCHDARKLY_BASE_URI", default_value = flagcore::launchdarkly::DEFAULT_BASE_URI)]
    pub(crate) base_uri: String,
    /// A payload filter's key: publish only the flags it selects
    #[arg(long, value_name = "KEY", env = "LAUNCHDARKLY_FILTER")]
    pub(crate) filter: Option<String>,
    /// How long one request to LaunchDarkly may take, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub(crate) timeout_seconds: u64,
    /// DynamoDB: how long the replaced generation stays readable, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = publish::DEFAULT_RETENTION_SECONDS)]
    pub(crate) retention_seconds: u64,
    /// Print the result as JSON: {"id", "unchanged", "chunks", "bytes"}
    #[arg(long)]
    pub(crate) json: bool,
}

/// Reads the environment of the SDK key in LAUNCHDARKLY_SDK_KEY at
/// `base_uri` (through the payload filter `filter`) and publishes it to
/// `to`, unless the core's plan refuses it or it is unchanged there.
pub(crate) fn launchdarkly(
    base_uri: &str,
    filter: Option<&str>,
    to: &Destination,
    retention_seconds: u64,
    timeout: Duration,
) -> Result<Report, Failure> {
    let key = std::env::var("LAUNCHDARKLY_SDK_KEY").unwrap_or_default();
    if key.trim().is_empty() {
        return Err(Failure(
            "set LAUNCHDARKLY_SDK_KEY to the server-side SDK key of the environment to sync".into(),
        ));
    }
    if !key.trim().bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Failure(
            "LAUNCHDARKLY_SDK_KEY holds spaces, line breaks or other characters no SDK key has: set it to the key alone".into(),
        ));
    }
    let url = launchdarkly::poll_url(base_uri, filter).map_err(Failure)?;
    let snapshot = poll(&url, key.trim(), timeout)?;
    publish::publish(&snapshot, to, false, retention_seconds)
}

/// One poll and its retries: the snapshot LaunchDarkly answered.
fn poll(url: &str, key: &str, timeout: Duration) -> Result<Snapshot, Failure> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        // The key goes to the URI given, and no other: a redirect is an
        // answer a poll does not expect.
        .max_redirects(0)
        .build()
        .into();
    let origin = url.find("/sdk/latest-all").map_or(url, |at| &url[..at]);
    let where_ = format!("LaunchDarkly at {origin}");
    let mut failures = 0;
    loop {
        let failed = match agent
            .get(url)
            .header("Authorization", key)
            .header(
                "User-Agent",
                concat!("flagcore/", env!("CARGO_PKG_VERSION")),
            )
            .header("Accept", "application/json")
            .call()
        {
            Err(error) => error.to_string(),
            Ok(mut response) => {
                let status = response.status().as_u16();
                match launchdarkly::poll_status(status) {
                    PollStatus::Changed => {
                        match response
                            .body_mut()
                            .with_config()
                            .limit(MAX_SNAPSHOT_BYTES as u64)
                            .read_to_vec()
                        {
                            Err(ureq::Error::BodyExceedsLimit(_)) => {
                                return Err(Failure(format!(
                                    "LAUNCHDARKLY_TOO_LARGE: {where_} answered more than the {MAX_SNAPSHOT_BYTES} bytes a snapshot holds; nothing was published"
                                )))
                            }
                            Ok(body) => {
                                return Snapshot::from_json(&body).map_err(|e| {
                                    Failure(format!(
                                        "LAUNCHDARKLY_PAYLOAD_INVALID: {where_} answered a payload that does not read as flags and segments ({} at {}: {}); nothing was published",
                                        e.code(),
                                        e.path(),
                                        e.message()
                                    ))
                                })
                            }
                            // Cut off: ask again.
                            Err(error) => error.to_string(),
                        }
                    }
                    // No ETag is kept between runs, so a 304 never comes: the
                    // plan finds the same content unchanged instead.
                    PollStatus::Unchanged | PollStatus::Retry => format!("answered {status}"),
                    PollStatus::Refused(refusal) => {
                        return Err(Failure(format!(
                            "{}: {where_} answered {status}: {}",
                            refusal.code, refusal.message
                        )))
                    }
                }
            }
        };
        failures += 1;
        match launchdarkly::retry_delay_ms(failures, jitter()) {
            Some(ms) => thread::sleep(Duration::from_millis(ms)),
            None => {
                return Err(Failure(format!(
                    "LAUNCHDARKLY_UNAVAILABLE: {where_} failed {failures} times (last: {failed}); what was published stays"
                )))
            }
        }
    }
}

/// A number from 0 to 1 that differs between runs, for the retries' jitter.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    (hasher.finish() % 10_000) as f64 / 10_000.0
}
