//! The shared canary vectors (`tests/vectors/canary`): a plan, a step, its
//! times and the window's aggregates, and the decision every runtime must
//! make, with its figures (computed independently by
//! tests/generate/canary_vectors.py from the formulas the core cites).

#[path = "../../tests/support/canonical.rs"]
#[allow(dead_code)]
mod canonical;
#[path = "../../tests/support/corpus.rs"]
#[allow(dead_code)]
mod corpus;

use flagcore::canary::{decide, Plan};
use serde_json::Value;

fn near(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-6 * want.abs().max(1e-300) || (got - want).abs() < 1e-12
}

fn problems(case: &Value) -> Option<String> {
    let expect = &case["expect"];
    let decided = Plan::from_value(&case["plan"]).and_then(|plan| {
        let step = case["step"].as_u64().unwrap() as usize;
        decide(
            &plan,
            step,
            case["startedMs"].as_u64().unwrap(),
            case["nowMs"].as_u64().unwrap(),
            &case["window"],
        )
        .map(|d| (d, plan.steps.get(step + 1).copied()))
    });
    let (decision, next) = match decided {
        Err(e) => {
            let want = (expect["code"].as_str(), expect["path"].as_str());
            return (expect["action"] != "error" || want != (Some(e.code), Some(e.path.as_str())))
                .then(|| format!("refused: {e}"));
        }
        Ok(made) => made,
    };
    if expect["action"] != decision.action.as_str() {
        return Some(format!("{}: {}", decision.action.as_str(), decision.reason));
    }
    if let Some(to) = expect["to"].as_f64() {
        if next != Some(to) {
            return Some(format!("advances to {next:?}, not {to}"));
        }
    }
    let figures = &decision.figures;
    if let Some(want) = expect.get("sampleRatio") {
        // The core's erfc is within 1.2e-7 of the exact one: near enough.
        for name in ["statistic", "p"] {
            let got = figures["sampleRatio"][name].as_f64().unwrap_or(f64::NAN);
            if !near(got, want[name].as_f64().unwrap()) {
                return Some(format!("sample ratio {name} {got}, not {}", want[name]));
            }
        }
    }
    if let Some(p) = expect["sampleRatioP"].as_f64() {
        let got = figures["sampleRatio"]["p"].as_f64().unwrap_or(f64::NAN);
        if (got - p).abs() > 0.05e-6 {
            return Some(format!("sample ratio p {got}, where the book gives {p}"));
        }
    }
    for want in expect["guards"].as_array().into_iter().flatten() {
        let got = figures["guards"]
            .as_array()
            .and_then(|list| list.iter().find(|g| g["metric"] == want["metric"]));
        let Some(got) = got else {
            return Some(format!("no figures for {}", want["metric"]));
        };
        let ll = got["logLambda"].as_f64().unwrap_or(f64::NAN);
        if !near(ll, want["logLambda"].as_f64().unwrap()) || got["harm"] != want["harm"] {
            return Some(format!(
                "{}: log Λ {ll}, harm {}; expected {want}",
                want["metric"], got["harm"]
            ));
        }
    }
    None
}

#[test]
fn every_canary_vector() {
    let cases = corpus::cases(&corpus::vectors(env!("CARGO_MANIFEST_DIR")), "canary");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| problems(case).map(|p| format!("{}: {p}", case["name"])))
        .collect();
    println!(
        "canary vectors (core): {} passed, {} failed",
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(!cases.is_empty(), "no canary vectors ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
