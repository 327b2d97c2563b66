//! A guarded canary's decision rule, pure and shared by every host: given
//! the plan, the step it is at, and the per-variation aggregates of the
//! step's window, *advance* to the next step, *hold*, *roll back*, *halt*,
//! or say the canary is *complete*, with the reason in words and figures.
//!
//! The window holds what was observed since the step started (cumulative:
//! the tests' guarantees are over the step's growing sample; a source that
//! keeps only the newest week, as the CloudWatch read does, slides past a
//! week, and the guarantees hold within it). The order of the rule:
//!
//! 1. **Harm**: for each guard, the mSPRT of [`stats`] at α (0.05 by
//!    default), one-sided: the canary's metric worse than control's by more
//!    than the tolerance rolls back, at once, at any look, as soon as each
//!    variation has 30 values. Within a step the test stays valid however
//!    often the controller looks; α holds per guard and per step, so the
//!    chance of a false rollback over a whole canary is at most steps ×
//!    guards × α.
//! 2. **Sample ratio**: the users per variation against the step's planned
//!    split: a Bayes factor that is valid however often it is looked at
//!    ([`stats::split_log_bayes_factor`]), on counts divided by the split's
//!    dispersion from minute to minute when the window gives its minutes
//!    (`users.batches`, see [`stats::dispersion`]). Past ln(1/0.001) the
//!    canary halts (the chi-square's p-value is reported beside it):
//!    bucketing or metrics are broken. Where the counts are evaluations,
//!    not distinct users (`users.unit`, as CloudWatch counts them), a
//!    user's requests all fall on one side and no count test holds: the
//!    split must also be off the plan by more than half the smaller side's
//!    share ([`GROSS_MISMATCH`]), as broken bucketing is. A halted canary
//!    never advances, and is still rolled back on harm. Checked when each
//!    variation is expected at least 5 users. Harm comes first, so that a
//!    canary which fails before it reports (and so looks short of users)
//!    is rolled back, not merely halted.
//! 3. **Bake**: before the step's minimum bake time, hold.
//! 4. **Data**: a guard with fewer than `minSample` values in either
//!    variation holds: no data never advances.
//! 5. **Doubt**: a guard whose estimate is worse than its tolerance, though
//!    not yet proven harmful, holds: the rule waits for the values that
//!    decide it rather than go further on it.
//! 6. Otherwise advance to the next step, or, at the last, complete.

pub mod cloudwatch;
mod control;
pub mod launchdarkly;
mod plan;
mod rollout;
mod state;
pub mod stats;

pub use control::{alert_line, step, Outcome, AUTHOR};
pub use plan::{Guard, GuardKind, Plan, PlanError, MAX_GUARDS};
pub use state::{State, Status, MAX_DECISIONS, MAX_STATE_BYTES};

use serde_json::{json, Map, Value};

use stats::{batch_moments, dispersion, msprt_log, sample_ratio, split_log_bayes_factor, Moments};

/// The sample ratio test's level: its Bayes factor past `1 / SAMPLE_RATIO_P` halts the canary.
pub const SAMPLE_RATIO_P: f64 = 0.001;
/// The most batches a window's side may hold (a week of minutes).
pub const MAX_BATCHES: usize = 10_080;
/// Counted in evaluations, how far off the plan a split must be to be a
/// mismatch: this share of the smaller side's planned share.
pub const GROSS_MISMATCH: f64 = 0.5;
/// The fewest values per variation before a harm is acted on.
pub const MIN_HARM_SAMPLE: f64 = 30.0;

/// What the controller does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Raise the rollout to the next step.
    Advance,
    /// Wait: the bake is not over, or there is not enough data.
    Hold,
    /// Roll the canary back to 0%: a guard found harm.
    RollBack,
    /// Stop, and change nothing: the sample ratio says bucketing or
    /// metrics are broken.
    Halt,
    /// The last step baked with no harm: the canary is done.
    Complete,
}

impl Action {
    /// `advance`, `hold`, `rollback`, `halt` or `complete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Advance => "advance",
            Action::Hold => "hold",
            Action::RollBack => "rollback",
            Action::Halt => "halt",
            Action::Complete => "complete",
        }
    }
}

/// A decision, with what it was made on.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// What to do.
    pub action: Action,
    /// Why, in words and figures.
    pub reason: String,
    /// The figures: the sample ratio and each guard's.
    pub figures: Value,
}

fn window_error(path: impl Into<String>, message: impl Into<String>) -> PlanError {
    PlanError {
        code: "WINDOW_INVALID",
        path: path.into(),
        message: message.into(),
    }
}

