#!/usr/bin/env python3
"""Writes tests/vectors/canary/runs.jsonl: a guarded canary's controller
(core/src/canary/control.rs) run after run against one flag, as a host runs
it each minute: a plan, the flags, and runs at times, each with the step's
window of metrics (or why the metrics could not be read) and what a person
changed before it (a change as `flagcore flag` names it). A runner keeps the
state each run answers and publishes the edit it asks for, and checks what
each run must do: its action, the canary's status and step after it, the
flag's canary share (percent of the default rule; null when the flag is off
or gone), each variation's share where given (weights), and a phrase its
reason holds.

Each expectation follows from the rule's order in core/src/canary/mod.rs and
from the controller's promises: it starts at the first step, holds on no
data or no metrics, rolls back on harm at any look, stops for good when a
person turns the flag off or lowers its rollout, and never turns it back on.

Run it from the repository's root: python3 tests/generate/canary_runs.py
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path("tests/vectors/canary/runs.jsonl")
S = 1000  # a second, in milliseconds

PLAN = {
    "flag": "new-checkout",
    "steps": [1, 10, 50, 100],
    "bakeSeconds": 600,
    "minSample": 50,
    "guards": [{"metric": "Errors", "kind": "rate", "tolerance": 1}],
}


def flags(on=True, fallthrough=None, variations=(True, False)):
    return {
        "flags": {
            "new-checkout": {
                "key": "new-checkout", "version": 1, "on": on, "salt": "new-checkout",
                "targets": [], "contextTargets": [], "rules": [], "prerequisites": [],
                "fallthrough": fallthrough or {"variation": 1}, "offVariation": 1,
                "variations": list(variations),
            }
        },
        "segments": {},
    }


def healthy(share: float, users: int = 10_000, rate: float = 0.01) -> dict:
    """A window of `users` split at `share` percent, both at the same error rate."""
    canary = round(users * share / 100)
    control = users - canary
    metrics = {"Errors": {
        "canary": {"count": canary, "sum": round(canary * rate)},
        "control": {"count": control, "sum": round(control * rate)},
    }}
    if control == 0:
        metrics["Errors"].pop("control")
    return {"users": {"canary": canary, "control": control}, "metrics": metrics}


def run(at_s, expect, window=None, error=None, person=None):
    step = {"nowMs": at_s * S, "expect": expect}
    if error is not None:
        step["windowError"] = error
    else:
        step["window"] = window if window is not None else {"users": {"canary": 0, "control": 0}, "metrics": {}}
    if person is not None:
        step["person"] = person
    return step


def want(action, status, step, share, has=None, weights=None):
    out = {"action": action, "status": status, "step": step, "share": share}
    if has:
        out["reasonHas"] = has
    if weights is not None:
        out["weights"] = weights
    return out


THIRD = flags(fallthrough={"rollout": {"variations": [{"variation": 0, "weight": 80_000}, {"variation": 1, "weight": 0}, {"variation": 2, "weight": 20_000}]}}, variations=("v1", "v2", "v3"))

CASES = [
    ("healthy-climbs", "a healthy canary starts at 1%, bakes, climbs each step and completes at 100%; then it has ended", PLAN, flags(), [
        run(0, want("start", "running", 0, 1, "the canary starts")),
        run(300, want("hold", "running", 0, 1, "baking"), healthy(1)),
        run(700, want("advance", "running", 1, 10, "on to 10%"), healthy(1)),
        run(1000, want("hold", "running", 1, 10, "baking"), healthy(10)),
        run(1400, want("advance", "running", 2, 50), healthy(10)),
        run(2100, want("advance", "running", 3, 100), healthy(50)),
        run(2800, want("complete", "complete", 3, 100, "complete"), healthy(100)),
        run(3500, want("ended", "complete", 3, 100, "ended")),
    ]),
    ("broken-rolls-back-in-bake", "a canary erring on 20% of 400 requests against 1% rolls back at its first step, during the bake, and stays at 0%", PLAN, flags(), [
        run(0, want("start", "running", 0, 1)),
        run(120, want("rollback", "rolledBack", 0, 0, "harm on Errors"), {
            "users": {"canary": 400, "control": 39_600},
            "metrics": {"Errors": {"canary": {"count": 400, "sum": 80}, "control": {"count": 39_600, "sum": 396}}}}),
        run(800, want("ended", "rolledBack", 0, 0), healthy(1)),
    ]),
    ("too-few-to-test", "harm on 20 requests is too few to test: it holds, and the bake over it still holds short of the minimum sample", PLAN, flags(), [
        run(0, want("start", "running", 0, 1)),
        run(700, want("hold", "running", 0, 1, "not enough data"), {
            "users": {"canary": 20, "control": 1980},
            "metrics": {"Errors": {"canary": {"count": 20, "sum": 10}, "control": {"count": 1980, "sum": 20}}}}),
    ]),
    ("killed-by-a-person", "a person turns the flag off during the canary: the controller stops and never turns it back on, even once a person turns it on again", PLAN, flags(), [
        run(0, want("start", "running", 0, 1)),
        run(700, want("stop", "stopped", 0, None, "turned flag \"new-checkout\" off"), healthy(1), person={"off": "new-checkout"}),
        run(1400, want("ended", "stopped", 0, None), healthy(1)),
        run(2100, want("ended", "stopped", 0, 1), healthy(1), person={"on": "new-checkout"}),
    ]),
    ("rolled-back-by-a-person", "a person lowers the rollout to 0%: the controller stops and changes nothing", PLAN, flags(), [
        run(0, want("start", "running", 0, 1)),
        run(700, want("advance", "running", 1, 10), healthy(1)),
        run(900, want("stop", "stopped", 1, 0, "lowered it"), healthy(10), person={"rollout": "new-checkout", "shares": "0%"}),
        run(2000, want("ended", "stopped", 1, 0), healthy(10)),
    ]),
    ("off-step-by-a-person", "a person sets 25%, no step of the plan: the controller stops", PLAN, flags(), [
        run(0, want("start", "running", 0, 1)),
        run(700, want("stop", "stopped", 0, 25, "no step of the plan"), healthy(1), person={"rollout": "new-checkout", "shares": "25%"}),
    ]),
    ("raised-by-a-person", "a person raises the rollout to 50%, a later step: the controller takes it up there and bakes from then", PLAN, flags(), [
        run(0, want("start", "running", 0, 1)),
        run(100, want("hold", "running", 2, 50, "resumes there"), healthy(1), person={"rollout": "new-checkout", "shares": "50%"}),
        run(600, want("hold", "running", 2, 50, "baking"), healthy(50)),
        run(800, want("advance", "running", 3, 100), healthy(50)),
    ]),
    ("metrics-unreadable", "the metrics source fails: the controller holds and says why; an empty window after the bake holds too: no data never advances", PLAN, flags(), [
        run(0, want("start", "running", 0, 1)),
        run(700, want("hold", "running", 0, 1, "could not be read: GetMetricData timed out"), error="GetMetricData timed out"),
        run(800, want("hold", "running", 0, 1, "not enough data")),
        run(900, want("advance", "running", 1, 10), healthy(1)),
    ]),
    ("figures-that-cannot-be", "a window of more errors than requests holds and says the metrics do not add up; it acts on nothing", PLAN, flags(), [
        run(0, want("start", "running", 0, 1)),
        run(700, want("hold", "running", 0, 1, "do not add up"), {
            "users": {"canary": 100, "control": 9900},
            "metrics": {"Errors": {"canary": {"count": 100, "sum": 150}, "control": {"count": 9900, "sum": 99}}}}),
    ]),
    ("sample-ratio-halts", "at 10%, 2,000 users against 8,000 halts the canary where it is: it never advances again, and still rolls back on harm", PLAN, flags(), [
        run(0, want("start", "running", 0, 1)),
        run(700, want("advance", "running", 1, 10), healthy(1)),
        run(1400, want("halt", "halted", 1, 10, "sample ratio mismatch"), {
            "users": {"canary": 2000, "control": 8000},
            "metrics": {"Errors": {"canary": {"count": 2000, "sum": 20}, "control": {"count": 8000, "sum": 80}}}}),
        run(2100, want("hold", "halted", 1, 10, "still guarded"), healthy(10)),
        run(2200, want("rollback", "rolledBack", 1, 0, "harm on Errors"), {
            "users": {"canary": 1000, "control": 9000},
            "metrics": {"Errors": {"canary": {"count": 1000, "sum": 200}, "control": {"count": 9000, "sum": 90}}}}),
    ]),
    ("off-at-start", "a flag that is off does not start: nothing is kept; once a person turns it on, the canary starts", PLAN, flags(on=False), [
        run(0, want("hold", None, None, None, "is off")),
        run(60, want("start", "running", 0, 1), person={"on": "new-checkout"}),
    ]),
    ("already-at-a-step", "a flag already rolled out to 10% starts at that step, with no edit", PLAN,
     flags(fallthrough={"rollout": {"variations": [{"variation": 0, "weight": 10_000}, {"variation": 1, "weight": 90_000}]}}), [
        run(0, want("start", "running", 1, 10, "already at 10%")),
        run(700, want("advance", "running", 2, 50), healthy(10)),
    ]),
    ("strings", "a flag of three strings: the canary and control values share the rollout, the third gets none", {
        **PLAN, "canary": "v2", "control": "v1"}, flags(fallthrough={"variation": 0}, variations=("v1", "v2", "v3")), [
        run(0, want("start", "running", 0, 1)),
        run(700, want("advance", "running", 1, 10), healthy(1)),
    ]),
    ("four-variations", "a flag of four values: the canary and control share the default rule, the two others keep theirs (none), and a rollback gives control all", {
        **PLAN, "canary": "b", "control": "a"}, flags(fallthrough={"variation": 0}, variations=("a", "b", "c", "d")), [
        run(0, want("start", "running", 0, 1, weights=[99, 1, 0, 0])),
        run(700, want("advance", "running", 1, 10, weights=[90, 10, 0, 0]), healthy(1)),
        run(800, want("rollback", "rolledBack", 1, 0, "harm on Errors", weights=[100, 0, 0, 0]), {
            "users": {"canary": 400, "control": 3600},
            "metrics": {"Errors": {"canary": {"count": 400, "sum": 80}, "control": {"count": 3600, "sum": 36}}}}),
    ]),
    ("a-third-keeps-its-share", "a third value a person gave 20% keeps it through the canary's steps, up to 80%; control has the rest", {
        **PLAN, "canary": "v2", "control": "v1", "steps": [1, 10, 50, 80]}, THIRD, [
        run(0, want("start", "running", 0, 1, weights=[79, 1, 20])),
        run(700, want("advance", "running", 1, 10, weights=[70, 10, 20]), healthy(1)),
        run(1400, want("advance", "running", 2, 50, weights=[30, 50, 20]), healthy(10)),
        run(2100, want("advance", "running", 3, 80, weights=[0, 80, 20]), healthy(50)),
        run(2800, want("complete", "complete", 3, 80), healthy(80)),
    ]),
    ("a-third-leaves-no-room", "a plan whose last step does not fit beside a third value's 20% is refused at the start, before any edit", {
        **PLAN, "canary": "v2", "control": "v1"}, THIRD, [
        run(0, {"error": "PLAN_INVALID", "path": "$.steps"}),
    ]),
    ("a-third-given-later", "a person gives a third value 30% at 50%: the step to 80% no longer fits, and the controller stops and says why", {
        **PLAN, "canary": "v2", "control": "v1", "steps": [1, 50, 80]}, flags(fallthrough={"variation": 0}, variations=("v1", "v2", "v3")), [
        run(0, want("start", "running", 0, 1, weights=[99, 1, 0])),
        run(700, want("advance", "running", 1, 50, weights=[50, 50, 0]), healthy(1)),
        run(1400, want("stop", "stopped", 1, 50, "cannot be made", weights=[20, 50, 30]), healthy(50),
            person={"rollout": "new-checkout", "shares": {"v1": "20%", "v2": "50%", "v3": "30%"}}),
    ]),
    ("unknown-variation", "a plan whose canary value the flag does not have is refused", {**PLAN, "canary": "blue"}, flags(), [
        run(0, {"error": "PLAN_INVALID", "path": "$.canary"}),
    ]),
    ("unknown-flag", "a plan naming a flag that is not there is refused", {**PLAN, "flag": "nope"}, flags(), [
        run(0, {"error": "PLAN_INVALID", "path": "$.flag"}),
    ]),
]


def recorded(runs: list) -> list:
    """Each run's `recorded`: the actions of the decisions the history record
    of its edit holds, those since the last edit, this one last ([] for a run
    that publishes nothing). Every run that keeps a state records a decision;
    a start publishes unless the rollout is already at a step, an advance and
    a rollback always do."""
    pending = []
    for step in runs:
        want = step["expect"]
        if "error" in want:
            continue
        if want["action"] != "ended" and want["status"] is not None:
            pending.append(want["action"])
        publishes = want["action"] in ("advance", "rollback") or (want["action"] == "start" and "already at" not in want.get("reasonHas", ""))
        want["recorded"], pending = (pending, []) if publishes else ([], pending)
    return runs


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w") as out:
        for key, name, plan, data, runs in CASES:
            runs = recorded(runs)
            out.write(json.dumps({"id": f"canary-runs/{key}", "name": f"{key}: {name}", "plan": plan, "data": data, "runs": runs}, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{OUT}: {len(CASES)} cases")


if __name__ == "__main__":
    main()
