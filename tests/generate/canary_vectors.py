#!/usr/bin/env python3
"""Writes tests/vectors/canary/decisions.jsonl: a guarded canary's decisions
(core/src/canary/), each a plan, a step, times and a window of aggregates,
with the action every runtime must take and the figures it must report.

The figures are computed here, independently of the core, from the formulas
the core cites: Pearson's chi-square with one degree of freedom for the
sample ratio (its p-value erfc(sqrt(x/2)), with math.erfc), and the normal-
mixture mSPRT of Johari et al. (Operations Research, 2022) for the harm test.
The sample ratio case of Kohavi, Tang and Xu's book (821,588 users against
815,482 at 50/50, p = 1.8e-6) is taken as the book gives it.

Run it from the repository's root: python3 tests/generate/canary_vectors.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

OUT = Path("tests/vectors/canary/decisions.jsonl")
MINUTE = 60_000


def moments(values_count: int, mean: float, sd: float) -> dict:
    """Aggregates of `values_count` values of this mean and sample sd."""
    total = values_count * mean
    squares = (values_count - 1) * sd * sd + total * total / values_count
    return {"count": values_count, "sum": total, "sumSquares": squares}


def rate(count: int, hits: int) -> dict:
    return {"count": count, "sum": hits}


def variance(m: dict, is_rate: bool) -> float:
    n, s = m["count"], m["sum"]
    sq = m.get("sumSquares", s if is_rate else None)
    return max((sq - s * s / n) / max(n - 1, 1), 1e-12)


def log_lambda(guard: dict, t: dict, c: dict) -> float:
    """The mSPRT's log statistic, as core/src/canary/mod.rs documents it."""
    is_rate = guard["kind"] == "rate"
    sign = 1.0 if guard.get("worse", "higher") == "higher" else -1.0
    tol = guard.get("tolerance", 0)
    mt, mc = t["sum"] / t["count"], c["sum"] / c["count"]
    vt, vc = variance(t, is_rate), variance(c, is_rate)
    if is_rate:
        delta = tol / 100
        theta = sign * (mt - mc) - delta
        v = vt / t["count"] + vc / c["count"]
        tau2 = max(delta, 0.01) ** 2
    else:
        r = 1 + tol / 100 if sign > 0 else 1 - tol / 100
        theta = sign * (mt - r * mc)
        v = vt / t["count"] + r * r * vc / c["count"]
        tau2 = max(max(tol, 5) / 100 * abs(mc), math.sqrt(vc) / 10, 1e-9) ** 2
    return 0.5 * math.log(v / (v + tau2)) + tau2 * theta * theta / (2 * v * (v + tau2)), theta


ERRORS = {"metric": "Errors", "kind": "rate", "tolerance": 1}
LATENCY = {"metric": "Latency", "kind": "mean", "tolerance": 10}
PLAN = {"flag": "new-checkout-path", "bakeSeconds": 600, "minSample": 500, "guards": [ERRORS]}

cases = []


def case(name: str, plan: dict, step: int, baked_ms: int, window: dict, action: str, **extra: object) -> None:
    expect: dict = {"action": action}
    guards = []
    for g in plan.get("guards", []):
        sides = window.get("metrics", {}).get(g["metric"], {})
        t, c = sides.get("canary"), sides.get("control")
        if t and c and t["count"] >= 30 and c["count"] >= 30:
            ll, theta = log_lambda(g, t, c)
            guards.append({"metric": g["metric"], "logLambda": ll, "harm": theta > 0 and ll >= math.log(1 / plan.get("alpha", 0.05))})
    if guards:
        expect["guards"] = guards
    ev = window.get("evaluations", {})
    steps = plan.get("steps", [1, 10, 50, 100])
    if ev and step < len(steps):
        share = steps[step] / 100
        total = ev["canary"] + ev["control"]
        if share * total >= 5 and (1 - share) * total >= 5:
            x = sum((o - total * e) ** 2 / (total * e) for o, e in ((ev["canary"], share), (ev["control"], 1 - share)))
            expect["sampleRatio"] = {"statistic": x, "p": math.erfc(math.sqrt(x / 2))}
    expect.update(extra)
    cases.append({"id": f"canary/{name.split(':')[0]}", "name": name, "plan": plan, "step": step,
                  "startedMs": 1_000_000, "nowMs": 1_000_000 + baked_ms, "window": window, "expect": expect})


even = dict(PLAN, steps=[50, 100])
case("srm-book: Kohavi, Tang and Xu's example, 821,588 against 815,482 at an even split, halts (p = 1.8e-6)", even, 0, 20 * MINUTE,
     {"evaluations": {"canary": 821588, "control": 815482}, "metrics": {}}, "halt", sampleRatioP=1.8e-6)
