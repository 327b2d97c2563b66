//! An AWS service's JSON API over HTTPS (DynamoDB's, CloudWatch's), each
//! request signed with AWS Signature Version 4 by AWS's own signer (the
//! `aws-sigv4` crate) from the environment's credentials, as a CI/CD job or
//! a scheduled task has them (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! and `AWS_SESSION_TOKEN` for a role). No AWS profile is read.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use serde_json::Value;

use crate::Failure;

/// The JSON protocol both services speak.
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// A service's endpoint, reached with the environment's credentials.
pub(crate) struct Service {
    /// Its signing name: `dynamodb`, `monitoring`.
    signing: &'static str,
    /// Its operations' prefix: `DynamoDB_20120810`.
    target: &'static str,
    endpoint: String,
    region: String,
    identity: Identity,
    agent: ureq::Agent,
}

/// An error the service answered: its type (`ConditionalCheckFailedException`...) and message.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) code: String,
    pub(crate) message: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

impl Service {
    /// The service whose endpoint is in `endpoint_variable` (then
    /// `AWS_ENDPOINT_URL`; its own otherwise), for `doing` (what the
    /// messages say needs it), with the region from `AWS_REGION` or
    /// `AWS_DEFAULT_REGION`.
    pub(crate) fn from_env(
        signing: &'static str,
        target: &'static str,
        endpoint_variable: &str,
        doing: &str,
    ) -> Result<Service, Failure> {
        let missing = |what: &str| {
            Failure(format!(
                "{doing} needs {what} in the environment (the command reads no AWS profile: \
                 `eval \"$(aws configure export-credentials --profile NAME --format env)\"` exports a profile's)"
            ))
        };
        let region = env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .ok_or_else(|| missing("AWS_REGION (or AWS_DEFAULT_REGION)"))?;
        let identity = Credentials::new(
            env("AWS_ACCESS_KEY_ID").ok_or_else(|| missing("AWS_ACCESS_KEY_ID"))?,
            env("AWS_SECRET_ACCESS_KEY").ok_or_else(|| missing("AWS_SECRET_ACCESS_KEY"))?,
            env("AWS_SESSION_TOKEN"),
            None,
            "environment",
        )
        .into();
        let endpoint = env(endpoint_variable)
            .or_else(|| env("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("https://{signing}.{region}.amazonaws.com"));
        Service::new(signing, target, &endpoint, &region, identity)
    }

    pub(crate) fn new(
        signing: &'static str,
        target: &'static str,
        endpoint: &str,
        region: &str,
        identity: Identity,
    ) -> Result<Service, Failure> {
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        let has_host = endpoint
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.split('/').next().unwrap_or(rest).is_empty());
        if !has_host {
            return Err(Failure(format!(
                "the {signing} endpoint {endpoint} is not a URL"
            )));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .new_agent();
        Ok(Service {
            signing,
            target,
            endpoint,
            region: region.to_owned(),
            identity,
            agent,
        })
    }

    /// One operation (`GetItem`...), signed; its answer, or what the
    /// service refused it with. `what` names the caller in messages.
    pub(crate) fn call(
        &self,
        what: &str,
        operation: &str,
        body: &Value,
    ) -> Result<Result<Value, Refused>, Failure> {
        let payload = body.to_string();
        let target = format!("{}.{operation}", self.target);
        let fail = |e: &dyn std::fmt::Display| Failure(format!("{what}: {operation}: {e}"));
        let signed = self
            .sign(&target, payload.as_bytes(), SystemTime::now())
            .map_err(|e| fail(&e))?;
        let mut request = self
            .agent
            .post(&self.endpoint)
            .header("content-type", CONTENT_TYPE)
            .header("x-amz-target", &target);
        for (name, value) in &signed {
            request = request.header(name.as_str(), value.as_str());
        }
        let mut response = request.send(payload.as_str()).map_err(|e| fail(&e))?;
        let status = response.status();
        let text = response.body_mut().read_to_string().map_err(|e| fail(&e))?;
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(Ok(answer));
        }
        // `__type` is `com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException`.
        let code = answer["__type"].as_str().unwrap_or_default();
        let code = code.rsplit('#').next().unwrap_or(code).to_owned();
        let message = answer["message"]
            .as_str()
            .or_else(|| answer["Message"].as_str())
            .unwrap_or(text.as_str())
            .to_owned();
        if code.is_empty() {
            return Err(fail(&format!("answered {status}: {message}")));
        }
        Ok(Err(Refused { code, message }))
    }

    /// As `call`, with any refusal a failure.
    pub(crate) fn send(&self, what: &str, operation: &str, body: &Value) -> Result<Value, Failure> {
        self.call(what, operation, body)?.map_err(|refused| {
            Failure(format!(
                "{what}: {operation}: {}: {}",
                refused.code, refused.message
            ))
        })
    }

    /// The Signature Version 4 headers of a `POST /` of `payload` at
    /// `time` (`authorization`, `x-amz-date`, and `x-amz-security-token`
    /// with a session token), from AWS's own signer. The headers signed are
    /// content-type, host and x-amz-target, as the AWS SDKs sign them.
    pub(crate) fn sign(
        &self,
        target: &str,
        payload: &[u8],
        time: SystemTime,
    ) -> Result<Vec<(String, String)>, Box<dyn std::error::Error + Send + Sync>> {
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name(self.signing)
            .time(time)
            .settings(SigningSettings::default())
            .build()?
            .into();
        let headers = [("content-type", CONTENT_TYPE), ("x-amz-target", target)];
        let request = SignableRequest::new(
            "POST",
            &self.endpoint,
            headers.into_iter(),
            SignableBody::Bytes(payload),
        )?;
        let (instructions, _) = sign(request, &params)?.into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect())
    }
}
