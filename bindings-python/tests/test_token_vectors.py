"""The shared decision-token vectors (tests/vectors/tokens), through the
package's public API: issue upstream, tamper, receive downstream, and the
status and answers expected there. The Rust core, Node and WASM run the same
file."""

from __future__ import annotations

import json
from typing import Any

from conftest import vector_cases
from flagcore import Context, Snapshot, TokenError

CASES = vector_cases("tokens")

# The base time every runner uses, so tokens are the same bytes everywhere.
BASE_MS = 1_700_000_000_000
KEY = "a signing key for the token vectors, 32+ bytes"
OTHER_KEY = "another signing key for the token vectors"


def tampered(case: dict[str, Any], token: str) -> str:
    if "replace" in case:
        return str(case["replace"])
    tamper = case.get("tamper")
    if tamper == "flip-middle":
        i = len(token) // 2
        return token[:i] + ("B" if token[i] == "A" else "A") + token[i + 1 :]
    if tamper == "truncate":
        return token[:20]
    if tamper == "baggage":
        return f"userId=alice,flagcore={token};p=1"
    return token


def holds(status: dict[str, Any], expected: dict[str, Any], issued_ms: float) -> bool:
    return all(
        status.get("expiresMs") == issued_ms + want if name == "expiresInMs" else status.get(name) == want and type(status.get(name)) is type(want)
        for name, want in expected.items()
    )


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def issue(snapshot: Snapshot, context: Any, spec: dict[str, Any]) -> str:
    return snapshot.decision_token(context, spec["flags"], KEY, ttl_seconds=spec["ttlSeconds"], now_ms=BASE_MS + spec["atMs"])


def run(case: dict[str, Any]) -> str | None:
    upstream = Snapshot.from_json(json.dumps(case["upstream"]))
    downstream = Snapshot.from_json(json.dumps(case["downstream"]))
    issued_ms = BASE_MS + case["issue"]["atMs"]
    try:
        token = issue(upstream, case["issue"]["context"], case["issue"])
    except TokenError as error:
        if case.get("issueError") == getattr(error, "code", None):
            return None
        return f"issuing raised {error}"
    if "issueError" in case:
        return f"expected {case['issueError']} when issuing, got a token"
    receive = case["receive"]
    clock = [(BASE_MS + receive["atMs"]) / 1000]
    context = Context(
        receive["context"],
        token=tampered(case, token),
        signing_key=OTHER_KEY if case.get("tamper") == "other-key" else KEY,
        max_ttl_seconds=receive.get("maxTtlSeconds"),
        clock=lambda: clock[0],
    )
    if not holds(context.token_status, case["expectStatus"], issued_ms):
        return f"status {context.token_status}, expected {case['expectStatus']}"
    clock[0] = (BASE_MS + case["evaluateAtMs"]) / 1000
    for flag, expected in case["expect"].items():
        detail = downstream.variation_detail(flag, context, None)
        got = {"value": detail.value, "variationIndex": detail.variation_index, "reason": detail.reason}
        if canonical(got) != canonical(expected):
            return f"{flag}: {got}, expected {expected}"
    for flag, want in case.get("expectAllFlags", {}).items():
        state = downstream.all_flags_state(context, with_reasons=True).to_json_dict()
        entry = state["$flagsState"][flag]
        got = {"value": state[flag], "variation": entry.get("variation"), "reason": entry.get("reason")}
        if canonical(got) != canonical(want):
            return f"all_flags_state {flag}: {got}, expected {want}"
    reissue = case.get("reissue")
    if reissue is not None:
        clock[0] = (BASE_MS + reissue["atMs"]) / 1000
        again = issue(downstream, context, reissue)
        received = Context(receive["context"], token=again, signing_key=KEY, now_ms=BASE_MS + reissue["receiveAtMs"])
        if not holds(received.token_status, reissue["expectStatus"], issued_ms):
            return f"re-issued status {received.token_status}, expected {reissue['expectStatus']}"
    return None


def test_the_shared_token_vectors() -> None:
    failures = [f"{case['id']}: {failure}" for case in CASES if (failure := run(case)) is not None]
    print(f"token vectors: {len(CASES) - len(failures)} passed, {len(failures)} failed")
    assert len(CASES) >= 30, f"only {len(CASES)} token cases"
    assert failures == []
