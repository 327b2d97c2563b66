//! A canary plan, read from JSON: the flag, the values under test and in
//! control, the steps, the bake time, the guards, the minimum sample and α.

use serde_json::Value;

/// The most guards a plan holds.
pub const MAX_GUARDS: usize = 20;

/// Why a plan or a window was refused: a code, where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// `PLAN_INVALID` or `WINDOW_INVALID`.
    pub code: &'static str,
    /// Where, as a JSON path (`$.guards[0].tolerance`).
    pub path: String,
    /// What is wrong, and what to do.
    pub message: String,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {}: {}", self.code, self.path, self.message)
    }
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> PlanError {
    PlanError {
        code: "PLAN_INVALID",
        path: path.into(),
        message: message.into(),
    }
}

/// What a guard compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardKind {
    /// A rate (values 0 or 1, like `Errors` measured once a request):
    /// tolerance in percentage points.
    Rate,
    /// A mean (like `Latency`): tolerance in percent of control's mean.
    Mean,
}

/// One metric the canary must not make worse.
#[derive(Debug, Clone, PartialEq)]
pub struct Guard {
    /// The metric's name, as `measure` wrote it.
    pub metric: String,
    /// Rate or mean.
    pub kind: GuardKind,
    /// How much worse than control is tolerated (points, or percent).
    pub tolerance: f64,
    /// Whether a higher value is worse (errors, latency) or a lower one
    /// (conversions).
    pub higher_is_worse: bool,
}

/// A canary plan: the flag, the variation under test against control, the
/// steps, the bake time, the guards, the minimum sample and α.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The flag's key.
    pub flag: String,
    /// The value under test (`true` by default).
    pub canary: Value,
    /// The value it is compared with (`false` by default).
    pub control: Value,
    /// The canary's share at each step, in percent, rising to at most 100.
    pub steps: Vec<f64>,
    /// The least time at each step before it advances, in milliseconds.
    pub bake_ms: u64,
    /// How long after a step starts its window of metrics starts: the
    /// functions answer from the flags before it until their time to live
    /// runs out.
    pub settle_ms: u64,
    /// The fewest values per variation and guard before it advances.
    pub min_sample: u64,
    /// The harm test's level.
    pub alpha: f64,
    /// The guards.
    pub guards: Vec<Guard>,
}

impl Plan {
    /// Reads a plan (see the module's documentation for its fields).
    pub fn from_value(value: &Value) -> Result<Plan, PlanError> {
        let object = value.as_object().ok_or_else(|| {
            invalid(
                "$",
                "a plan is a JSON object with at least \"flag\" and \"guards\"",
            )
        })?;
        let known = [
            "flag",
            "canary",
            "control",
            "steps",
            "bakeSeconds",
            "settleSeconds",
            "minSample",
            "alpha",
            "guards",
        ];
        if let Some(other) = object.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(invalid(
                format!("$.{other}"),
                format!("not a plan's field: they are {}", known.join(", ")),
            ));
        }
        let flag = object
            .get("flag")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| invalid("$.flag", "the flag's key, a string"))?
            .to_owned();
        let canary = object.get("canary").cloned().unwrap_or(Value::Bool(true));
        let control = object.get("control").cloned().unwrap_or(Value::Bool(false));
        if canary == control {
            return Err(invalid(
                "$.control",
                "the control value must differ from the canary's",
            ));
        }
        let steps = match object.get("steps") {
            None => vec![1.0, 10.0, 50.0, 100.0],
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(n, s)| {
                    s.as_f64()
                        .filter(|p| *p > 0.0 && *p <= 100.0)
                        .ok_or_else(|| {
                            invalid(
                                format!("$.steps[{n}]"),
                                "a step is a percentage above 0, at most 100",
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => {
                return Err(invalid(
                    "$.steps",
                    "an array of percentages, like [1, 10, 50, 100]",
                ))
            }
        };
        if steps.is_empty() || steps.windows(2).any(|w| w[1] <= w[0]) {
            return Err(invalid(
                "$.steps",
                "the steps rise: at least one, each above the one before",
            ));
        }
        let number = |name: &str, default: f64, ok: &dyn Fn(f64) -> bool, what: &str| match object
            .get(name)
        {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|x| ok(*x))
                .ok_or_else(|| invalid(format!("$.{name}"), what.to_owned())),
        };
        let bake = number(
            "bakeSeconds",
            1800.0,
            &|x| (0.0..=86_400.0 * 30.0).contains(&x),
            "seconds, from 0 to 30 days",
        )?;
        let settle = number(
            "settleSeconds",
            60.0,
            &|x| (0.0..=3600.0).contains(&x),
            "seconds, from 0 to an hour: longer than the functions' time to live",
        )?;
        let min_sample = number(
            "minSample",
            500.0,
            &|x| x >= super::MIN_HARM_SAMPLE && x.fract() == 0.0,
            "a whole number of values, at least 30 (below it no harm test runs, and nothing may advance untested)",
        )?;
        let alpha = number(
            "alpha",
            0.05,
            &|x| x > 0.0 && x < 0.5,
            "a level above 0 and below 0.5, like 0.05",
        )?;
        let guards = match object.get("guards") {
            Some(Value::Array(list)) if list.len() > MAX_GUARDS => {
                return Err(invalid("$.guards", format!("at most {MAX_GUARDS} guards")))
            }
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .enumerate()
                .map(|(n, g)| guard(g, &format!("$.guards[{n}]")))
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(invalid("$.guards", "at least one guard, like {\"metric\": \"Errors\", \"kind\": \"rate\", \"tolerance\": 1}")),
        };
        Ok(Plan {
            flag,
            canary,
            control,
            steps,
            bake_ms: (bake * 1000.0) as u64,
            settle_ms: (settle * 1000.0) as u64,
            min_sample: min_sample as u64,
            alpha,
            guards,
        })
    }
}

fn guard(value: &Value, path: &str) -> Result<Guard, PlanError> {
    let Some(object) = value.as_object() else {
        return Err(invalid(path, "a guard is an object, like {\"metric\": \"Errors\", \"kind\": \"rate\", \"tolerance\": 1}"));
    };
    if let Some(unknown) = object
        .keys()
        .find(|k| !["metric", "kind", "tolerance", "worse"].contains(&k.as_str()))
    {
        return Err(invalid(
            format!("{path}.{unknown}"),
            "a guard has metric, kind, tolerance and worse (\"higher\" or \"lower\")",
        ));
    }
    let metric = value["metric"]
        .as_str()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            invalid(
                format!("{path}.metric"),
                "the metric's name, as measure() wrote it",
            )
        })?;
    let kind = match value["kind"].as_str() {
        Some("rate") => GuardKind::Rate,
        Some("mean") => GuardKind::Mean,
        _ => {
            return Err(invalid(
                format!("{path}.kind"),
                "\"rate\" (tolerance in points) or \"mean\" (tolerance in percent)",
            ))
        }
    };
    let tolerance = match &value["tolerance"] {
        Value::Null => 0.0,
        v => v
            .as_f64()
            .filter(|t| *t >= 0.0 && t.is_finite())
            .ok_or_else(|| invalid(format!("{path}.tolerance"), "a number, at least 0"))?,
    };
    let higher_is_worse = match value["worse"].as_str() {
        None | Some("higher") => true,
        Some("lower") => false,
        Some(_) => {
            return Err(invalid(
                format!("{path}.worse"),
                "\"higher\" (the default) or \"lower\"",
            ))
        }
    };
    Ok(Guard {
        metric: metric.to_owned(),
        kind,
        tolerance,
        higher_is_worse,
    })
}
