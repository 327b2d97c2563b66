"""Every evaluation case of ../shared/conformance and of tests/vectors, through
the package as users call it (dicts, prepared Contexts, old-style users, the
all-flags state), and every snapshot vector, errors included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import METHODS, SHARED, VECTORS
from flagcore import Context, Snapshot, SnapshotError

INDEX = json.loads((VECTORS / "index.json").read_text())
CONFORMANCE = SHARED / "conformance"
FILES = [(f"vectors/{name}", VECTORS / name) for name in INDEX["evaluation"]]
FILES[:0] = [(f"shared/{name}", CONFORMANCE / name) for name in ("ld-eval-cases.jsonl", "ld-bucketing-cases.jsonl")]



def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def same(a: Any, b: Any) -> bool:
    """JSON equality: bools are not numbers, 1 and 1.0 are the same number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def test_the_shared_conformance_cases_are_present() -> None:
    assert CONFORMANCE.is_dir(), f"{CONFORMANCE} is missing: LaunchDarkly's conformance cases cannot run"


@pytest.mark.parametrize("label,path", FILES, ids=[label for label, _ in FILES])
def test_evaluation_cases(label: str, path: Path) -> None:
    failures: list[str] = []
    passed = 0
    for case in lines(path):
        snapshot = Snapshot.from_json(json.dumps(case["data"]))
        method = getattr(snapshot, METHODS[case["valueType"]])
        runs = [("context", case["context"]), ("prepared", Context(case["context"]))]
        if case.get("user") is not None:
            runs.append(("user", case["user"]))
        for variant, context in runs:
            detail = method(case["flagKey"], context, case["default"])
            actual = {"value": detail.value, "variationIndex": detail.variation_index, "reason": detail.reason}
            if same(actual, case["expect"]):
                passed += 1
            else:
                failures.append(f"{case['id']} ({variant}): got {actual}, expected {case['expect']}")
        all_flags = case["allFlags"]
        if not all_flags.get("skip"):
            state = snapshot.all_flags_state(case["context"]).to_json_dict()
            present = case["flagKey"] in state
            equal = present and same(state[case["flagKey"]], all_flags.get("expectedValue"))
            if (present and equal) if all_flags.get("mustContainKey") else (not present or equal):
                passed += 1
            else:
                failures.append(f"{case['id']} (all flags): got {state.get(case['flagKey'])!r}")
    print(f"{label}: {passed} passed, {len(failures)} failed")
    assert failures[:20] == []


def test_snapshot_vectors() -> None:
    groups: dict[str, set[str]] = {}
    failures: list[str] = []
    passed = 0
    for name in INDEX["snapshots"]:
        for vector in lines(VECTORS / name):
            text = vector["inputText"] if isinstance(vector.get("inputText"), str) else json.dumps(vector["input"])
            try:
                snapshot = Snapshot.from_json(text, prefix=vector.get("prefix"))
            except SnapshotError as error:
                expected = vector.get("expectError")
                if expected and (error.code, error.path) == (expected["code"], expected["path"]):
                    passed += 1
                else:
                    failures.append(f"{vector['id']}: refused with {error.code} at {error.path}")
                continue
            if "expectError" in vector:
                failures.append(f"{vector['id']}: expected {vector['expectError']['code']}, got a snapshot")
                continue
            if list(snapshot.flag_keys) == vector["expect"]["flagKeys"]:
                passed += 1
            else:
                failures.append(f"{vector['id']}: flag keys {snapshot.flag_keys}")
            group = vector["expect"].get("idGroup")
            if group:
                groups.setdefault(group, set()).add(snapshot.id)
    seen: set[str] = set()
    for group, ids in groups.items():
        if len(ids) != 1:
            failures.append(f"idGroup {group}: {len(ids)} different ids")
        elif ids & seen:
            failures.append(f"idGroup {group}: shares its id with another group")
        else:
            passed += 1
        seen |= ids
    print(f"snapshot vectors: {passed} passed, {len(failures)} failed")
    assert failures == []
