#!/usr/bin/env python3
"""Writes tests/vectors/canary/decisions.jsonl: a guarded canary's decisions
(core/src/canary/), each a plan, a step, times and a window of aggregates,
with the action every runtime must take and the figures it must report.

The figures are computed here, not by the core's formulas: the sample
ratio's p-value is the chi-square's with one degree of freedom from Python's
math.erfc, and the harm test's statistic is the mixture likelihood ratio of
Johari et al. (Operations Research, 2022) integrated numerically over the
normal mixture (the core uses its closed form). What the two share is the
plan's definitions: the tolerance as a margin, the mixture's scale tau, the
sample variance with n - 1, and 30 values before any test.
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


def mixture_log_ratio(theta_hat: float, v: float, tau2: float) -> float:
    """log of the integral over theta ~ N(0, tau2) of the likelihood ratio
    N(theta_hat; theta, v) / N(theta_hat; 0, v), by the trapezoid rule on a
    grid fine against both widths, in log space."""
    tau, sd = math.sqrt(tau2), math.sqrt(v)
    lo, hi = min(-12 * tau, theta_hat - 12 * sd), max(12 * tau, theta_hat + 12 * sd)
    steps = 200_000
    h = (hi - lo) / steps
    logs = []
    for i in range(steps + 1):
        theta = lo + i * h
        log_ratio = (theta_hat * theta_hat - (theta_hat - theta) ** 2) / (2 * v)
        log_prior = -theta * theta / (2 * tau2) - 0.5 * math.log(2 * math.pi * tau2)
        weight = 0.5 if i in (0, steps) else 1.0
        logs.append(log_ratio + log_prior + math.log(weight * h))
    top = max(logs)
    return top + math.log(sum(math.exp(x - top) for x in logs))


def log_lambda(guard: dict, t: dict, c: dict) -> tuple[float, float]:
    """The harm test's log statistic and the estimated excess past the margin."""
    is_rate = guard["kind"] == "rate"
    sign = 1.0 if guard.get("worse", "higher") == "higher" else -1.0
    tol = guard.get("tolerance", 0)
    mt, mc = t["sum"] / t["count"], c["sum"] / c["count"]
    vt, vc = variance(t, is_rate), variance(c, is_rate)
    v = vt / t["count"] + vc / c["count"]
    if is_rate:
        margin = tol / 100
        tau2 = max(margin, 0.01) ** 2
    else:
        margin = tol / 100 * abs(mc)
        tau2 = max(max(tol, 5) / 100 * abs(mc), math.sqrt(vc) / 10, 1e-9) ** 2
    theta = sign * (mt - mc) - margin
    return mixture_log_ratio(theta, v, tau2), theta


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
    ev = window.get("users", {})
    steps = plan.get("steps", [1, 10, 50, 100])
    # A rollback is decided before the sample ratio is looked at.
    if ev and step < len(steps) and action != "rollback":
        share = steps[step] / 100
        total = ev["canary"] + ev["control"]
        if share * total >= 5 and (1 - share) * total >= 5:
            x = sum((o - total * e) ** 2 / (total * e) for o, e in ((ev["canary"], share), (ev["control"], 1 - share)))
            # Divided by the minutes' quasi-binomial dispersion, when ten or more hold counts.
            # Its share is the window's own: a split off the plan alike in every minute is no dispersion.
            minutes = [(c, t) for c, t in ev.get("batches", []) if c + t > 0]
            if len(minutes) >= 10:
                own = sum(c for c, _ in minutes) / sum(c + t for c, t in minutes)
                pearson = sum((c - (c + t) * own) ** 2 / ((c + t) * own * (1 - own)) for c, t in minutes)
                x /= max(1.0, pearson / (len(minutes) - 1))
            else:
                pearson = 0.0
            # The halt: a Beta(1000 p, 1000 (1 - p)) mixture's Bayes factor
            # against the planned share, on the counts over the dispersion,
            # past ln(1/0.001) (Lindon and Malek, NeurIPS 2022).
            phi = 1.0
            if len(minutes) >= 10:
                phi = max(1.0, pearson / (len(minutes) - 1))
            a, b = 1000 * share, 1000 * (1 - share)
            c, t = ev["canary"] / phi, ev["control"] / phi
            lbeta = lambda u, v: math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v)  # noqa: E731
            lbf = lbeta(a + c, b + t) - lbeta(a, b) - c * math.log(share) - t * math.log(1 - share)
            expect["sampleRatio"] = {"statistic": x, "p": math.erfc(math.sqrt(x / 2)), "logBayesFactor": lbf}
    expect.update(extra)
    cases.append({"id": f"canary/{name.split(':')[0]}", "name": name, "plan": plan, "step": step,
                  "startedMs": 1_000_000, "nowMs": 1_000_000 + baked_ms, "window": window, "expect": expect})


