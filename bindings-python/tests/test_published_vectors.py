"""The shared vectors of flagcore's published layout (tests/vectors/published):
each snapshot published, changed as the vector says, and read back; and of
requests pinned to a decision token's snapshot (tests/vectors/pinned). The
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
    try:
        back = Snapshot.from_published(head_text, read)
    except SnapshotError as error:
        expected = vector.get("expectError")
        if expected and (error.code, error.path) == (expected["code"], expected["path"]):
            return None
        return f"refused with {error.code} at {error.path}, expected {expected}"
    if "expectError" in vector:
        return f"read back, expected {vector['expectError']}"
    if back.id != original.id or len(read) != vector["expect"]["chunks"]:
        return f"read back as {back.id} from {len(read)} chunks, expected {original.id} from {vector['expect']['chunks']}"
    return None


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
    answering = Snapshot.pinned(pinned, vector["pinnedAt"], held, vector["heldAt"])
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
