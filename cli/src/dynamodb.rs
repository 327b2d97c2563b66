//! The DynamoDB table that `flagcore publish --to dynamodb:TABLE[/PREFIX]`
//! writes, through DynamoDB's JSON API (crate::aws: signed by AWS's own
//! signer from the environment's credentials). Items have the Relay Proxy's key schema
//! (`namespace`, `key`), as the Node package's publisher writes them: the
//! head in `head`, each chunk's gzip bytes in `data`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::aws::{Refused, Service};
use crate::Failure;

/// BatchWriteItem takes at most 25 items a request.
const WRITE_BATCH: usize = 25;
/// How often unprocessed items are sent again before the publish fails.
const BATCH_RETRIES: u32 = 8;

/// Where the layout's items go, and how to reach DynamoDB.
pub(crate) struct Table {
    name: String,
    namespace: String,
    service: Service,
}

impl Table {
    /// The table `name`, items under `[prefix:]flagcore`, reached with what
    /// the environment holds (not AWS profiles): the region from `AWS_REGION` or
    /// `AWS_DEFAULT_REGION`, the endpoint from `AWS_ENDPOINT_URL_DYNAMODB`
    /// or `AWS_ENDPOINT_URL` (DynamoDB's own otherwise).
    pub(crate) fn from_env(name: &str, prefix: Option<&str>) -> Result<Table, Failure> {
        let service = Service::from_env(
            "dynamodb",
            "DynamoDB_20120810",
            "AWS_ENDPOINT_URL_DYNAMODB",
            "reaching DynamoDB",
        )?;
        Ok(Table {
            name: name.to_owned(),
            namespace: prefix.map_or_else(|| "flagcore".to_owned(), |p| format!("{p}:flagcore")),
            service,
        })
    }

    /// `dynamodb TABLE (NAMESPACE)`, for messages.
    pub(crate) fn describe(&self) -> String {
        format!("dynamodb {} ({})", self.name, self.namespace)
    }

    fn key(&self, name: &str) -> Value {
        json!({"namespace": {"S": self.namespace}, "key": {"S": name}})
    }

    fn call(&self, operation: &str, body: &Value) -> Result<Result<Value, Refused>, Failure> {
        self.service.call(&self.describe(), operation, body)
    }

