"""The shared edit vectors (tests/vectors/edits) through ``Snapshot.edit``:
changes named as the ``flagcore flag`` commands name them, and the flags and
snapshot id they give, or the refusal's code. The Rust core and Node run the
same file."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import vector_cases
from flagcore import EditError, Snapshot

CASES = vector_cases("edits")


def holds(actual: Any, expected: Any) -> bool:
    """Whether ``actual`` holds ``expected``: dicts by the expected keys, lists element by element."""
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(holds(a, e) for a, e in zip(actual, expected))
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and holds(actual[k], v) for k, v in expected.items())
    return actual == expected and type(actual) is type(expected)


def flags_of(snapshot: Snapshot) -> dict[str, Any]:
    _, chunks = snapshot.publish(now_ms=1)
    return json.loads(b"".join(chunks))["flags"]


def problems(case: dict[str, Any]) -> str | None:
    expect = case["expect"]
    snapshot = Snapshot.from_json(json.dumps(case["snapshot"]))
    try:
        for change in case["changes"]:
            snapshot = snapshot.edit(change)
    except EditError as error:
        return None if error.code == expect.get("error") else f"refused with {error.code}"
    if "error" in expect:
        return f"made, where {expect['error']} was expected"
    if "id" in expect and snapshot.id != expect["id"]:
        return f"snapshot id {snapshot.id}, not {expect['id']}"
    flags = flags_of(snapshot)
    for key, wanted in expect.get("flags", {}).items():
        if not holds(flags.get(key), wanted):
            return f"flag {key} is {flags.get(key)}"
    for key in expect.get("absent", []):
        if key in flags:
            return f"flag {key} is still there"
    return None


def test_every_edit_vector() -> None:
    failures = [f"{case['id']}: {p}" for case in CASES if (p := problems(case))]
    print(f"edit vectors (python): {len(CASES) - len(failures)} passed, {len(failures)} failed")
    assert CASES, "no edit vectors ran"
    assert not failures, "\n".join(failures)


def test_an_edit_leaves_its_snapshot_as_it_was_and_names_what_is_wrong() -> None:
    before = Snapshot.from_json(json.dumps(CASES[0]["snapshot"]))
    after = before.edit({"create": "another"})
    assert "another" not in before.flag_keys and "another" in after.flag_keys
    with pytest.raises(EditError, match="flagcore flag list") as refused:
        before.edit({"on": "nope"})
    assert refused.value.code == "FLAG_NOT_FOUND"
    with pytest.raises(TypeError):
        before.edit({"on": object()})
