#!/usr/bin/env python3
"""Writes tests/vectors/canary/cloudwatch.jsonl: a canary's window read from
CloudWatch (core/src/canary/cloudwatch.rs). Each case holds a plan, where
the series are (namespace, function), the canary's and control's variation
indexes, the window's times, and what every host must send and make of the
answers: the GetMetricData request body (null while the step has no whole
minute: nothing is sent), and, from the pages CloudWatch answered, the
window the decision rule reads (its users counted in evaluations), or a
refusal's code and path.

The window starts at the first whole minute after the step's start plus
the plan's settleSeconds (60 by default), and ends at the last whole minute.
The request is written out here from CloudWatch's API (GetMetricData's
MetricDataQueries, one a statistic and variation) and the series flagcore's
EMF lines make (core/src/metrics.rs): Evaluations by FlagKey and Variation,
and each measurement under a dimension named after the flag. The windows
are summed here from the pages.

Run it from the repository's root: python3 tests/generate/canary_cloudwatch.py
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path("tests/vectors/canary/cloudwatch.jsonl")
MINUTE = 60

PLAN = {
    "flag": "new-checkout",
    "steps": [1, 10, 50, 100],
    "guards": [
        {"metric": "Errors", "kind": "rate", "tolerance": 1},
        {"metric": "Latency", "kind": "mean", "tolerance": 10},
    ],
}


def query(qid, metric, dimensions, stat, namespace):
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dimensions},
            "Period": 60,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def request(plan, namespace, function, canary, control, start_s, end_s):
    base = [{"Name": "FunctionName", "Value": function}] if function else []
    queries = []
    for side, index in (("canary", canary), ("control", control)):
        users = base + [{"Name": "FlagKey", "Value": plan["flag"]}, {"Name": "Variation", "Value": str(index)}]
        queries.append(query(f"users_{side}", "Evaluations", users, "Sum", namespace))
        for g, guard in enumerate(plan["guards"]):
            dims = base + [{"Name": plan["flag"], "Value": str(index)}]
            queries.append(query(f"g{g}_{side}_count", guard["metric"], dims, "SampleCount", namespace))
            queries.append(query(f"g{g}_{side}_sum", guard["metric"], dims, "Sum", namespace))
    return {"MetricDataQueries": queries, "StartTime": start_s, "EndTime": end_s, "ScanBy": "TimestampAscending"}


def span(plan, start_ms, end_ms):
    """The window's whole minutes, in seconds, as CloudWatch is asked for them."""
    settle = plan.get("settleSeconds", 60) * 1000
    settled_s = -(-(start_ms + settle) // 1000)
    start = -(-settled_s // 60) * 60
    end = end_ms // 1000 // 60 * 60
    start = max(start, end - 10_080 * 60)
    return start, end


def result(qid, points):
    return {"Id": qid, "Label": qid, "Timestamps": [t for t, _ in points], "Values": [v for _, v in points], "StatusCode": "Complete"}


T0 = 1_800_000_000  # a whole minute, in seconds
CASES = []


def case(name, **fields):
    c = {"name": name, "plan": PLAN, "namespace": "flagcore", "function": None, "canary": 0, "control": 1, **fields}
    # The minutes written out by hand agree with the rule stated above.
    if c["expectRequest"] is not None:
        assert (c["expectRequest"]["StartTime"], c["expectRequest"]["EndTime"]) == span(c["plan"], c["startMs"], c["endMs"]), name
    else:
        start, end = span(c["plan"], c["startMs"], c["endMs"])
        assert end < start + 60, name
    CASES.append(c)


# No whole minute yet: nothing is sent, and the window is empty.
case("no-whole-minute: a step 110 s old (60 s settling) sends nothing and reads as no data",
     startMs=T0 * 1000 + 5_000, endMs=T0 * 1000 + 115_000, expectRequest=None, pages=None,
     expectWindow={"users": {"canary": 0, "control": 0, "unit": "evaluations"}, "metrics": {}})

# The step started 5 s into a minute and settles for 55 s: its window starts
# at the next minute, and ends at the last whole one.
SETTLED = {**PLAN, "settleSeconds": 55}
minutes = [T0 + MINUTE * (1 + m) for m in range(12)]
pages = [{"MetricDataResults": [
    result("users_canary", [(t, 20.0) for t in minutes]),
    result("users_control", [(t, 180.0) for t in minutes]),
    result("g0_canary_count", [(t, 20.0) for t in minutes]),
    result("g0_canary_sum", [(t, 1.0 if i % 3 == 0 else 0.0) for i, t in enumerate(minutes)]),
    result("g0_control_count", [(t, 180.0) for t in minutes]),
    result("g0_control_sum", [(t, 2.0) for t in minutes]),
    result("g1_canary_count", [(t, 20.0) for t in minutes[:6]]),
    result("g1_canary_sum", [(t, 2000.0 + i) for i, t in enumerate(minutes[:6])]),
]}, {"MetricDataResults": [
    # The next page carries on the canary's Latency, and all of control's.
    result("g1_canary_count", [(t, 20.0) for t in minutes[6:]]),
    result("g1_canary_sum", [(t, 2100.0 - i) for i, t in enumerate(minutes[6:])]),
    # Control's Latency: a minute with a count and no sum is left out.
    result("g1_control_count", [(t, 180.0) for t in minutes]),
    result("g1_control_sum", [(t, 18000.0) for t in minutes[:-1]]),
]}]
canary_latency = [[20, 2000.0 + i] for i in range(6)] + [[20, 2100.0 - i] for i in range(6)]
case("two-pages: users with their minutes, a rate summed and a mean's minutes paired from two pages, with the function named",
     plan=SETTLED, function="checkout", startMs=(T0 + 5) * 1000, endMs=(T0 + 13 * MINUTE + 30) * 1000,
     expectRequest=request(SETTLED, "flagcore", "checkout", 0, 1, T0 + MINUTE, T0 + 13 * MINUTE),
     pages=pages,
     expectWindow={"users": {"canary": 240, "control": 2160, "batches": [[20, 180]] * 12, "unit": "evaluations"}, "metrics": {
         "Errors": {"canary": {"count": 240.0, "sum": 4.0}, "control": {"count": 2160.0, "sum": 24.0}},
         "Latency": {"canary": {"batches": canary_latency}, "control": {"batches": [[180, 18000.0]] * 11}},
     }})

case("settling: a step that started on a minute reads from the minute after its 60 s settle",
     startMs=T0 * 1000, endMs=(T0 + 5 * MINUTE + 59) * 1000,
     expectRequest=request(PLAN, "flagcore", None, 0, 1, T0 + MINUTE, T0 + 5 * MINUTE),
     pages=[], expectWindow={"users": {"canary": 0, "control": 0, "batches": [], "unit": "evaluations"}, "metrics": {
         "Errors": {"canary": {"count": 0.0, "sum": 0.0}, "control": {"count": 0.0, "sum": 0.0}},
         "Latency": {"canary": {"batches": []}, "control": {"batches": []}}}})

# Variations by index, a string flag; a missing series is no data.
strings = {**PLAN, "flag": "theme", "canary": "v2", "control": "v1", "guards": [{"metric": "Errors", "kind": "rate", "tolerance": 1}]}
case("indexes-and-missing: the canary is variation 2 and control 0; a series CloudWatch has no data for counts none",
     plan=strings, canary=2, control=0, startMs=T0 * 1000, endMs=(T0 + 3 * MINUTE) * 1000,
     expectRequest=request(strings, "flagcore", None, 2, 0, T0 + MINUTE, T0 + 3 * MINUTE),
     pages=[{"MetricDataResults": [result("users_canary", [(T0 + MINUTE, 5.0)])]}],
     expectWindow={"users": {"canary": 5, "control": 0, "batches": [[5, 0]], "unit": "evaluations"}, "metrics": {
         "Errors": {"canary": {"count": 0.0, "sum": 0.0}, "control": {"count": 0.0, "sum": 0.0}}}})

case("long-step: a step of ten days reads its newest week of minutes",
     startMs=T0 * 1000, endMs=(T0 + 10 * 1440 * MINUTE) * 1000,
     expectRequest=request(PLAN, "flagcore", None, 0, 1, T0 + 3 * 1440 * MINUTE, T0 + 10 * 1440 * MINUTE),
     pages=[], expectWindow={"users": {"canary": 0, "control": 0, "batches": [], "unit": "evaluations"}, "metrics": {
         "Errors": {"canary": {"count": 0.0, "sum": 0.0}, "control": {"count": 0.0, "sum": 0.0}},
         "Latency": {"canary": {"batches": []}, "control": {"batches": []}}}})

case("uneven: an answer with more timestamps than values is refused",
     startMs=T0 * 1000, endMs=(T0 + 3 * MINUTE) * 1000,
     expectRequest=request(PLAN, "flagcore", None, 0, 1, T0 + MINUTE, T0 + 3 * MINUTE),
     pages=[{"MetricDataResults": [{"Id": "users_canary", "Timestamps": [T0, T0 + 60], "Values": [1.0]}]}],
     expectError={"code": "METRICS_INVALID", "path": "$[0].MetricDataResults[0]"})


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w") as out:
        for c in CASES:
            key = c["name"].split(":")[0]
            out.write(json.dumps({"id": f"canary-cloudwatch/{key}", **c}, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{OUT}: {len(CASES)} cases")


if __name__ == "__main__":
    main()
