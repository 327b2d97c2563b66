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

use flagcore::canary::cloudwatch::{self, Series};
use flagcore::canary::{decide, step, Plan, State, MAX_DECISIONS, MAX_STATE_BYTES};
use flagcore::edit::{apply, change_from_json};
use flagcore::Snapshot;
use serde_json::{json, Value};

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
        for name in ["statistic", "p", "logBayesFactor"] {
            let got = figures["sampleRatio"][name].as_f64().unwrap_or(f64::NAN);
            // ln Γ by Stirling's series: within 1e-9 of Python's at these sizes.
            let close = if name == "logBayesFactor" {
                (got - want[name].as_f64().unwrap()).abs() < 1e-6
            } else {
                near(got, want[name].as_f64().unwrap())
            };
            if !close {
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

/// The canary's share of the flag's default rule, in percent; `None` when
/// the flag is off or gone.
fn share(snapshot: &Snapshot, plan: &Value) -> Option<f64> {
    let document: Value =
        serde_json::from_slice(&flagcore::published::canonical_json(snapshot)).unwrap();
    let flag = &document["flags"][plan["flag"].as_str().unwrap()];
    if flag["on"] != true {
        return None;
    }
    let values = flag["variations"].as_array().unwrap();
    let canary = plan.get("canary").cloned().unwrap_or(Value::Bool(true));
    let index = values.iter().position(|v| *v == canary).unwrap() as u64;
    let fallthrough = &flag["fallthrough"];
    Some(match fallthrough["variation"].as_u64() {
        Some(v) => f64::from(u8::from(v == index)) * 100.0,
        None => fallthrough["rollout"]["variations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["variation"].as_u64() == Some(index))
            .map(|e| e["weight"].as_f64().unwrap() / 1000.0)
            .sum(),
    })
}

/// Each variation's share of the flag's default rule, in percent.
fn weights(snapshot: &Snapshot, plan: &Value) -> Vec<f64> {
    let document: Value =
        serde_json::from_slice(&flagcore::published::canonical_json(snapshot)).unwrap();
    let flag = &document["flags"][plan["flag"].as_str().unwrap()];
    let mut out = vec![0.0; flag["variations"].as_array().unwrap().len()];
    match flag["fallthrough"]["variation"].as_u64() {
        Some(v) => out[v as usize] = 100.0,
        None => {
            for e in flag["fallthrough"]["rollout"]["variations"]
                .as_array()
                .unwrap()
            {
                out[e["variation"].as_u64().unwrap() as usize] +=
                    e["weight"].as_f64().unwrap() / 1000.0;
            }
        }
    }
    out
}

/// Plays one case's runs: a person's change, then the controller's run,
/// whose edit is published and whose state is kept for the next.
fn run_problems(case: &Value) -> Option<String> {
    let mut snapshot = Snapshot::from_json(case["data"].to_string().as_bytes()).unwrap();
    let mut state: Option<State> = None;
    for (n, run) in case["runs"].as_array().unwrap().iter().enumerate() {
        let expect = &run["expect"];
        if let Some(person) = run.get("person") {
            let change = change_from_json(&snapshot, person).unwrap();
            snapshot = apply(&snapshot, &change).unwrap();
        }
        let window = match run["windowError"].as_str() {
            Some(why) => Err(why),
            None => Ok(&run["window"]),
        };
        let outcome = Plan::from_value(&case["plan"]).and_then(|plan| {
            step(
                &plan,
                state.as_ref(),
                &snapshot,
                window,
                run["nowMs"].as_u64().unwrap(),
            )
        });
        let outcome = match outcome {
            Err(e) => {
                let want = (expect["error"].as_str(), expect["path"].as_str());
                if want != (Some(e.code), Some(e.path.as_str())) {
                    return Some(format!("run {n}: refused: {e}"));
                }
                continue;
            }
            Ok(outcome) => outcome,
        };
        if expect["action"] != outcome.action {
            return Some(format!("run {n}: {}: {}", outcome.action, outcome.reason));
        }
        if let Some(has) = expect["reasonHas"].as_str() {
            if !outcome.reason.contains(has) {
                return Some(format!(
                    "run {n}: the reason {:?} does not say {has:?}",
                    outcome.reason
                ));
            }
        }
        // The history record of the run's edit holds the decisions since
        // the last edit, this one last, with the figures it was made on.
        if let Some(want) = expect["recorded"].as_array() {
            let got: Vec<&str> = outcome
                .decisions
                .iter()
                .map(|d| d["action"].as_str().unwrap_or("?"))
                .collect();
            if got != want.iter().filter_map(Value::as_str).collect::<Vec<_>>() {
                return Some(format!("run {n}: the record holds {got:?}"));
            }
            let last = outcome.decisions.last();
            if last
                .is_some_and(|d| d["reason"] != outcome.reason || d["figures"] != outcome.figures)
            {
                return Some(format!("run {n}: the record's last decision is {last:?}"));
            }
        }
        if let Some(edit) = &outcome.edit {
            if outcome.comment.is_empty() {
                return Some(format!("run {n}: an edit with no comment"));
            }
            snapshot = apply(&snapshot, &change_from_json(&snapshot, edit).unwrap()).unwrap();
        }
        // What is kept reads back as it was written.
        state = outcome
            .state
            .map(|s| State::from_json(s.to_json().as_bytes()).unwrap());
        let status = state.as_ref().map(|s| s.status.as_str());
        let at = state.as_ref().map(|s| s.step as u64);
        if expect["status"].as_str() != status || expect["step"].as_u64() != at {
            return Some(format!("run {n}: status {status:?} at step {at:?}"));
        }
        let got = share(&snapshot, &case["plan"]);
        if expect["share"].as_f64() != got {
            return Some(format!("run {n}: the canary's share is {got:?}"));
        }
        if let Some(want) = expect["weights"].as_array() {
            let got = weights(&snapshot, &case["plan"]);
            let want: Vec<f64> = want.iter().filter_map(Value::as_f64).collect();
            if got != want {
                return Some(format!(
                    "run {n}: the default rule gives {got:?}, not {want:?}"
                ));
            }
        }
    }
    None
}

#[test]
fn every_canary_run_vector() {
    let cases = corpus::cases(&corpus::vectors(env!("CARGO_MANIFEST_DIR")), "canaryRuns");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| run_problems(case).map(|p| format!("{}: {p}", case["name"])))
        .collect();
    println!(
        "canary run vectors (core): {} passed, {} failed",
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(!cases.is_empty(), "no canary run vectors ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// JSON values alike, numbers by value (`20` and `20.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn cloudwatch_problems(case: &Value) -> Option<String> {
    let plan = Plan::from_value(&case["plan"]).unwrap();
    let series = Series {
        namespace: case["namespace"].as_str().unwrap().to_owned(),
        function: case["function"].as_str().map(str::to_owned),
    };
    let index = |name: &str| case[name].as_u64().unwrap() as usize;
    let sent = cloudwatch::request(
        &plan,
        &series,
        index("canary"),
        index("control"),
        case["startMs"].as_u64().unwrap(),
        case["endMs"].as_u64().unwrap(),
    );
    let sent_value = sent.clone().unwrap_or(Value::Null);
    if !same(&sent_value, &case["expectRequest"]) {
        return Some(format!("sends {sent_value}"));
    }
    let pages = case["pages"].as_array().map(Vec::as_slice);
    match (cloudwatch::window(&plan, pages), case.get("expectError")) {
        (Ok(window), None) => {
            (!same(&window, &case["expectWindow"])).then(|| format!("makes {window}"))
        }
        (Err(e), Some(want)) => (want["code"] != e.code || want["path"] != e.path.as_str())
            .then(|| format!("refused: {e}")),
        (Ok(window), Some(_)) => Some(format!("makes {window}, where it is refused")),
        (Err(e), None) => Some(format!("refused: {e}")),
    }
}

#[test]
fn every_canary_cloudwatch_vector() {
    let cases = corpus::cases(
        &corpus::vectors(env!("CARGO_MANIFEST_DIR")),
        "canaryCloudwatch",
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| cloudwatch_problems(case).map(|p| format!("{}: {p}", case["name"])))
        .collect();
    println!(
        "canary cloudwatch vectors (core): {} passed, {} failed",
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(!cases.is_empty(), "no canary cloudwatch vectors ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_edit_after_many_holds_carries_them_all_or_counts_those_not_kept() {
    let plan = Plan::from_value(&json!({"flag": "new-checkout", "steps": [1, 10, 50, 100], "bakeSeconds": 600, "minSample": 50,
        "guards": [{"metric": "Errors", "kind": "rate", "tolerance": 1}]})).unwrap();
    let flags = json!({"flags": {"new-checkout": {"key": "new-checkout", "version": 1, "on": true, "salt": "s",
        "targets": [], "contextTargets": [], "rules": [], "prerequisites": [], "fallthrough": {"variation": 1},
        "offVariation": 1, "variations": [true, false]}}, "segments": {}});
    let mut snapshot = Snapshot::from_json(flags.to_string().as_bytes()).unwrap();
    let window = json!({"users": {"canary": 100, "control": 9900}, "metrics": {"Errors": {
        "canary": {"count": 100, "sum": 1}, "control": {"count": 9900, "sum": 99}}}});
    let mut state: Option<State> = None;
    let mut published = Vec::new();
    // A host's runs: the start, a hold each second, the advance.
    for now in (0..=150).chain([700]) {
        let outcome = step(&plan, state.as_ref(), &snapshot, Ok(&window), now * 1000).unwrap();
        if let Some(edit) = &outcome.edit {
            let change = change_from_json(&snapshot, edit).unwrap();
            snapshot = apply(&snapshot, &change).unwrap();
            published.push((outcome.decisions.clone(), outcome.decisions_left_out));
        } else {
            assert!(outcome.decisions.is_empty());
        }
        let kept = outcome.state.unwrap().to_json();
        assert!(kept.len() <= MAX_STATE_BYTES);
        state = Some(State::from_json(kept.as_bytes()).unwrap());
    }
    let [(start, 0), (advance, left_out)] = &published[..] else {
        panic!("{published:?}")
    };
    assert_eq!(start.len(), 1);
    assert_eq!(start[0]["action"], "start");
    // 150 holds and the advance: the newest kept, each with its
    // figures, the rest counted.
    assert_eq!(advance.len(), MAX_DECISIONS);
    assert_eq!(advance.len() as u64 + left_out, 151);
    assert!(advance.iter().all(|d| d["figures"]["guards"].is_array()));
    assert_eq!(advance.last().unwrap()["action"], "advance");
    // Holds at seconds 1 to 150: the oldest kept is the 99th newest.
    assert_eq!(advance[0]["atMs"], (152 - MAX_DECISIONS as u64) * 1000);
    // The state keeps the figures of the newest alone, and no decision
    // it holds is waiting for a record.
    let state = state.unwrap();
    assert!(state.unpublished().is_empty());
    assert_eq!(state.left_out, 0);
    let with_figures = state
        .decisions
        .iter()
        .filter(|d| d.get("figures").is_some())
        .count();
    assert_eq!(with_figures, 1);
}

#[test]
fn a_state_kept_before_decisions_went_into_records_takes_its_newest_step_as_published() {
    let old = json!({"flag": "f", "status": "running", "step": 1, "stepStartedMs": 5, "startedMs": 1,
        "decisions": [{"action": "start"}, {"action": "hold"}, {"action": "advance"}, {"action": "hold"}]});
    let state = State::from_json(old.to_string().as_bytes()).unwrap();
    assert_eq!(state.unpublished(), &[json!({"action": "hold"})]);
    // One kept since reads as it was written.
    let again = State::from_json(state.to_json().as_bytes()).unwrap();
    assert_eq!(again.unpublished(), state.unpublished());
}