even = dict(PLAN, steps=[50, 100])
case("srm-book: Kohavi, Tang and Xu's example, 821,588 against 815,482 at an even split, halts (p = 1.8e-6)", even, 0, 20 * MINUTE,
     {"users": {"canary": 821588, "control": 815482}, "metrics": {}}, "halt", sampleRatioP=1.8e-6)
case("srm-fine: 10,000 against 10,050 at an even split is no mismatch", even, 0, 20 * MINUTE,
     {"users": {"canary": 10000, "control": 10050},
      "metrics": {"Errors": {"canary": rate(10000, 50), "control": rate(10050, 52)}}}, "advance")
# Twelve minutes at 10%, users' requests clustered on one side: the split
# wanders from minute to minute about two and a half times as much as
# independent requests would make it, 50 above plan on average. The totals
# alone would halt (log Bayes factor 11.99, chi-square p = 5.7e-8); on the
# counts over the dispersion (log Bayes factor 3.55) it does not.
wander = [50 + d for d in (38, -52, 61, -25, 47, -70, 18, -33, 56, -41, 29, -64)]
clustered = [[1000 + d, 9000 - d] for d in wander]
case("srm-clustered: a split that wanders as clustered requests make it is no mismatch, though the totals alone would halt", PLAN, 1, 20 * MINUTE,
     {"users": {"canary": sum(c for c, _ in clustered), "control": sum(t for _, t in clustered), "batches": clustered},
      "metrics": {"Errors": {"canary": rate(12564, 126), "control": rate(107436, 1074)}}}, "advance")
