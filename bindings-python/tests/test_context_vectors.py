"""The shared context vectors (tests/vectors/contexts): the canonical key of
each context, as a prepared Context says it. FlagClient's spans take
feature_flag.context.id from the same core rule (tests/test_observability.py).
The core, Node and WASM run the same file."""

from __future__ import annotations

import json

from conftest import VECTORS
from flagcore import Context

INDEX = json.loads((VECTORS / "index.json").read_text())
CASES = [
    json.loads(line)
    for name in INDEX["contexts"]
    for line in (VECTORS / name).read_text(encoding="utf-8").splitlines()
    if line.strip()
]


def test_the_canonical_key_of_every_context_vector() -> None:
    failures = [
        f"{case['name']}: expected {case['canonicalKey']!r}, got {Context(case['context']).canonical_key!r}"
        for case in CASES
        if Context(case["context"]).canonical_key != case["canonicalKey"]
    ]
    print(f"context vectors: {len(CASES) - len(failures)} passed, {len(failures)} failed")
    assert CASES, "no context vectors"
    assert failures == []