    fn send(&self, operation: &str, body: &Value) -> Result<Value, Failure> {
        self.service.send(&self.describe(), operation, body)
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
                    item["data"] = json!({"B": flagcore::base64::encode_standard(bytes)});
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

    /// Writes an item of one text attribute (`head` for a generation's own
    /// head, `record` for a history record), which nothing replaces.
    pub(crate) fn write_text(
        &self,
        name: &str,
        attribute: &str,
        text: &str,
    ) -> Result<(), Failure> {
        let mut item = self.key(name);
        item[attribute] = json!({"S": text});
        self.send("PutItem", &json!({"TableName": self.name, "Item": item}))
            .map(drop)
    }

    /// Writes an item of one text attribute `text` only if that attribute
    /// is still `previous` (`None`: no item yet); `Ok(false)` when another
    /// writer changed it meanwhile.
    pub(crate) fn write_text_if(
        &self,
        name: &str,
        text: &str,
        previous: Option<&str>,
    ) -> Result<bool, Failure> {
        self.put_if(name, "text", text, previous)
    }

    /// Puts the item `name` of one string `attribute` on the condition that
    /// the attribute is still `previous` (`None`: no item yet): `Ok(false)`
    /// when it is not.
    fn put_if(
        &self,
        name: &str,
        attribute: &str,
        text: &str,
        previous: Option<&str>,
    ) -> Result<bool, Failure> {
        let mut item = self.key(name);
        item[attribute] = json!({"S": text});
        let mut body = json!({"TableName": self.name, "Item": item});
        match previous {
            None => {
                body["ConditionExpression"] = json!("attribute_not_exists(#key)");
                body["ExpressionAttributeNames"] = json!({"#key": "key"});
            }
            Some(previous) => {
                body["ConditionExpression"] = json!("#attribute = :previous");
                body["ExpressionAttributeNames"] = json!({"#attribute": attribute});
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

    /// The item under `name`, read strongly consistent, or `None`.
    pub(crate) fn read_item(&self, name: &str) -> Result<Option<Value>, Failure> {
        let answer = self.send(
            "GetItem",
            &json!({"TableName": self.name, "Key": self.key(name), "ConsistentRead": true}),
        )?;
        Ok(answer.get("Item").cloned())
    }

    /// The newest `limit` items whose names start with `prefix`, by name,
    /// newest (greatest) first: one Query a page of at most 100.
    pub(crate) fn newest_under(&self, prefix: &str, limit: usize) -> Result<Vec<Value>, Failure> {
        let mut items = Vec::new();
        let mut start: Option<Value> = None;
        while items.len() < limit {
            let mut body = json!({
                "TableName": self.name,
                "KeyConditionExpression": "#ns = :ns AND begins_with(#key, :prefix)",
                "ExpressionAttributeNames": {"#ns": "namespace", "#key": "key"},
                "ExpressionAttributeValues": {":ns": {"S": self.namespace}, ":prefix": {"S": prefix}},
                "ScanIndexForward": false,
                "ConsistentRead": true,
                "Limit": (limit - items.len()).min(100),
            });
            if let Some(key) = start.take() {
                body["ExclusiveStartKey"] = key;
            }
            let answer = self.send("Query", &body)?;
            items.extend(answer["Items"].as_array().cloned().unwrap_or_default());
            match answer.get("LastEvaluatedKey") {
                Some(key) if !key.is_null() => start = Some(key.clone()),
                _ => break,
            }
        }
        items.truncate(limit);
        Ok(items)
    }

    /// Writes the head only if it is still `previous` (`None`: none yet).
    /// `Ok(false)` when another publisher replaced it meanwhile.
    pub(crate) fn write_head(&self, text: &str, previous: Option<&str>) -> Result<bool, Failure> {
        self.put_if(flagcore::published::HEAD_NAME, "head", text, previous)
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

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn table(session_token: Option<&str>) -> Service {
        let identity = aws_credential_types::Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session_token.map(str::to_owned),
            None,
            "test",
        )
        .into();
        Service::new(
            "dynamodb",
            "DynamoDB_20120810",
            "http://127.0.0.1:8000",
            "us-east-1",
            identity,
        )
        .unwrap()
    }

    // The signatures botocore's SigV4Auth (the AWS SDK for Python) gives
    // the same GetItem, host and time, without and with a session token.
    #[test]
    fn requests_are_signed_as_the_aws_sdks_sign_them() {
        let payload = br#"{"TableName":"flags","Key":{"namespace":{"S":"flagcore"},"key":{"S":"head.json"}},"ConsistentRead":true}"#;
        let at = UNIX_EPOCH + Duration::from_secs(1_796_128_560); // 2026-12-01T12:36:00Z
        let target = "DynamoDB_20120810.GetItem";
        let header = |headers: &[(String, String)], name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let signed = table(None).sign(target, payload, at).unwrap();
        assert_eq!(
            header(&signed, "x-amz-date").as_deref(),
            Some("20261201T123600Z")
        );
        assert_eq!(
            header(&signed, "authorization").as_deref(),
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/dynamodb/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
                 Signature=2986bf5417266cf1e7ab00b42d4f7074ae8be51fbf120fcae499819f86cbf441"
            )
        );
        assert_eq!(header(&signed, "x-amz-security-token"), None);
        let signed = table(Some("session-token-example"))
            .sign(target, payload, at)
            .unwrap();
        assert_eq!(
            header(&signed, "authorization").as_deref(),
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/dynamodb/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, \
                 Signature=e4508834c96fff6c7fdac03d66fa94726e5d100e3850231ff8f66e44fc5cf2b4"
            )
        );
        assert_eq!(
            header(&signed, "x-amz-security-token").as_deref(),
            Some("session-token-example")
        );
    }
}
