//! Shares of a rollout as LaunchDarkly weighs them: thousandths of a
//! percent, exact, and the default rule that serves them.

use serde_json::{json, Map, Value};

use super::{refuse, variation_count, EditError, TOTAL_WEIGHT};

/// A percentage as a weight: `10%`, `12.5`, `0.001%` (thousandths of a
/// percent at the finest, as LaunchDarkly's weights are), from 0 to 100.
pub fn parse_percent(text: &str) -> Result<u32, EditError> {
    let bad = || {
        refuse(
            "PERCENT_INVALID",
            format!("{text:?} is not a percentage from 0 to 100 with at most three decimals, like 10% or 12.5%"),
        )
    };
    let trimmed = text.trim();
    let number = trimmed.strip_suffix('%').unwrap_or(trimmed).trim();
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty()
        || fraction.len() > 3
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 3
    {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let fraction: u32 = format!("{fraction:0<3}").parse().map_err(|_| bad())?;
    let weight = whole * 1_000 + fraction;
    if weight > TOTAL_WEIGHT {
        return Err(bad());
    }
    Ok(weight)
}

/// The weights of a rollout over `count` variations from the shares given
/// for some of them (`(variation, weight)`): they must sum to 100%, except
/// that one variation left out takes what the others leave (`canary 10%`
/// of a boolean flag serves `false` to the other 90%). A variation named
/// twice, or one that does not exist, is refused.
pub fn rollout_weights(count: usize, shares: &[(usize, u32)]) -> Result<Vec<u32>, EditError> {
    let mut weights: Vec<Option<u32>> = vec![None; count];
    for &(variation, weight) in shares {
        let slot = weights.get_mut(variation).ok_or_else(|| {
            refuse(
                "VARIATION_NOT_FOUND",
                format!("variation {variation} does not exist: the flag has {count}"),
            )
        })?;
        if slot.replace(weight).is_some() {
            return Err(refuse(
                "ROLLOUT_INVALID",
                format!("variation {variation} is given two shares"),
            ));
        }
    }
    let given: u32 = weights.iter().flatten().sum();
    let missing: Vec<usize> = (0..count).filter(|&v| weights[v].is_none()).collect();
    match missing.as_slice() {
        [] if given == TOTAL_WEIGHT => {}
        [only] if given <= TOTAL_WEIGHT => weights[*only] = Some(TOTAL_WEIGHT - given),
        _ => {
            return Err(refuse(
                "PERCENT_INVALID",
                format!(
                    "the shares sum to {}%, not 100%: give every variation its share, or leave out one, which takes the rest",
                    percent(given)
                ),
            ))
        }
    }
    Ok(weights.into_iter().map(|w| w.unwrap_or(0)).collect())
}

/// A weight as a percentage, `12.5`.
pub fn percent(weight: u32) -> String {
    let text = format!("{}.{:03}", weight / 1_000, weight % 1_000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

pub(super) fn rollout(flag: &mut Map<String, Value>, weights: &[u32]) -> Result<(), EditError> {
    let count = variation_count(flag);
    if weights.len() != count
        || weights.iter().map(|&w| u64::from(w)).sum::<u64>() != u64::from(TOTAL_WEIGHT)
    {
        return Err(refuse(
            "PERCENT_INVALID",
            format!("a rollout gives each of the flag's {count} variations a share, 100% in all"),
        ));
    }
    let existing = flag
        .get("fallthrough")
        .and_then(|f| f.get("rollout"))
        .and_then(Value::as_object)
        .cloned();
    let fallthrough = match (weights.iter().position(|&w| w == TOTAL_WEIGHT), existing) {
        // A fixed variation stays one.
        (Some(only), None) => json!({"variation": only}),
        (_, existing) => {
            // What the rollout had besides its weights (a seed, the attribute
            // and context kind it buckets by) stays, and so do the order of
            // its variations and the salt: a context's bucket never moves.
            let mut rollout = existing.unwrap_or_default();
            let mut order: Vec<usize> = Vec::with_capacity(count);
            for entry in rollout
                .get("variations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(v) = entry["variation"]
                    .as_u64()
                    .and_then(|v| usize::try_from(v).ok())
                {
                    if v < count && !order.contains(&v) {
                        order.push(v);
                    }
                }
            }
            order.extend(
                (0..count)
                    .filter(|v| !order.contains(v))
                    .collect::<Vec<_>>(),
            );
            let variations: Vec<Value> = order
                .iter()
                .map(|&variation| json!({"variation": variation, "weight": weights[variation]}))
                .collect();
            rollout.insert("variations".into(), Value::Array(variations));
            json!({ "rollout": rollout })
        }
    };
    flag.insert("fallthrough".into(), fallthrough);
    Ok(())
}
