//! The DynamoDB table that `flagcore publish --to dynamodb:TABLE[/PREFIX]`
//! writes: DynamoDB's JSON API over HTTPS, each request signed with AWS
//! Signature Version 4 from the environment's credentials, as a CI/CD job
//! has them (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, and
//! `AWS_SESSION_TOKEN` for a role). Items have the Relay Proxy's key schema
//! (`namespace`, `key`), as the Node package's publisher writes them: the
//! head in `head`, each chunk's gzip bytes in `data`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::Failure;

/// BatchWriteItem takes at most 25 items a request.
const WRITE_BATCH: usize = 25;
/// How often unprocessed items are sent again before the publish fails.
const BATCH_RETRIES: u32 = 8;

/// Where the layout's items go, and how to reach DynamoDB.
pub(crate) struct Table {
    name: String,
    namespace: String,
    endpoint: String,
    host: String,
    region: String,
    credentials: Credentials,
    agent: ureq::Agent,
}

struct Credentials {
    access_key: String,
    secret_key: String,
    session_token: Option<String>,
}

/// An error DynamoDB answered: its type (`ConditionalCheckFailedException`...) and message.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) code: String,
    pub(crate) message: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

impl Table {
    /// The table `name`, items under `[prefix:]flagcore`, reached with what
    /// the environment holds (not AWS profiles): the region from `AWS_REGION` or
    /// `AWS_DEFAULT_REGION`, the endpoint from `AWS_ENDPOINT_URL_DYNAMODB`
    /// or `AWS_ENDPOINT_URL` (DynamoDB's own otherwise).
    pub(crate) fn from_env(name: &str, prefix: Option<&str>) -> Result<Table, Failure> {
        let missing = |what: &str| {
            Failure(format!(
                "publishing to DynamoDB needs {what} in the environment (the command reads no AWS profile: \
                 `eval \"$(aws configure export-credentials --profile NAME --format env)\"` exports a profile's)"
            ))
        };
        let region = env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .ok_or_else(|| missing("AWS_REGION (or AWS_DEFAULT_REGION)"))?;
        let credentials = Credentials {
            access_key: env("AWS_ACCESS_KEY_ID").ok_or_else(|| missing("AWS_ACCESS_KEY_ID"))?,
            secret_key: env("AWS_SECRET_ACCESS_KEY")
                .ok_or_else(|| missing("AWS_SECRET_ACCESS_KEY"))?,
            session_token: env("AWS_SESSION_TOKEN"),
        };
        let endpoint = env("AWS_ENDPOINT_URL_DYNAMODB")
            .or_else(|| env("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("https://dynamodb.{region}.amazonaws.com"));
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        let host = endpoint
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or(rest).to_owned())
            .filter(|host| !host.is_empty())
            .ok_or_else(|| Failure(format!("the DynamoDB endpoint {endpoint} is not a URL")))?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .new_agent();
        Ok(Table {
            name: name.to_owned(),
            namespace: prefix.map_or_else(|| "flagcore".to_owned(), |p| format!("{p}:flagcore")),
            endpoint,
            host,
            region,
            credentials,
            agent,
        })
    }

    /// `dynamodb TABLE (NAMESPACE)`, for messages.
    pub(crate) fn describe(&self) -> String {
        format!("dynamodb {} ({})", self.name, self.namespace)
    }

    fn key(&self, name: &str) -> Value {
        json!({"namespace": {"S": self.namespace}, "key": {"S": name}})
    }

    /// One DynamoDB operation (`GetItem`...), signed; its answer, or what
    /// DynamoDB refused it with.
    fn call(&self, operation: &str, body: &Value) -> Result<Result<Value, Refused>, Failure> {
        let payload = body.to_string();
        let target = format!("DynamoDB_20120810.{operation}");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let signed = sign(
            &self.credentials,
            &self.region,
            &self.host,
            &target,
            payload.as_bytes(),
            now,
        );
        let mut request = self
            .agent
            .post(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", &target)
            .header("x-amz-date", &signed.amz_date)
            .header("authorization", &signed.authorization);
        if let Some(token) = &self.credentials.session_token {
            request = request.header("x-amz-security-token", token);
        }
        let fail =
            |e: &dyn std::fmt::Display| Failure(format!("{}: {operation}: {e}", self.describe()));
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
    fn send(&self, operation: &str, body: &Value) -> Result<Value, Failure> {
        self.call(operation, body)?.map_err(|refused| {
            Failure(format!(
                "{}: {operation}: {}: {}",
                self.describe(),
                refused.code,
                refused.message
            ))
        })
    }

    /// The head's text, read strongly consistent, or `None`.
    pub(crate) fn read_head(&self) -> Result<Option<String>, Failure> {
        let answer = self.send(
            "GetItem",
            &json!({"TableName": self.name, "Key": self.key(flagcore::published::HEAD_NAME), "ConsistentRead": true}),
        )?;
        Ok(answer["Item"]["head"]["S"].as_str().map(str::to_owned))
    }

    /// Writes each chunk's gzip bytes under its name, 25 a request,
    /// sending unprocessed items again with a growing pause.
    pub(crate) fn write_chunks(&self, chunks: &[(String, Vec<u8>)]) -> Result<(), Failure> {
        for batch in chunks.chunks(WRITE_BATCH) {
            let mut requests: Vec<Value> = batch
                .iter()
                .map(|(name, bytes)| {
                    let mut item = self.key(name);
                    item["data"] = json!({"B": base64(bytes)});
                    json!({"PutRequest": {"Item": item}})
                })
                .collect();
            let mut attempt = 0;
            while !requests.is_empty() {
                if attempt > BATCH_RETRIES {
                    return Err(Failure(format!(
                        "{}: {} chunks still unwritten after {BATCH_RETRIES} retries",
                        self.describe(),
                        requests.len()
                    )));
                }
                if attempt > 0 {
                    std::thread::sleep(Duration::from_millis((25u64 << attempt).min(1000)));
                }
                let answer = self.send(
                    "BatchWriteItem",
                    &json!({"RequestItems": {self.name.as_str(): requests}}),
                )?;
                requests = answer["UnprocessedItems"][self.name.as_str()]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                attempt += 1;
            }
        }
        Ok(())
    }

    /// Writes a generation's own head, which nothing replaces.
    pub(crate) fn write_generation_head(&self, name: &str, text: &str) -> Result<(), Failure> {
        let mut item = self.key(name);
        item["head"] = json!({"S": text});
        self.send("PutItem", &json!({"TableName": self.name, "Item": item}))
            .map(drop)
    }

    /// Writes the head only if it is still `previous` (`None`: none yet).
    /// `Ok(false)` when another publisher replaced it meanwhile.
    pub(crate) fn write_head(&self, text: &str, previous: Option<&str>) -> Result<bool, Failure> {
        let mut item = self.key(flagcore::published::HEAD_NAME);
        item["head"] = json!({"S": text});
        let mut body = json!({"TableName": self.name, "Item": item});
        match previous {
            None => {
                body["ConditionExpression"] = json!("attribute_not_exists(#key)");
                body["ExpressionAttributeNames"] = json!({"#key": "key"});
            }
            Some(previous) => {
                body["ConditionExpression"] = json!("#head = :previous");
                body["ExpressionAttributeNames"] = json!({"#head": "head"});
                body["ExpressionAttributeValues"] = json!({":previous": {"S": previous}});
            }
        }
        match self.call("PutItem", &body)? {
            Ok(_) => Ok(true),
            Err(refused) if refused.code == "ConditionalCheckFailedException" => Ok(false),
            Err(refused) => Err(Failure(format!(
                "{}: PutItem: {}: {}",
                self.describe(),
                refused.code,
                refused.message
            ))),
        }
    }

    /// Lets items expire at `at_seconds` through the table's TTL attribute
    /// `ttl`; an item already gone is left alone.
    pub(crate) fn expire(&self, names: &[String], at_seconds: u64) -> Result<(), Failure> {
        for name in names {
            let body = json!({
                "TableName": self.name,
                "Key": self.key(name),
                "UpdateExpression": "SET #ttl = :at",
                "ConditionExpression": "attribute_exists(#key)",
                "ExpressionAttributeNames": {"#ttl": "ttl", "#key": "key"},
                "ExpressionAttributeValues": {":at": {"N": at_seconds.to_string()}}
            });
            match self.call("UpdateItem", &body)? {
                Ok(_) => {}
                Err(refused) if refused.code == "ConditionalCheckFailedException" => {}
                Err(refused) => {
                    return Err(Failure(format!(
                        "{}: UpdateItem: {}: {}",
                        self.describe(),
                        refused.code,
                        refused.message
                    )))
                }
            }
        }
        Ok(())
    }
}

/// A request's Signature Version 4 headers.
struct Signed {
    amz_date: String,
    authorization: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Signs a DynamoDB `POST /` of `payload` at `now` (seconds since the
/// epoch) for `host`, as AWS Signature Version 4 has it: the headers
/// signed are content-type, host, x-amz-date, x-amz-security-token (with
/// a session token) and x-amz-target.
fn sign(
    credentials: &Credentials,
    region: &str,
    host: &str,
    target: &str,
    payload: &[u8],
    now: u64,
) -> Signed {
    let amz_date = amz_date(now);
    let date = &amz_date[..8];
    let mut headers = vec![
        ("content-type", "application/x-amz-json-1.0"),
        ("host", host),
        ("x-amz-date", amz_date.as_str()),
    ];
    if let Some(token) = &credentials.session_token {
        headers.push(("x-amz-security-token", token.as_str()));
    }
    headers.push(("x-amz-target", target));
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{}\n", value.trim()))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "POST\n/\n\n{canonical_headers}\n{signed_headers}\n{}",
        hex(&Sha256::digest(payload))
    );
    let scope = format!("{date}/{region}/dynamodb/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let key = [date, region, "dynamodb", "aws4_request"].iter().fold(
        format!("AWS4{}", credentials.secret_key).into_bytes(),
        |key, part| hmac(&key, part.as_bytes()),
    );
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    Signed {
        authorization: format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            credentials.access_key
        ),
        amz_date,
    }
}

/// `YYYYMMDD'T'HHMMSS'Z'` in UTC, from seconds since the epoch.
fn amz_date(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    // Days to a civil date (Howard Hinnant's algorithm, proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Standard base64 with padding, as DynamoDB's JSON carries binary values.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(amz_date(1_796_083_199), "20261130T235959Z");
    }

    // The signatures botocore's SigV4Auth (the AWS SDK for Python) gives
    // the same GetItem, host and time, without and with a session token.
    #[test]
    fn requests_are_signed_as_the_aws_sdks_sign_them() {
        let payload = br#"{"TableName":"flags","Key":{"namespace":{"S":"flagcore"},"key":{"S":"head.json"}},"ConsistentRead":true}"#;
        let mut credentials = Credentials {
            access_key: "AKIDEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let at = 1_796_128_560; // 2026-12-01T12:36:00Z
        let target = "DynamoDB_20120810.GetItem";
        let signed = sign(
            &credentials,
            "us-east-1",
            "127.0.0.1:8000",
            target,
            payload,
            at,
        );
        assert_eq!(signed.amz_date, "20261201T123600Z");
        assert_eq!(
            signed.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/dynamodb/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
             Signature=2986bf5417266cf1e7ab00b42d4f7074ae8be51fbf120fcae499819f86cbf441"
        );
        credentials.session_token = Some("session-token-example".into());
        let signed = sign(
            &credentials,
            "us-east-1",
            "127.0.0.1:8000",
            target,
            payload,
            at,
        );
        assert_eq!(
            signed.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/dynamodb/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, \
             Signature=e4508834c96fff6c7fdac03d66fa94726e5d100e3850231ff8f66e44fc5cf2b4"
        );
    }

    #[test]
    fn base64_pads_as_the_standard_says() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }
}
