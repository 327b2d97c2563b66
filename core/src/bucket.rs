//! Bucketing (§8 of the evaluation spec): SHA-1 of `prefix.value`, the first
//! 15 hex digits as an integer, divided by 0xFFFFFFFFFFFFFFF, in double
//! precision as LaunchDarkly's Node and Python SDKs compute it.

use serde_json::Value;
use sha1::{Digest, Sha1};

use crate::attr::AttrRef;
use crate::context::Context;
use crate::model::{Bucketer, Rollout, SegmentRule};

/// 15 hex digits, not 16: LaunchDarkly's SDKs take 60 bits of the hash.
const LONG_SCALE: f64 = 0x0FFF_FFFF_FFFF_FFFF_u64 as f64;

/// Integers beyond 2^53 are not exact in the doubles LaunchDarkly's data
/// model uses, so they are not bucketable.
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// What a bucketing gave.
pub(crate) struct Bucket {
    /// In `[0, 1)`.
    pub(crate) value: f64,
    /// The context has no individual context of the rollout's kind.
    pub(crate) missing_kind: bool,
}

/// The rollout's `bucketBy` is not a valid attribute reference.
pub(crate) struct InvalidBucketBy;

impl Bucketer {
    /// A flag rollout: prefix `seed`, or `flagKey.salt`; experiments always
    /// bucket by key.
    pub(crate) fn for_rollout(flag_key: &str, salt: &str, rollout: &Rollout) -> Self {
        let prefix = match rollout.seed {
            Some(seed) => seed.to_string(),
            None => format!("{flag_key}.{salt}"),
        };
        let kind = non_empty(rollout.context_kind.as_deref());
        let attr = match (&rollout.bucket_by, rollout.is_experiment()) {
            (Some(bucket_by), false) => AttrRef::parse_for(bucket_by, kind.is_some()),
            _ => Some(AttrRef::key()),
        };
        Bucketer::new(&prefix, kind, attr)
    }

    /// A weighted segment rule: prefix `segmentKey.salt`, never a seed.
    pub(crate) fn for_segment_rule(segment_key: &str, salt: &str, rule: &SegmentRule) -> Self {
        let kind = non_empty(rule.rollout_context_kind.as_deref());
        let attr = match &rule.bucket_by {
            Some(bucket_by) => AttrRef::parse_for(bucket_by, kind.is_some()),
            None => Some(AttrRef::key()),
        };
        Bucketer::new(&format!("{segment_key}.{salt}"), kind, attr)
    }

    fn new(prefix: &str, kind: Option<&str>, attr: Option<AttrRef>) -> Self {
        let mut hasher = Sha1::new();
        hasher.update(prefix.as_bytes());
        hasher.update(b".");
        Bucketer {
            prefix: hasher,
            kind: kind.unwrap_or("user").to_owned(),
            attr,
        }
    }

    /// Whether `bucketBy` is a valid reference.
    pub(crate) fn is_valid(&self) -> bool {
        self.attr.is_some()
    }

    /// The context's bucket.
    pub(crate) fn bucket(&self, context: &Context) -> Result<Bucket, InvalidBucketBy> {
        let attr = self.attr.as_ref().ok_or(InvalidBucketBy)?;
        let Some(individual) = context.individual(&self.kind) else {
            return Ok(Bucket {
                value: 0.0,
                missing_kind: true,
            });
        };
        let value = match individual.get(attr) {
            Some(Value::String(s)) => self.hash(s.as_bytes()),
            Some(Value::Number(n)) => match n.as_f64().and_then(integer_text) {
                Some(text) => self.hash(text.as_bytes()),
                None => 0.0,
            },
            // Missing, or not bucketable: bucket 0, which is not an error.
            _ => 0.0,
        };
        Ok(Bucket {
            value,
            missing_kind: false,
        })
    }

    fn hash(&self, value: &[u8]) -> f64 {
        let mut hasher = self.prefix.clone();
        hasher.update(value);
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        (u64::from_be_bytes(first) >> 4) as f64 / LONG_SCALE
    }
}

fn non_empty(kind: Option<&str>) -> Option<&str> {
    kind.filter(|k| !k.is_empty())
}

/// The decimal text of an integral number (`33333.0` is `33333`), or `None`
/// for fractions and numbers too large to be exact.
fn integer_text(n: f64) -> Option<String> {
    if n.fract() != 0.0 || n.abs() > MAX_EXACT_INT {
        return None;
    }
    Some((n as i64).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bucket_of(prefix: &str, value: &str) -> f64 {
        Bucketer::new(prefix, None, Some(AttrRef::key())).hash(value.as_bytes())
    }

    // The worked examples of §8.5, in double precision.
    #[test]
    fn worked_examples_match_the_spec() {
        assert_eq!(bucket_of("hashKey.saltyA", "userKeyA"), 0.4215758743392494);
        assert_eq!(bucket_of("hashKey.saltyA", "userKeyB"), 0.6708484965703435);
        assert_eq!(bucket_of("61", "userKeyA"), 0.0980120652476667);
        assert_eq!(bucket_of("hashKey.saltyA", "33333"), 0.5477142345861467);
        assert_eq!(bucket_of("segment3.salty", "user-key"), 0.14950212263461493);
        assert_eq!(
            bucket_of("flag-with-fallthrough-rollout.", "user-key"),
            0.722406698367022
        );
    }

    #[test]
    fn integral_numbers_bucket_like_their_integer_text() {
        let ctx = Context::from_value(&json!({"kind": "user", "key": "k", "n": 33333.0})).unwrap();
        let b = Bucketer::new("hashKey.saltyA", None, AttrRef::literal("n"));
        assert_eq!(b.bucket(&ctx).ok().unwrap().value, 0.5477142345861467);
        let ctx = Context::from_value(&json!({"kind": "user", "key": "k", "n": 1.5})).unwrap();
        assert_eq!(b.bucket(&ctx).ok().unwrap().value, 0.0);
    }
}