/// The decision at step `step` (from 0) of `plan`, the step having started
/// at `started_ms` and the time being `now_ms`, from the window's
/// aggregates since then: `{"users": {"canary": N, "control": N,
/// "batches"?: [[canary, control], ...], "unit"?: "users" | "evaluations"},
/// "metrics": {METRIC: {"canary": {"count", "sum", "sumSquares"},
/// "control": ...}}}` (a rate's `sumSquares` may be left out). A source
/// that keeps no sum of squares gives a side's `{"batches": [[count, sum],
/// ...]}` instead, a pair a minute: its variance is then bounded by batch
/// means ([`stats::batch_moments`]), and a side of fewer than
/// [`stats::MIN_BATCHES`] minutes holding values counts as none yet.
pub fn decide(
    plan: &Plan,
    step: usize,
    started_ms: u64,
    now_ms: u64,
    window: &Value,
) -> Result<Decision, PlanError> {
    let share = *plan.steps.get(step).ok_or_else(|| {
        window_error("$.step", format!("the plan has {} steps", plan.steps.len()))
    })?;
    let count = |side: &str| window["users"][side].as_u64();
    let (Some(canary), Some(control)) = (count("canary"), count("control")) else {
        return Err(window_error(
            "$.users",
            "the users per variation (distinct, or evaluations with \"unit\": \"evaluations\"): {\"canary\": N, \"control\": N}",
        ));
    };
    let mut figures = Map::new();
    let mut guards = Vec::new();
    let mut short = Vec::new();
    for guard in &plan.guards {
        let sides = &window["metrics"][&guard.metric];
        let moments = |side: &str| -> Result<Moments, PlanError> {
            let m = &sides[side];
            if m.is_null() {
                return Ok(Moments::default());
            }
            if let Some(batches) = m.get("batches") {
                return batched(
                    batches,
                    &format!("$.metrics.{}.{side}.batches", guard.metric),
                );
            }
            let field = |name: &str| {
                m[name].as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                    window_error(
                        format!("$.metrics.{}.{side}.{name}", guard.metric),
                        "a finite number",
                    )
                })
            };
            let count = field("count")?;
            let sum = field("sum")?;
            // A rate's values are 0 or 1: their squares are themselves.
            let sum_squares = match (&m["sumSquares"], guard.kind) {
                (Value::Null, GuardKind::Rate) => sum,
                _ => field("sumSquares")?,
            };
            let at = format!("$.metrics.{}.{side}", guard.metric);
            if count < 0.0 || count.fract() != 0.0 {
                return Err(window_error(
                    at,
                    "count is a whole number of values, at least 0",
                ));
            }
            if guard.kind == GuardKind::Rate && !(0.0..=count).contains(&sum) {
                return Err(window_error(
                    at,
                    "a rate's sum is between 0 and its count: each value is 0 or 1",
                ));
            }
            // No values have squares summing to less than the square of
            // their sum over their count (Cauchy-Schwarz).
            if count > 0.0 && sum_squares < sum * sum / count * (1.0 - 1e-9) - 1e-9 {
                return Err(window_error(
                    at,
                    "sumSquares is less than any values of this count and sum can have",
                ));
            }
            Ok(Moments {
                count,
                sum,
                sum_squares,
            })
        };
        let (t, c) = (moments("canary")?, moments("control")?);
        let figure = harm(guard, plan.alpha, t, c);
        // A mean's minutes too few for its variance read as no values: say so.
        let minutes = |side: &str| {
            sides[side]["batches"].as_array().map(|list| {
                list.iter()
                    .filter(|pair| pair[0].as_f64().is_some_and(|n| n > 0.0))
                    .count()
            })
        };
        let few: Vec<String> = [
            ("canary", minutes("canary")),
            ("control", minutes("control")),
        ]
        .into_iter()
        .filter_map(|(side, k)| {
            k.filter(|&k| k < stats::MIN_BATCHES)
                .map(|k| format!("{k} on {side}"))
        })
        .collect();
        if !few.is_empty() {
            short.push(format!(
                "{} has minutes with values {}, of the {} a mean's variance needs",
                guard.metric,
                few.join(" and "),
                stats::MIN_BATCHES
            ));
        } else if t.count < plan.min_sample as f64 || c.count < plan.min_sample as f64 {
            short.push(format!(
                "{} has {} values on the canary and {} on control, of {} each",
                guard.metric, t.count, c.count, plan.min_sample
            ));
        }
        guards.push((guard, figure));
    }
    figures.insert(
        "guards".into(),
        Value::Array(guards.iter().map(|(_, f)| f.json.clone()).collect()),
    );
    if let Some((_, figure)) = guards.iter().find(|(_, f)| f.harm) {
        let reason = format!("harm on {}", figure.words);
        return Ok(Decision {
            action: Action::RollBack,
            reason,
            figures: Value::Object(figures),
        });
    }
    let expected = [share / 100.0, 1.0 - share / 100.0];
    let total = canary as f64 + control as f64;
    if expected.iter().all(|e| e * total >= 5.0) {
        let batches = user_batches(&window["users"]["batches"])?;
        let phi = dispersion(&batches);
        let (statistic, _) = sample_ratio([canary, control], expected);
        let statistic = statistic / phi;
        let p = stats::erfc((statistic / 2.0).sqrt());
        let log_bf = split_log_bayes_factor(canary as f64 / phi, control as f64 / phi, expected[0]);
        let threshold = (1.0 / SAMPLE_RATIO_P).ln();
        // Evaluations are not users: one user's requests all fall on one
        // side, and a few heavy users move the split more than any test of
        // counts allows for. Counted in evaluations, only a split off the
        // plan by more than half the smaller side's share is a mismatch.
        let evaluations = match &window["users"]["unit"] {
            Value::Null => false,
            Value::String(unit) if unit == "users" => false,
            Value::String(unit) if unit == "evaluations" => true,
            _ => {
                return Err(window_error(
                    "$.users.unit",
                    "\"users\" (distinct, the default) or \"evaluations\"",
                ))
            }
        };
        let observed = canary as f64 / total;
        let gross = (observed - expected[0]).abs() > GROSS_MISMATCH * expected[0].min(expected[1]);
        figures.insert(
            "sampleRatio".into(),
            json!({"statistic": statistic, "p": p, "dispersion": phi, "logBayesFactor": log_bf, "threshold": threshold, "observed": observed}),
        );
        if log_bf >= threshold && (gross || !evaluations) {
            let reason = format!(
                "sample ratio mismatch: {canary} users on the canary and {control} on control, where the plan splits {share}% to {}% (log Bayes factor {log_bf:.2} ≥ log(1/{SAMPLE_RATIO_P}) = {threshold:.2}; chi-square {statistic:.2}, p = {p:.2e}): bucketing or metrics are broken; the canary advances no more until someone looks",
                100.0 - share
            );
            return Ok(Decision {
                action: Action::Halt,
                reason,
                figures: Value::Object(figures),
            });
        }
    }
    let baked = now_ms.saturating_sub(started_ms);
    if baked < plan.bake_ms {
        let reason = format!(
            "baking at {share}%: {} s of {} s",
            baked / 1000,
            plan.bake_ms / 1000
        );
        return Ok(Decision {
            action: Action::Hold,
            reason,
            figures: Value::Object(figures),
        });
    }
    if share < 100.0 && !short.is_empty() {
        let reason = format!("not enough data at {share}%: {}", short.join("; "));
        return Ok(Decision {
            action: Action::Hold,
            reason,
            figures: Value::Object(figures),
        });
    }
    // Not proven harmful, but worse than the tolerance as observed: wait
    // for more values rather than go further on it.
    if share < 100.0 {
        let past: Vec<String> = guards
            .iter()
            .filter(|(_, f)| f.past)
            .map(|(_, f)| f.words.clone())
            .collect();
        if !past.is_empty() {
            let reason = format!(
                "holding at {share}%: worse on the canary than the tolerance, not yet proven ({})",
                past.join("; ")
            );
            return Ok(Decision {
                action: Action::Hold,
                reason,
                figures: Value::Object(figures),
            });
        }
    }
    let calm: Vec<String> = guards.iter().map(|(_, f)| f.words.clone()).collect();
    let (action, reason) = match plan.steps.get(step + 1) {
        Some(next) => (
            Action::Advance,
            format!(
                "{share}% baked with no harm ({}): on to {next}%",
                calm.join("; ")
            ),
        ),
        None => (
            Action::Complete,
            format!("{share}% baked with no harm: the canary is complete"),
        ),
    };
    Ok(Decision {
        action,
        reason,
        figures: Value::Object(figures),
    })
}