case("srm-fine: 10,000 against 10,050 at an even split is no mismatch", even, 0, 20 * MINUTE,
     {"evaluations": {"canary": 10000, "control": 10050},
      "metrics": {"Errors": {"canary": rate(10000, 50), "control": rate(10050, 52)}}}, "advance")
case("srm-one-percent: 1% planned, 5% observed, halts", PLAN, 0, 20 * MINUTE,
     {"evaluations": {"canary": 5000, "control": 95000}, "metrics": {}}, "halt")
case("broken: 5% errors on the canary against 0.5% on control rolls back before the bake is over", PLAN, 0, 3 * MINUTE,
     {"evaluations": {"canary": 2000, "control": 198000},
      "metrics": {"Errors": {"canary": rate(2000, 100), "control": rate(198000, 990)}}}, "rollback")
case("healthy: the same error rate, baked, advances to 10%", PLAN, 0, 11 * MINUTE,
     {"evaluations": {"canary": 2000, "control": 198000},
      "metrics": {"Errors": {"canary": rate(2000, 10), "control": rate(198000, 990)}}}, "advance", to=10)
case("baking: healthy, and not baked yet, holds", PLAN, 0, 5 * MINUTE,
     {"evaluations": {"canary": 2000, "control": 198000},
      "metrics": {"Errors": {"canary": rate(2000, 10), "control": rate(198000, 990)}}}, "hold")
case("short: baked, with 200 values on the canary of the 500 needed, holds", PLAN, 0, 11 * MINUTE,
     {"evaluations": {"canary": 200, "control": 19800},
      "metrics": {"Errors": {"canary": rate(200, 1), "control": rate(19800, 99)}}}, "hold")
case("no-data: baked, with no metrics at all, holds", PLAN, 0, 11 * MINUTE,
     {"evaluations": {"canary": 200, "control": 19800}, "metrics": {}}, "hold")
case("too-few: 10 errors in 20 values is too few to act on, and holds", PLAN, 0, 11 * MINUTE,
     {"evaluations": {"canary": 20, "control": 1980},
      "metrics": {"Errors": {"canary": rate(20, 10), "control": rate(1980, 10)}}}, "hold")
case("within-tolerance: 1.2% against 0.5% is within 1 point, and advances", PLAN, 1, 11 * MINUTE,
     {"evaluations": {"canary": 20000, "control": 180000},
      "metrics": {"Errors": {"canary": rate(20000, 240), "control": rate(180000, 900)}}}, "advance", to=50)
slow = dict(PLAN, guards=[ERRORS, LATENCY])
case("slow: +40% latency on the canary rolls back", slow, 1, 4 * MINUTE,
     {"evaluations": {"canary": 2000, "control": 18000},
      "metrics": {"Errors": {"canary": rate(2000, 10), "control": rate(18000, 90)},
                  "Latency": {"canary": moments(2000, 140, 30), "control": moments(18000, 100, 25)}}}, "rollback")
case("latency-fine: +4% latency, tolerance 10%, advances", slow, 1, 11 * MINUTE,
     {"evaluations": {"canary": 2000, "control": 18000},
      "metrics": {"Errors": {"canary": rate(2000, 10), "control": rate(18000, 90)},
                  "Latency": {"canary": moments(2000, 104, 25), "control": moments(18000, 100, 25)}}}, "advance", to=50)
conversions = dict(PLAN, guards=[{"metric": "Conversions", "kind": "rate", "tolerance": 0.5, "worse": "lower"}])
case("conversions: 8% against 10% converting, lower being worse, rolls back", conversions, 2, 11 * MINUTE,
     {"evaluations": {"canary": 50000, "control": 50000},
      "metrics": {"Conversions": {"canary": rate(50000, 4000), "control": rate(50000, 5000)}}}, "rollback")
case("complete: the last step, 100%, baked, is complete", PLAN, 3, 11 * MINUTE,
     {"evaluations": {"canary": 100000, "control": 0}, "metrics": {}}, "complete")
case("plan-steps: steps that fall are refused", dict(PLAN, steps=[10, 5]), 0, 0,
     {"evaluations": {"canary": 0, "control": 0}}, "error", code="PLAN_INVALID", path="$.steps")
case("plan-guard: a guard of an unknown kind is refused", dict(PLAN, guards=[{"metric": "Errors", "kind": "median"}]), 0, 0,
     {"evaluations": {"canary": 0, "control": 0}}, "error", code="PLAN_INVALID", path="$.guards[0].kind")
case("plan-field: a field no plan has is refused", dict(PLAN, bake=600), 0, 0,
     {"evaluations": {"canary": 0, "control": 0}}, "error", code="PLAN_INVALID", path="$.bake")
case("window: a window without its evaluations is refused", PLAN, 0, 0, {"metrics": {}}, "error", code="WINDOW_INVALID", path="$.evaluations")

OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text("".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) + "\n" for c in cases))
print(f"{OUT}: {len(cases)} cases")