steady = [[1100 + (d - 50) // 10, 8900 - (d - 50) // 10] for d in wander]
case("srm-steady: a split 1% off in every minute halts, the dispersion being no more than chance", PLAN, 1, 20 * MINUTE,
     {"users": {"canary": sum(c for c, _ in steady), "control": sum(t for _, t in steady), "batches": steady},
      "metrics": {}}, "halt")
# Counted in evaluations (as CloudWatch counts them), a split off the plan
# halts only when it is off by more than half the smaller side's share: a
# few heavy users move the split of evaluations more than any count test
# allows for.
case("srm-evaluations-mild: evaluations at 11.5% where 10% is planned, decisive as counts go, is no mismatch: heavy users can do that", PLAN, 1, 20 * MINUTE,
     {"users": {"canary": 11500, "control": 88500, "unit": "evaluations"},
      "metrics": {"Errors": {"canary": rate(11500, 115), "control": rate(88500, 885)}}}, "advance")
case("srm-evaluations-gross: evaluations at 4% where 10% is planned halt: bucketing is broken", PLAN, 1, 20 * MINUTE,
     {"users": {"canary": 4000, "control": 96000, "unit": "evaluations"},
      "metrics": {"Errors": {"canary": rate(4000, 40), "control": rate(96000, 960)}}}, "halt")
case("srm-one-percent: 1% planned, 5% observed, halts", PLAN, 0, 20 * MINUTE,
     {"users": {"canary": 5000, "control": 95000}, "metrics": {}}, "halt")
case("broken: 5% errors on the canary against 0.5% on control rolls back before the bake is over", PLAN, 0, 3 * MINUTE,
     {"users": {"canary": 2000, "control": 198000},
      "metrics": {"Errors": {"canary": rate(2000, 100), "control": rate(198000, 990)}}}, "rollback")
case("doubt: 3% errors on 1,000 canary values against 1%, past the 1-point tolerance but not yet proven, holds after the bake instead of advancing", PLAN, 0, 11 * MINUTE,
     {"users": {"canary": 1000, "control": 99000},
      "metrics": {"Errors": {"canary": rate(1000, 30), "control": rate(99000, 990)}}}, "hold")
case("healthy: the same error rate, baked, advances to 10%", PLAN, 0, 11 * MINUTE,
     {"users": {"canary": 2000, "control": 198000},
      "metrics": {"Errors": {"canary": rate(2000, 10), "control": rate(198000, 990)}}}, "advance", to=10)
case("baking: healthy, and not baked yet, holds", PLAN, 0, 5 * MINUTE,
     {"users": {"canary": 2000, "control": 198000},
      "metrics": {"Errors": {"canary": rate(2000, 10), "control": rate(198000, 990)}}}, "hold")
case("short: baked, with 200 values on the canary of the 500 needed, holds", PLAN, 0, 11 * MINUTE,
     {"users": {"canary": 200, "control": 19800},
      "metrics": {"Errors": {"canary": rate(200, 1), "control": rate(19800, 99)}}}, "hold")
case("no-data: baked, with no metrics at all, holds", PLAN, 0, 11 * MINUTE,
     {"users": {"canary": 200, "control": 19800}, "metrics": {}}, "hold")
case("too-few: 10 errors in 20 values is too few to act on, and holds", PLAN, 0, 11 * MINUTE,
     {"users": {"canary": 20, "control": 1980},
      "metrics": {"Errors": {"canary": rate(20, 10), "control": rate(1980, 10)}}}, "hold")
case("within-tolerance: 1.2% against 0.5% is within 1 point, and advances", PLAN, 1, 11 * MINUTE,
     {"users": {"canary": 20000, "control": 180000},
      "metrics": {"Errors": {"canary": rate(20000, 240), "control": rate(180000, 900)}}}, "advance", to=50)
slow = dict(PLAN, guards=[ERRORS, LATENCY])
case("slow: +40% latency on the canary rolls back", slow, 1, 4 * MINUTE,
     {"users": {"canary": 2000, "control": 18000},
      "metrics": {"Errors": {"canary": rate(2000, 10), "control": rate(18000, 90)},
                  "Latency": {"canary": moments(2000, 140, 30), "control": moments(18000, 100, 25)}}}, "rollback")
case("latency-fine: +4% latency, tolerance 10%, advances", slow, 1, 11 * MINUTE,
     {"users": {"canary": 2000, "control": 18000},
      "metrics": {"Errors": {"canary": rate(2000, 10), "control": rate(18000, 90)},
                  "Latency": {"canary": moments(2000, 104, 25), "control": moments(18000, 100, 25)}}}, "advance", to=50)
conversions = dict(PLAN, guards=[{"metric": "Conversions", "kind": "rate", "tolerance": 0.5, "worse": "lower"}])
case("conversions: 8% against 10% converting, lower being worse, rolls back", conversions, 2, 11 * MINUTE,
     {"users": {"canary": 50000, "control": 50000},
      "metrics": {"Conversions": {"canary": rate(50000, 4000), "control": rate(50000, 5000)}}}, "rollback")
case("complete: the last step, 100%, baked, is complete", PLAN, 3, 11 * MINUTE,
     {"users": {"canary": 100000, "control": 0}, "metrics": {}}, "complete")
case("plan-steps: steps that fall are refused", dict(PLAN, steps=[10, 5]), 0, 0,
     {"users": {"canary": 0, "control": 0}}, "error", code="PLAN_INVALID", path="$.steps")
case("plan-guard: a guard of an unknown kind is refused", dict(PLAN, guards=[{"metric": "Errors", "kind": "median"}]), 0, 0,
     {"users": {"canary": 0, "control": 0}}, "error", code="PLAN_INVALID", path="$.guards[0].kind")
case("plan-guard-field: a guard's misspelled field is refused, not left to its default", dict(PLAN, guards=[{"metric": "Conversions", "kind": "rate", "worst": "lower"}]), 0, 0,
     {"users": {"canary": 0, "control": 0}}, "error", code="PLAN_INVALID", path="$.guards[0].worst")
case("plan-field: a field no plan has is refused", dict(PLAN, bake=600), 0, 0,
     {"users": {"canary": 0, "control": 0}}, "error", code="PLAN_INVALID", path="$.bake")
case("window: a window without its users is refused", PLAN, 0, 0, {"metrics": {}}, "error", code="WINDOW_INVALID", path="$.users")
case("window-rate: a rate of more hits than values is refused", PLAN, 0, 0,
     {"users": {"canary": 10, "control": 990}, "metrics": {"Errors": {"canary": rate(10, 11), "control": rate(990, 5)}}},
     "error", code="WINDOW_INVALID", path="$.metrics.Errors.canary")
case("window-count: a negative count is refused", PLAN, 0, 0,
     {"users": {"canary": 10, "control": 990}, "metrics": {"Errors": {"canary": rate(-5, 0), "control": rate(990, 5)}}},
     "error", code="WINDOW_INVALID", path="$.metrics.Errors.canary")
case("window-squares: squares summing below what the values can is refused", slow, 0, 0,
     {"users": {"canary": 100, "control": 9900}, "metrics": {"Errors": {"canary": rate(100, 1), "control": rate(9900, 5)},
      "Latency": {"canary": {"count": 100, "sum": 10000, "sumSquares": 5}, "control": moments(9900, 100, 20)}}},
     "error", code="WINDOW_INVALID", path="$.metrics.Latency.canary")
case("plan-min-sample: fewer than 30 values a step would advance untested, and is refused", dict(PLAN, minSample=10), 0, 0,
     {"users": {"canary": 0, "control": 0}}, "error", code="PLAN_INVALID", path="$.minSample")
case("crashing: a canary that fails before it reports looks short of users, and is rolled back, not halted", PLAN, 0, 4 * MINUTE,
     {"users": {"canary": 600, "control": 99000},
      "metrics": {"Errors": {"canary": rate(600, 300), "control": rate(99000, 495)}}}, "rollback")
negative = dict(PLAN, guards=[{"metric": "Margin", "kind": "mean", "tolerance": 10, "worse": "lower"}])
case("negative-mean: a canary alike to a control whose mean is below 0 is no harm", negative, 1, 11 * MINUTE,
     {"users": {"canary": 10000, "control": 90000},
      "metrics": {"Margin": {"canary": moments(10000, -2.0, 1.0), "control": moments(90000, -2.0, 1.0)}}}, "advance", to=50)

OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text("".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) + "\n" for c in cases))
print(f"{OUT}: {len(cases)} cases")
