"""The shared vectors of flagcore's published layout (tests/vectors/published):
each snapshot published, changed as the vector says, and read back; of
requests pinned to a decision token's snapshot (tests/vectors/pinned); and of
publishes, the core's plan over the head there before (tests/vectors/publish). The
core, Node and WASM run the same files; the installed wheels run it too, on
arm64 under qemu (make test-dist)."""

from __future__ import annotations

import json
from typing import Any

from conftest import vector_cases
from flagcore import Snapshot, SnapshotError

CASES = vector_cases("published")


def read_back(vector: dict[str, Any]) -> str | None:
    """What is wrong with reading the vector's snapshot back, or None."""
    original = Snapshot.from_json(json.dumps(vector["input"]))
    head, chunks = original.publish(now_ms=1_700_000_000_000)
    change = vector.get("change", {})
    read = [bytearray(chunk) for chunk in chunks]
    if "dropChunks" in change:
        read = read[: max(0, len(read) - change["dropChunks"])]
    if "flipByte" in change:
        read[change["flipByte"]["chunk"]][change["flipByte"]["at"]] ^= 1
    head_text = change.get("headText", json.dumps({**json.loads(head), **change.get("head", {})}))
    if "padHeadTo" in change:
        head_text += " " * max(0, change["padHeadTo"] - len(head_text))
    try:
        back = Snapshot.from_published(head_text, read)
    except SnapshotError as error:
        return refusal_differs(error, vector)
    if "expectError" in vector:
        return f"read back, expected {vector['expectError']}"
    if back.id != original.id or len(read) != vector["expect"]["chunks"]:
        return f"read back as {back.id} from {len(read)} chunks, expected {original.id} from {vector['expect']['chunks']}"
    return source_problems_differ(back, vector["expect"])


def refusal_differs(error: SnapshotError, vector: dict[str, Any]) -> str | None:
    """What differs between a refusal and the one the vector expects, or None."""
    expected = vector.get("expectError")
    if expected and (error.code, error.path) == (expected["code"], expected["path"]):
        return None
    return f"refused with {error.code} at {error.path}, expected {expected}"


def source_problems_differ(snapshot: Snapshot, expect: dict[str, Any]) -> str | None:
    """What differs between the snapshot's source problems and those
    ``expect`` gives (when it gives them), or None."""
    if "sourceProblems" not in expect:
        return None
    codes = [problem["code"] for problem in snapshot.source_problems()]
    return None if codes == expect["sourceProblems"] else f"source problems {codes}, expected {expect['sourceProblems']}"


def test_every_published_vector() -> None:
    failures = [f"{case['id']}: {why}" for case in CASES if (why := read_back(case)) is not None]
    print(f"published vectors: {len(CASES) - len(failures)} passed, {len(failures)} failed")
    assert CASES, "no published vectors"
    assert failures == []


PINNED = vector_cases("pinned")


def answer_pinned(vector: dict[str, Any]) -> str | None:
    """What is wrong with a request pinned to the vector's snapshot, or None."""
    pinned = Snapshot.from_json(json.dumps(vector["pinned"]))
    held = Snapshot.from_json(json.dumps(vector["held"]))
    answering = Snapshot.pinned(pinned, vector["pinnedSequence"], held, vector["heldSequence"])
    answers_from = "pinned" if answering is pinned else "composite"
    if answers_from != vector["answersFrom"] or answering.id != pinned.id:
        return f"answers from the {answers_from} snapshot, as {answering.id}"
    for evaluation in vector["evaluations"]:
        detail = answering.variation_detail(evaluation["flagKey"], evaluation["context"], evaluation["default"])
        got = {"value": detail.value, "variationIndex": detail.variation_index, "reason": detail.reason}
        if got != evaluation["expect"]:
            return f"{evaluation['flagKey']}: {got}, expected {evaluation['expect']}"
    return None


def test_every_pinned_vector() -> None:
    failures = [f"{case['id']}: {why}" for case in PINNED if (why := answer_pinned(case)) is not None]
    print(f"pinned vectors: {len(PINNED) - len(failures)} passed, {len(failures)} failed")
    assert PINNED, "no pinned vectors"
    assert failures == []


PUBLISH = vector_cases("publish")


def plan_publish(vector: dict[str, Any]) -> str | None:
    """What is wrong with the vector's publish, or None."""
    previous_vector = vector.get("previous")
    previous: str | None = None
    if previous_vector is not None and "headText" in previous_vector:
        previous = previous_vector["headText"]
    elif previous_vector is not None:
        before = Snapshot.from_json(json.dumps(previous_vector["input"])).publish_plan(None, now_ms=previous_vector["at"], force=True)
        assert before is not None
        head = {**json.loads(before["head"]), **previous_vector.get("head", {})}
        for name in previous_vector.get("dropHeadFields", []):
            head.pop(name, None)
        previous = json.dumps(head)
    snapshot = Snapshot.from_json(json.dumps(vector["input"]))
    try:
        plan = snapshot.publish_plan(previous, now_ms=vector["at"], force=vector.get("force", False))
    except SnapshotError as error:
        return refusal_differs(error, vector)
    if "expectError" in vector:
        return f"planned, expected {vector['expectError']}"
    expect = vector["expect"]
    if plan is None:
        return None if expect.get("unchanged") else "unchanged, expected a write"
    head = Snapshot.published_head(plan["head"])
    got = {"sequence": head["sequence"], "replaced": len(plan["replaced"])}
    if got != {"sequence": expect.get("sequence"), "replaced": expect.get("replaced")}:
        return f"planned {got}, expected {expect}"
    return source_problems_differ(Snapshot.from_published(plan["head"], plan["chunks"]), expect)


def test_every_publish_vector() -> None:
    failures = [f"{case['id']}: {why}" for case in PUBLISH if (why := plan_publish(case)) is not None]
    print(f"publish vectors: {len(PUBLISH) - len(failures)} passed, {len(failures)} failed")
    assert PUBLISH, "no publish vectors"
    assert failures == []
