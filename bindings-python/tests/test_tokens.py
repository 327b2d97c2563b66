"""Decision tokens through the package: a decision made upstream holds
downstream after the rollout changed, refused tokens decide nothing and say
why, and FlagClient refreshes when a token comes from another snapshot."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import Clock
from flagcore import Context, FlagClient, Snapshot, TokenError

KEY = "a signing key for the tests, 32+ bytes"
USERS = [{"kind": "user", "key": f"user-{i}"} for i in range(500)]


def canary(percent: int) -> str:
    weight = percent * 1000
    rollout = {"variations": [{"variation": 1, "weight": weight}, {"variation": 0, "weight": 100_000 - weight}]}
    return json.dumps({"flags": {
        "canary": {"key": "canary", "version": percent, "on": True, "salt": "canary", "variations": [False, True], "offVariation": 0, "fallthrough": {"rollout": rollout}},
        "theme": {"key": "theme", "version": 1, "on": True, "variations": ["classic", "dark"], "fallthrough": {"variation": 1}},
    }})


def test_a_decision_made_upstream_holds_after_the_rollout_changed() -> None:
    before, after = Snapshot.from_json(canary(10)), Snapshot.from_json(canary(50))
    moved = 0
    for user in USERS:
        token = before.decision_token(user, ["canary", "theme"], KEY)
        assert token.startswith("fc1.") and len(token) < 1024
        upstream = before.variation_detail("canary", user, False)
        carried = Context(user, token=f"userId=x,flagcore={token}", signing_key=KEY)
        status = carried.token_status
        assert {k: status[k] for k in ("applied", "snapshotId", "flags")} == {"applied": True, "snapshotId": before.id, "flags": 2}
        assert status["expiresMs"] - status["issuedMs"] == 60_000
        downstream = after.variation_detail("canary", carried, False)
        assert (downstream.value, downstream.variation_index) == (upstream.value, upstream.variation_index)
        assert downstream.reason == dict(upstream.reason, propagated=True)
        moved += after.variation("canary", user, False) != upstream.value
    assert moved > 50, f"the change moved {moved} users: the test would prove nothing"


def test_refused_tokens_decide_nothing_and_say_why() -> None:
    snapshot = Snapshot.from_json(canary(100))
    off = Snapshot.from_json(canary(0))
    user = USERS[0]
    token = snapshot.decision_token(user, ["canary"], KEY, now_ms=1_000_000)
    flipped = token[:20] + ("B" if token[20] == "A" else "A") + token[21:]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"token": token, "signing_key": "another key, just as long as the first"}, "TOKEN_BAD_SIGNATURE"),
        ({"token": token, "signing_key": KEY, "now_ms": 1_061_000}, "TOKEN_EXPIRED"),
        ({"token": flipped, "signing_key": KEY, "now_ms": 1_000_000}, "TOKEN_BAD_SIGNATURE"),
        ({"token": "fc1.***", "signing_key": KEY}, "TOKEN_MALFORMED"),
        ({"token": token, "now_ms": 1_000_000}, "TOKEN_NO_KEY"),
    ]
    for options, code in cases:
        context = Context(user, **options)
        assert context.token_status["applied"] is False and context.token_status["code"] == code
        assert off.variation_detail("canary", context, False) == off.variation_detail("canary", user, False)
    assert Context(USERS[1], token=token, signing_key=KEY, now_ms=1_000_000).token_status["code"] == "TOKEN_WRONG_CONTEXT"
    with pytest.raises(TokenError) as raised:
        snapshot.decision_token(user, ["canary"], "short")
    assert raised.value.code == "TOKEN_NO_KEY" and isinstance(raised.value, ValueError)
    with pytest.raises(TokenError):
        snapshot.decision_token({"kind": "user"}, ["canary"], KEY)


class Warnings:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.lines.append(message % args)


def test_flag_client_tokens_out_decisions_in(clock: Clock) -> None:
    text = [canary(10)]
    loads = [0]

    class Memory:
        def describe(self) -> str:
            return "memory"

        def load(self, current: Snapshot | None) -> Snapshot:
            loads[0] += 1
            return Snapshot.from_json(text[0])

    warnings = Warnings()
    upstream = FlagClient(Memory(), signing_key=KEY, logger=warnings, clock=clock, ttl_seconds=60)
    downstream = FlagClient(Memory(), signing_key=KEY, logger=warnings, clock=clock, ttl_seconds=60)
    downstream.snapshot()
    text[0] = canary(50)
    token = upstream.decision_token(USERS[3], ["canary"])
    assert token is not None and loads[0] == 2
    clock.advance(2)
    context = downstream.decide(USERS[3], token)
    assert loads[0] == 3, "downstream refreshed before evaluating"
    up, down = upstream.snapshot(), downstream.snapshot()
    assert up is not None and down is not None and up.id == down.id
    assert downstream.variation_detail("canary", context, False).reason["propagated"] is True
    forged = downstream.decide(USERS[3], token[:-1] + ("B" if token[-1] == "A" else "A"))
    assert forged.token_status["applied"] is False and "ignoring a decision token (TOKEN_" in warnings.lines[-1]
    assert FlagClient(Memory(), logger=warnings, clock=clock, signing_key="").decision_token(USERS[3], ["canary"]) is None
    assert "TOKEN_NO_KEY" in warnings.lines[-1]
    assert downstream.decide(USERS[3], None).token_status == {"applied": False}


def test_the_signing_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    path = tmp_path / "flags.json"
    path.write_text(canary(10))
    monkeypatch.setenv("FLAGCORE_SIGNING_KEY", KEY)
    token = FlagClient(file=path).decision_token(USERS[0], ["canary"])
    assert token is not None
    assert Context(USERS[0], token=token, signing_key=KEY).token_status["applied"] is True


def test_decide_the_variations_and_measure_never_raise_on_text_that_is_not_text(clock: Clock) -> None:
    """A lone surrogate (what ``json.loads`` makes of ``"\\udc80"``) in a
    baggage header, a flag key or a measurement's name, and a token given as
    bytes: refused or answered, with a warning, never raised."""
    import json

    snapshot = Snapshot.from_json(canary(10))

    class Fixed:
        def describe(self) -> str:
            return "fixed"

        def load(self, current: Snapshot | None) -> Snapshot:
            return snapshot

    warnings = Warnings()
    client = FlagClient(Fixed(), signing_key=KEY, clock=clock, logger=warnings, metrics_writer=lambda line: None)
    user = {"kind": "user", "key": "user-1"}
    surrogate = json.loads('"fc1.\\udc80"')
    decided = client.decide(user, surrogate)
    assert decided.token_status["code"] == "TOKEN_MALFORMED"
    assert client.decide(user, json.loads('"flagcore=\\udc80"')).token_status["applied"] is False
    token = client.decision_token(user, ["canary"])
    assert token is not None
    assert client.decide(user, token.encode()).token_status["applied"] is True
    assert client.decide(user, b"\xff\xfe").token_status["code"] == "TOKEN_MALFORMED"
    assert client.decide(user, 42).token_status["code"] == "TOKEN_MALFORMED"  # type: ignore[arg-type]
    key = json.loads('"can\\udc80ary"')
    assert client.variation(key, user, "default") == "default"
    detail = client.variation_detail(key, user, "default")
    assert (detail.value, detail.reason) == ("default", {"kind": "ERROR", "errorKind": "FLAG_NOT_FOUND"})
    assert client.string_variation(key, decided, "default") == "default"
    assert snapshot.variation(key, user, "default") == "default"
    client.measure(json.loads('"Latency\\udc80"'), 12.0, "Milliseconds")
    client.measure("Latency", "not a number", "Milliseconds")  # type: ignore[arg-type]
    client.measure("Latency", 12.0, json.loads('"Milli\\udc80"'))
    client.measure(json.loads('"Latency"'), 13.0, "Milliseconds")
    client.variation(7, user, "default")  # type: ignore[arg-type]
    lines = client.flush()
    assert lines and all("\\udc80" not in line for line in lines)
    # Broken text is written as U+FFFD, as the JavaScript clients write it;
    # only the value that is no number is left out.
    assert any("Latency\ufffd" in line for line in lines), lines
    assert sum("left out" in line for line in warnings.lines) == 1