/// A side's moments from its batches, `[[count, sum], ...]` (see
/// [`stats::batch_moments`]); too few batches read as no values yet.
fn batched(batches: &Value, at: &str) -> Result<Moments, PlanError> {
    let list = batches
        .as_array()
        .filter(|list| list.len() <= MAX_BATCHES)
        .ok_or_else(|| {
            window_error(
                at,
                format!("an array of at most {MAX_BATCHES} [count, sum] pairs"),
            )
        })?;
    let mut pairs = Vec::with_capacity(list.len());
    for (n, pair) in list.iter().enumerate() {
        let number = |i: usize| pair[i].as_f64().filter(|x| x.is_finite());
        match (pair.as_array().map(Vec::len), number(0), number(1)) {
            (Some(2), Some(count), Some(sum)) if count >= 0.0 && count.fract() == 0.0 => {
                pairs.push((count, sum));
            }
            _ => {
                return Err(window_error(
                    format!("{at}[{n}]"),
                    "a [count, sum] pair: a whole count, at least 0, and a finite sum",
                ))
            }
        }
    }
    Ok(batch_moments(&pairs).unwrap_or_default())
}

/// The users' minutes, `[[canary, control], ...]`, where the source keeps them.
fn user_batches(batches: &Value) -> Result<Vec<(f64, f64)>, PlanError> {
    const AT: &str = "$.users.batches";
    let Some(list) = batches.as_array() else {
        return match batches {
            Value::Null => Ok(Vec::new()),
            _ => Err(window_error(AT, "an array of [canary, control] counts")),
        };
    };
    if list.len() > MAX_BATCHES {
        return Err(window_error(AT, format!("at most {MAX_BATCHES} minutes")));
    }
    list.iter()
        .enumerate()
        .map(|(n, pair)| {
            let count = |i: usize| pair[i].as_f64().filter(|x| x.is_finite() && *x >= 0.0);
            match (pair.as_array().map(Vec::len), count(0), count(1)) {
                (Some(2), Some(c), Some(t)) => Ok((c, t)),
                _ => Err(window_error(
                    format!("{AT}[{n}]"),
                    "a [canary, control] pair of counts, at least 0",
                )),
            }
        })
        .collect()
}

