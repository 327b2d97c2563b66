//! LaunchDarkly's REST API for a canary whose flag lives there (`flagcore
//! canary run --launchdarkly PROJECT/ENVIRONMENT`): the flag read with
//! `GET /api/v2/flags/{project}/{flag}?env=`, and each step written as a
//! semantic patch (`flagcore::canary::launchdarkly`), with the API access
//! token in `LAUNCHDARKLY_API_TOKEN`. No message holds the token.

use std::time::Duration;

use serde_json::Value;

use crate::Failure;

/// LaunchDarkly's API, for its other instances and for tests.
const DEFAULT_BASE_URI: &str = "https://app.launchdarkly.com";
/// The most bytes of a flag LaunchDarkly's API answer is read.
pub(crate) const MAX_FLAG_BYTES: u64 = 4 * 1024 * 1024;

/// A project's environment in LaunchDarkly.
pub(crate) struct Api {
    base: String,
    token: String,
    project: String,
    pub(crate) environment: String,
    agent: ureq::Agent,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A project's or an environment's key, as it goes into a URL's path.
fn key(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl Api {
    /// `PROJECT/ENVIRONMENT`, with the token in `LAUNCHDARKLY_API_TOKEN`
    /// and the API at `LAUNCHDARKLY_API_BASE_URI` (LaunchDarkly's own
    /// otherwise).
    pub(crate) fn from_env(spec: &str) -> Result<Api, Failure> {
        let Some((project, environment)) = spec.split_once('/').filter(|(p, e)| key(p) && key(e))
        else {
            return Err(Failure(format!(
                "--launchdarkly {spec:?}: give the project's key and the environment's, like my-project/production"
            )));
        };
        let token = env("LAUNCHDARKLY_API_TOKEN").ok_or_else(|| {
            Failure("a canary in LaunchDarkly needs an API access token with writer rights in LAUNCHDARKLY_API_TOKEN".into())
        })?;
        if token
            .trim()
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Failure(
                "LAUNCHDARKLY_API_TOKEN holds spaces, line breaks or other characters no token has: set it to the token alone".into(),
            ));
        }
        let base = env("LAUNCHDARKLY_API_BASE_URI").unwrap_or_else(|| DEFAULT_BASE_URI.to_owned());
        // The token travels in clear over http: only to this machine.
        let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|origin| {
                base.starts_with(origin)
                    && matches!(base.as_bytes().get(origin.len()), None | Some(b':' | b'/'))
            });
        if !base.starts_with("https://") && !local {
            return Err(Failure(format!(
                "LAUNCHDARKLY_API_BASE_URI {base:?}: the API token goes only over https (or http to this machine)"
            )));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            // The token goes to the URI given, and no other.
            .max_redirects(0)
            .build()
            .into();
        Ok(Api {
            base: base.trim_end_matches('/').to_owned(),
            token: token.trim().to_owned(),
            project: project.to_owned(),
            environment: environment.to_owned(),
            agent,
        })
    }

    /// `launchdarkly PROJECT/ENVIRONMENT`, for messages.
    pub(crate) fn describe(&self) -> String {
        format!("launchdarkly {}/{}", self.project, self.environment)
    }

    fn url(&self, flag: &str) -> String {
        let escaped: String = flag
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' => {
                    (b as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect();
        format!("{}/api/v2/flags/{}/{escaped}", self.base, self.project)
    }

    fn answer(
        &self,
        what: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Option<Value>, Failure> {
        let fail = |message: String| Failure(format!("{}: {what}: {message}", self.describe()));
        let mut response = response.map_err(|e| fail(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_FLAG_BYTES)
            .read_to_vec()
            .map_err(|e| fail(e.to_string()))?;
        let text = String::from_utf8_lossy(&body);
        match status {
            200..=299 => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| fail(format!("the answer is not JSON: {e}"))),
            404 => Ok(None),
            401 | 403 => Err(fail(format!(
                "answered {status}: the token in LAUNCHDARKLY_API_TOKEN is not one that may {what} in project {}",
                self.project
            ))),
            _ => Err(fail(format!(
                "answered {status}: {}",
                text.chars().take(300).collect::<String>()
            ))),
        }
    }

    /// The flag as it is in the environment (`None`: there is no such flag).
    pub(crate) fn flag(&self, flag: &str) -> Result<Option<Value>, Failure> {
        let response = self
            .agent
            .get(&self.url(flag))
            .query("env", &self.environment)
            .header("Authorization", &self.token)
            .header("Accept", "application/json")
            .header(
                "User-Agent",
                concat!("flagcore/", env!("CARGO_PKG_VERSION")),
            )
            .call();
        self.answer("read the flag", response)
    }

    /// Makes `patch`, a semantic patch, to the flag: LaunchDarkly's answer.
    pub(crate) fn patch(&self, flag: &str, patch: &Value) -> Result<Value, Failure> {
        let response = self
            .agent
            .patch(&self.url(flag))
            .header("Authorization", &self.token)
            .header(
                "Content-Type",
                "application/json; domain-model=launchdarkly.semanticpatch",
            )
            .header("Accept", "application/json")
            .header(
                "User-Agent",
                concat!("flagcore/", env!("CARGO_PKG_VERSION")),
            )
            .send(patch.to_string().as_str());
        self.answer("update the flag", response)?.ok_or_else(|| {
            Failure(format!(
                "{}: update the flag: there is no flag {flag:?} in project {}",
                self.describe(),
                self.project
            ))
        })
    }
}
