"""The shared refresh vectors (tests/vectors/refresh): when a FlagClient
refreshes, through the binding's refresh_deadlines, which FlagClient asks
after each load and failure. The core, Node and WASM run the same file;
tests/test_client.py and tests/test_faults.py check the client around it."""

from __future__ import annotations

from conftest import vector_cases
from flagcore._native import refresh_deadlines

CASES = vector_cases("refresh")


def test_every_refresh_vector() -> None:
    failures = []
    for case in CASES:
        call, token, pin = refresh_deadlines(case["ttlMs"], case["retryMs"], case["hasSnapshot"], case["checkedAtMs"], case["failedAtMs"])
        got = (case["nowMs"] >= call, case["nowMs"] >= token, case["nowMs"] >= pin)
        expected = (case["due"], case["dueForToken"], case["mayReadPinned"])
        if got != expected:
            failures.append(f"{case['name']}: expected {expected}, got {got}")
    print(f"refresh vectors: {len(CASES) - len(failures)} passed, {len(failures)} failed")
    assert CASES, "no refresh vectors"
    assert failures == []
