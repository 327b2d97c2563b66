//! A canary whose flag lives in LaunchDarkly, pure: the flag as
//! LaunchDarkly's REST API answers it (`GET /api/v2/flags/{project}/{flag}
//! ?env={environment}`) made into the snapshot the controller reads, and
//! the controller's edit made into the semantic patch LaunchDarkly takes
//! (`PATCH /api/v2/flags/{project}/{flag}`, `Content-Type: application/json;
//! domain-model=launchdarkly.semanticpatch`): one
//! `updateFallthroughVariationOrRollout` instruction whose weights are keyed
//! by the variations' ids, with the environment and the comment.

use serde_json::{json, Map, Value};

use super::PlanError;
use crate::edit::{apply, change_from_json};
use crate::published::canonical_json;
use crate::snapshot::Snapshot;

fn invalid(path: impl Into<String>, message: impl Into<String>) -> PlanError {
    PlanError {
        code: "LAUNCHDARKLY_INVALID",
        path: path.into(),
        message: message.into(),
    }
}

/// The snapshot of the one flag `api` holds (LaunchDarkly's REST answer),
/// as it is in `environment`: its variations, whether it is on, its default
/// rule and its off variation (its targets and rules are not the
/// controller's, and are left out).
pub fn snapshot(api: &Value, environment: &str) -> Result<Snapshot, PlanError> {
    let key = api["key"]
        .as_str()
        .ok_or_else(|| invalid("$.key", "the flag's key"))?;
    let variations: Vec<Value> = api["variations"]
        .as_array()
        .ok_or_else(|| invalid("$.variations", "the flag's variations"))?
        .iter()
        .map(|v| v["value"].clone())
        .collect();
    let env = &api["environments"][environment];
    if !env.is_object() {
        return Err(invalid(
            format!("$.environments.{environment}"),
            format!(
                "the flag has no environment {environment:?}: ask for it with ?env={environment}"
            ),
        ));
    }
    let flag = json!({
        "key": key,
        "version": env["_version"].as_u64().or_else(|| api["_version"].as_u64()).unwrap_or(1),
        "on": env["on"].as_bool().unwrap_or(false),
        "salt": env["salt"].as_str().unwrap_or(key),
        "variations": variations,
        "fallthrough": env["fallthrough"],
        "offVariation": env["offVariation"],
        "targets": [], "contextTargets": [], "rules": [], "prerequisites": [],
    });
    let document = json!({"flags": {key: flag}, "segments": {}});
    Snapshot::from_json(document.to_string().as_bytes()).map_err(|e| {
        invalid(
            format!("$.environments.{environment}"),
            format!("the flag does not read as a flag: {e}"),
        )
    })
}

/// The semantic patch that makes `edit` (a change as the edits name it,
/// which the controller answered) to the flag `api` holds in
/// `environment`, with `comment`.
pub fn semantic_patch(
    api: &Value,
    environment: &str,
    edit: &Value,
    comment: &str,
) -> Result<Value, PlanError> {
    let before = snapshot(api, environment)?;
    let change = change_from_json(&before, edit).map_err(|e| invalid("$", e.message))?;
    let after = apply(&before, &change).map_err(|e| invalid("$", e.message))?;
    let document: Value = serde_json::from_slice(&canonical_json(&after)).unwrap_or(Value::Null);
    let key = api["key"].as_str().unwrap_or_default();
    let fallthrough = &document["flags"][key]["fallthrough"];
    let ids: Vec<&str> = api["variations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v["_id"].as_str().unwrap_or_default())
        .collect();
    let id = |index: &Value| {
        index
            .as_u64()
            .and_then(|i| ids.get(usize::try_from(i).ok()?).copied())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| invalid("$.variations", format!("variation {index} has no _id")))
    };
    let mut instruction = Map::new();
    instruction.insert("kind".into(), json!("updateFallthroughVariationOrRollout"));
    match &fallthrough["variation"] {
        Value::Null => {
            let mut weights = Map::new();
            for entry in fallthrough["rollout"]["variations"]
                .as_array()
                .into_iter()
                .flatten()
            {
                weights.insert(id(&entry["variation"])?.to_owned(), entry["weight"].clone());
            }
            instruction.insert("rolloutWeights".into(), Value::Object(weights));
            let rollout = &fallthrough["rollout"];
            if let Some(by) = rollout["bucketBy"].as_str() {
                instruction.insert("rolloutBucketBy".into(), json!(by));
            }
            if let Some(kind) = rollout["contextKind"].as_str() {
                instruction.insert("rolloutContextKind".into(), json!(kind));
            }
        }
        variation => {
            instruction.insert("variationId".into(), json!(id(variation)?));
        }
    }
    Ok(json!({
        "environmentKey": environment,
        "comment": comment,
        "instructions": [Value::Object(instruction)],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(fallthrough: Value, on: bool) -> Value {
        json!({
            "key": "new-checkout", "_version": 3,
            "variations": [{"_id": "id-true", "value": true}, {"_id": "id-false", "value": false}],
            "environments": {"production": {"on": on, "_version": 7, "salt": "s", "fallthrough": fallthrough, "offVariation": 1}},
        })
    }

    #[test]
    fn a_step_is_a_rollout_keyed_by_the_variations_ids() {
        let api = flag(json!({"variation": 1}), true);
        let edit = json!({"rollout": "new-checkout", "shares": {"true": "1%", "false": "99%"}});
        let patch = semantic_patch(&api, "production", &edit, "canary: 1%").unwrap();
        assert_eq!(
            patch,
            json!({"environmentKey": "production", "comment": "canary: 1%", "instructions": [
                {"kind": "updateFallthroughVariationOrRollout", "rolloutWeights": {"id-true": 1000, "id-false": 99000}}
            ]})
        );
    }

    #[test]
    fn the_rollouts_bucketing_stays() {
        let api = flag(
            json!({"rollout": {"bucketBy": "org", "contextKind": "user", "variations": [{"variation": 0, "weight": 10000}, {"variation": 1, "weight": 90000}]}}),
            true,
        );
        let edit = json!({"rollout": "new-checkout", "shares": {"true": "0%", "false": "100%"}});
        let patch = semantic_patch(&api, "production", &edit, "rolled back").unwrap();
        let instruction = &patch["instructions"][0];
        assert_eq!(
            instruction["rolloutWeights"],
            json!({"id-true": 0, "id-false": 100000})
        );
        assert_eq!(instruction["rolloutBucketBy"], "org");
        assert_eq!(instruction["rolloutContextKind"], "user");
    }

    #[test]
    fn the_snapshot_is_the_environments_flag() {
        let snapshot = snapshot(&flag(json!({"variation": 0}), false), "production").unwrap();
        assert_eq!(snapshot.flag_keys(), ["new-checkout"]);
        let document: Value = serde_json::from_slice(&canonical_json(&snapshot)).unwrap();
        assert_eq!(document["flags"]["new-checkout"]["on"], false);
        assert_eq!(document["flags"]["new-checkout"]["version"], 7);
        let missing = super::snapshot(&flag(json!({"variation": 0}), true), "staging").unwrap_err();
        assert_eq!(
            (missing.code, missing.path.as_str()),
            ("LAUNCHDARKLY_INVALID", "$.environments.staging")
        );
    }
}