/// One guard's harm test.
struct Harm {
    harm: bool,
    /// The estimate is worse than the tolerance, found harmful or not yet.
    past: bool,
    words: String,
    json: Value,
}

fn harm(guard: &Guard, alpha: f64, t: Moments, c: Moments) -> Harm {
    let threshold = (1.0 / alpha).ln();
    let sign = if guard.higher_is_worse { 1.0 } else { -1.0 };
    if t.count < MIN_HARM_SAMPLE || c.count < MIN_HARM_SAMPLE {
        let words = format!(
            "{}: {} and {} values, too few to test",
            guard.metric, t.count, c.count
        );
        let json = json!({"metric": guard.metric, "canary": null, "control": null, "logLambda": null, "harm": false});
        return Harm {
            harm: false,
            past: false,
            words,
            json,
        };
    }
    // The null: the canary no worse than control past the tolerance.
    let (theta, v, tau2, shown) = match guard.kind {
        GuardKind::Rate => {
            let delta = guard.tolerance / 100.0;
            let theta = sign * (t.mean() - c.mean()) - delta;
            let v = t.variance() / t.count + c.variance() / c.count;
            let tau = delta.max(0.01);
            let shown = format!(
                "{:.2}% on the canary, {:.2}% on control ({:+.2} points; tolerance {} point(s))",
                100.0 * t.mean(),
                100.0 * c.mean(),
                100.0 * (t.mean() - c.mean()),
                guard.tolerance
            );
            (theta, v, tau * tau, shown)
        }
        GuardKind::Mean => {
            // The margin is a share of control's mean, whatever its sign.
            let margin = guard.tolerance / 100.0 * c.mean().abs();
            let theta = sign * (t.mean() - c.mean()) - margin;
            let v = t.variance() / t.count + c.variance() / c.count;
            let tau = (guard.tolerance.max(5.0) / 100.0 * c.mean().abs())
                .max(c.variance().sqrt() / 10.0)
                .max(1e-9);
            let relative = if c.mean() == 0.0 {
                String::new()
            } else {
                format!(", {:+.1}%", 100.0 * (t.mean() / c.mean() - 1.0))
            };
            let shown = format!(
                "{:.4} on the canary, {:.4} on control ({:+.4}{relative}; tolerance {}%)",
                t.mean(),
                c.mean(),
                t.mean() - c.mean(),
                guard.tolerance
            );
            (theta, v, tau * tau, shown)
        }
    };
    let log_lambda = msprt_log(theta, v, tau2);
    let harm = theta > 0.0 && log_lambda >= threshold;
    let verdict = if log_lambda >= threshold { "≥" } else { "<" };
    // A large statistic on the better side of the tolerance is no harm.
    let side = if theta > 0.0 {
        ""
    } else {
        ", within the tolerance"
    };
    let words = format!(
        "{}: {shown}, log Λ = {log_lambda:.2} {verdict} log(1/α) = {threshold:.2}{side}",
        guard.metric
    );
    let json = json!({
        "metric": guard.metric, "canary": t.mean(), "control": c.mean(),
        "logLambda": log_lambda, "threshold": threshold, "harm": harm,
    });
    Harm {
        harm,
        past: theta > 0.0,
        words,
        json,
    }
}
