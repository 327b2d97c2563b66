"""The shared canary vectors (tests/vectors/canary) through flagcore.canary:
the rule's decisions with their figures, the controller run after run
against one flag (its edits made with Snapshot.edit, a person's changes
between runs), and the window read from CloudWatch's answers. The core and
Node run the same files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import flagcore
from flagcore import canary

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors"


def cases(kind: str) -> list[dict[str, Any]]:
    index = json.loads((VECTORS / "index.json").read_text())
    out: list[dict[str, Any]] = []
    for name in index[kind]:
        out.extend(json.loads(line) for line in (VECTORS / name).read_text().splitlines() if line.strip())
    return out


def near(got: float, want: float) -> bool:
    return abs(got - want) <= 1e-6 * max(abs(want), 1e-300) or abs(got - want) < 1e-12


def same(a: Any, b: Any) -> bool:
    """JSON values alike, numbers by value (20 and 20.0)."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return float(a) == float(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b and type(a) is type(b))


def report(name: str, all_cases: list[dict[str, Any]], failures: list[str]) -> None:
    print(f"{name} (python): {len(all_cases) - len(failures)} passed, {len(failures)} failed")
    assert all_cases, f"no {name} ran"
    assert failures == [], "\n".join(failures)


def test_every_canary_decision_vector() -> None:
    all_cases = cases("canary")
    failures = []
    for c in all_cases:
        want = c["expect"]
        try:
            decision = canary.decide(c["plan"], c["step"], c["startedMs"], c["nowMs"], c["window"])
        except canary.CanaryError as error:
            if want["action"] != "error" or (error.code, error.path) != (want.get("code"), want.get("path")):
                failures.append(f"{c['name']}: refused: {error}")
            continue
        if decision["action"] != want["action"]:
            failures.append(f"{c['name']}: {decision['action']}: {decision['reason']}")
            continue
        figures = decision["figures"]
        for name, value in want.get("sampleRatio", {}).items():
            got = figures["sampleRatio"][name]
            close = abs(got - value) < 1e-6 if name == "logBayesFactor" else near(got, value)
            if not close:
                failures.append(f"{c['name']}: sample ratio {name} {got}, not {value}")
        for guard in want.get("guards", []):
            got = next((g for g in figures["guards"] if g["metric"] == guard["metric"]), None)
            if got is None or not near(got["logLambda"], guard["logLambda"]) or got["harm"] != guard["harm"]:
                failures.append(f"{c['name']}: {guard['metric']}: {got}")
    report("canary decision vectors", all_cases, failures)


def default_rule(snapshot: flagcore.Snapshot, plan: dict[str, Any]) -> tuple[Any, Any]:
    """The flag's default rule from the snapshot's own JSON: the canary's share and each value's, in percent; the share is None when the flag is off or gone."""
    _, chunks = snapshot.publish(0)
    flag = json.loads(b"".join(chunks))["flags"].get(plan["flag"])
    if flag is None:
        return None, None
    weights = [0.0] * len(flag["variations"])
    fallthrough = flag["fallthrough"]
    if isinstance(fallthrough.get("variation"), int):
        weights[fallthrough["variation"]] = 100
    else:
        for v in fallthrough["rollout"]["variations"]:
            weights[v["variation"]] += v["weight"] / 1000
    index = next(i for i, v in enumerate(flag["variations"]) if same(v, plan.get("canary", True)))
    return (weights[index] if flag.get("on") is True else None), weights


def test_every_canary_run_vector() -> None:
    all_cases = cases("canaryRuns")
    failures = []
    for c in all_cases:
        snapshot = flagcore.Snapshot.from_json(json.dumps(c["data"]))
        state = None
        for n, run in enumerate(c["runs"]):
            want = run["expect"]
            if "person" in run:
                snapshot = snapshot.edit(run["person"])
            try:
                outcome = canary.step(snapshot, c["plan"], run["nowMs"], state=state, window=run.get("window"), window_error=run.get("windowError"))
            except canary.CanaryError as error:
                if (error.code, error.path) != (want.get("error"), want.get("path")):
                    failures.append(f"{c['name']}: run {n}: refused: {error}")
                    break
                continue
            problem = None
            if outcome["action"] != want["action"]:
                problem = f"{outcome['action']}: {outcome['reason']}"
            elif want.get("reasonHas") and want["reasonHas"] not in outcome["reason"]:
                problem = f"the reason {outcome['reason']!r} does not say {want['reasonHas']!r}"
            elif "recorded" in want and [d["action"] for d in outcome["decisions"]] != want["recorded"]:
                problem = f"the record holds {[d['action'] for d in outcome['decisions']]}"
            elif outcome["decisions"] and (outcome["decisions"][-1]["reason"], outcome["decisions"][-1].get("figures")) != (outcome["reason"], outcome["figures"]):
                problem = f"the record's last decision is {outcome['decisions'][-1]}"
            else:
                if outcome["edit"] is not None:
                    snapshot = snapshot.edit(outcome["edit"])
                state = outcome["state"]
                kept = json.loads(state) if state is not None else {}
                if (kept.get("status"), kept.get("step")) != (want["status"], want["step"]):
                    problem = f"status {kept.get('status')} at step {kept.get('step')}"
                else:
                    got, weights = default_rule(snapshot, c["plan"])
                    if not same(got, want["share"]):
                        problem = f"the canary's share is {got}"
                    elif "weights" in want and not same(weights, want["weights"]):
                        problem = f"the default rule gives {weights}"
            if problem:
                failures.append(f"{c['name']}: run {n}: {problem}")
                break
    report("canary run vectors", all_cases, failures)


def test_every_canary_cloudwatch_vector() -> None:
    all_cases = cases("canaryCloudwatch")
    failures = []
    for c in all_cases:
        request = canary.cloudwatch_request(c["plan"], c["canary"], c["control"], c["startMs"], c["endMs"], namespace=c["namespace"], function_name=c["function"])
        if not same(request, c["expectRequest"]):
            failures.append(f"{c['name']}: sends {request}")
            continue
        try:
            window = canary.cloudwatch_window(c["plan"], c["pages"])
        except canary.CanaryError as error:
            want = c.get("expectError")
            if not want or (error.code, error.path) != (want["code"], want["path"]):
                failures.append(f"{c['name']}: refused: {error}")
            continue
        if "expectError" in c:
            failures.append(f"{c['name']}: makes {window}, where it is refused")
        elif not same(window, c["expectWindow"]):
            failures.append(f"{c['name']}: makes {window}")
    report("canary CloudWatch vectors", all_cases, failures)


def test_a_plan_refused_names_its_path() -> None:
    try:
        canary.decide({"flag": "f", "guards": [{"metric": "Errors", "kind": "median"}]}, 0, 0, 0, {})
    except canary.CanaryError as error:
        assert (error.code, error.path) == ("PLAN_INVALID", "$.guards[0].kind")
        assert "median" not in error.message and "rate" in error.message
    else:
        raise AssertionError("a plan with a guard of an unknown kind was accepted")
