"""The shared context vectors (tests/vectors/contexts): the canonical key of
each context, as a prepared Context says it. FlagClient's spans take
feature_flag.context.id from the same core rule (tests/test_observability.py).
The core, Node and WASM run the same file."""

from __future__ import annotations

from conftest import vector_cases
from flagcore import Context

CASES = vector_cases("contexts")


def test_the_canonical_key_of_every_context_vector() -> None:
    failures = [
        f"{case['name']}: expected {case['canonicalKey']!r}, got {Context(case['context']).canonical_key!r}"
        for case in CASES
        if Context(case["context"]).canonical_key != case["canonicalKey"]
    ]
    print(f"context vectors: {len(CASES) - len(failures)} passed, {len(failures)} failed")
    assert CASES, "no context vectors"
    assert failures == []
