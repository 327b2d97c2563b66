#!/usr/bin/env python3
"""Prints the last `make bench` run as a table: flagcore beside LaunchDarkly's
Rust evaluator, measured in the same run, with the ratio and the target."""
import json
import pathlib
import sys

CRITERION = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"
ROWS = [
    ("a_rollout_bool", "(a) bool flag, 10%/90% rollout", 100e-9),
    ("b_rules_segment_string", "(b) string flag: 3 rules (1,000-key segment) + rollout", 250e-9),
    ("parse_1mb", "parse a 1 MB snapshot (and free it)", 5e-3),
    ("content_id_1mb", "content id of that snapshot (first use)", None),
    ("context_from_json", "context from a JSON value", None),
]


def median(group, name):
    path = CRITERION / group / name / "new" / "estimates.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"] * 1e-9


def show(seconds):
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def main():
    if not CRITERION.exists():
        sys.exit("no benchmark results: run `make bench` first")
    print("| benchmark | flagcore | LaunchDarkly Rust evaluator | LaunchDarkly ÷ flagcore | target | met |")
    print("|---|---|---|---|---|---|")
    for group, label, target in ROWS:
        ours, theirs = median(group, "flagcore"), median(group, "launchdarkly")
        ratio = f"{theirs / ours:.1f}×" if ours and theirs else "-"
        met = "-" if target is None or ours is None else ("yes" if ours <= target else "NO")
        print(f"| {label} | {show(ours)} | {show(theirs)} | {ratio} | {show(target) if target else '-'} | {met} |")


if __name__ == "__main__":
    main()
