"""What the chain-safety fixes promise in Python, beyond the shared token
vectors and the fault matrix: memory stays flat across refreshes, a bad time
to live gives no token and a warning, and threads sharing a client lose no
count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from flagcore import Context, FlagClient, Snapshot

BENCH_SNAPSHOT = Path(os.environ.get("FLAGCORE_BENCH_SNAPSHOT", ROOT / "target" / "bench-snapshot.json"))
REFRESHES = 500
BOUND_MB = 60

CHILD = """
import json, sys
from flagcore import Context, FlagClient, Snapshot
text = open(sys.argv[1]).read()
variants = []
for v in (0, 1):
    data = json.loads(text)
    data["flags"]["memory-probe"] = {"key": "memory-probe", "version": v, "on": True, "variations": [v], "fallthrough": {"variation": 0}}
    variants.append(json.dumps(data))
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1048576
loads = []
class Source:
    def describe(self): return "memory"
    def load(self, current):
        loads.append(1)
        return Snapshot.from_json(variants[len(loads) %% 2])
client = FlagClient(Source(), ttl_seconds=0)
ids, start = set(), 0.0
for i in range(1, %d + 1):
    ids.add(client.snapshot().id)
    if i == 50:
        start = rss()
print(json.dumps({"start": start, "end": rss(), "ids": len(ids), "loads": len(loads)}))
""" % REFRESHES


@pytest.mark.skipif(not BENCH_SNAPSHOT.exists() and not os.environ.get("CI"), reason="no benchmark snapshot (make test writes it)")
def test_refreshes_of_the_benchmark_snapshot_keep_memory_flat() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD, str(BENCH_SNAPSHOT)], check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    print(f"memory (python): {result['loads']} refreshes, RSS {result['start']:.0f} MB after 50, {result['end']:.0f} MB after {REFRESHES}")
    assert result["loads"] == REFRESHES and result["ids"] == 2
    assert result["end"] - result["start"] < BOUND_MB


class Warnings:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.lines.append(message % args)


SNAPSHOT = json.dumps({"flags": {"canary": {"on": True, "variations": [False, True], "fallthrough": {"variation": 1}}}})


class Fixed:
    def describe(self) -> str:
        return "fixed"

    def load(self, current: Snapshot | None) -> Snapshot:
        return current or Snapshot.from_json(SNAPSHOT)


@pytest.mark.parametrize("ttl", [-1, 0, 3601, float("nan"), "soon"])
def test_a_bad_time_to_live_gives_no_token_and_a_warning(ttl: Any) -> None:
    warnings = Warnings()
    client = FlagClient(Fixed(), signing_key="a signing key of at least 16 bytes", logger=warnings)
    assert client.decision_token({"key": "alice"}, ["canary"], ttl_seconds=ttl) is None
    assert "no decision token" in warnings.lines[-1]
    assert client.decision_token({"key": "alice"}, ["canary"], ttl_seconds=0.5) is not None


def test_a_token_comes_from_the_snapshot_the_handler_evaluated_with() -> None:
    def canary(percent: int) -> str:
        weight = percent * 1000
        rollout = {"variations": [{"variation": 1, "weight": weight}, {"variation": 0, "weight": 100000 - weight}]}
        flag = {"key": "canary", "version": percent, "on": True, "salt": "canary", "variations": [False, True],
                "offVariation": 0, "fallthrough": {"rollout": rollout}}
        return json.dumps({"flags": {"canary": flag}})

    texts = [canary(10)]
    clock = [5000.0]

    class Changing:
        def describe(self) -> str:
            return "memory"

        def load(self, current: Snapshot | None) -> Snapshot:
            return Snapshot.from_json(texts[-1])

    key = "a signing key of at least 16 bytes"
    before, after = Snapshot.from_json(canary(10)), Snapshot.from_json(canary(90))
    users = ({"key": f"user-{i}"} for i in range(500))
    user = next(u for u in users if before.bool_variation("canary", u, False) != after.bool_variation("canary", u, False))
    flags = FlagClient(Changing(), signing_key=key, ttl_seconds=1, clock=lambda: clock[0])
    evaluated = flags.snapshot()
    answer = evaluated.bool_variation("canary", user, False)
    texts.append(canary(90))  # the time to live runs out between the evaluation and the token
    clock[0] += 2
    current = flags.decision_token(user, ["canary"])
    token = flags.decision_token(user, ["canary"], snapshot=evaluated)
    assert flags.snapshot().id != evaluated.id
    downstream = Context(user, token=token, signing_key=key, now_ms=clock[0] * 1000)
    assert downstream.token_status["snapshotId"] == evaluated.id
    assert evaluated.bool_variation("canary", downstream, not answer) == answer
    assert Context(user, token=current, signing_key=key, now_ms=clock[0] * 1000).token_status["snapshotId"] != evaluated.id
    with pytest.raises(TypeError, match="the Snapshot the handler evaluated with"):
        flags.decision_token(user, ["canary"], snapshot="not a snapshot")


def test_threads_sharing_a_client_lose_no_count() -> None:
    lines: list[str] = []
    client = FlagClient(Fixed(), metrics_writer=lines.append, function_name="checkout")
    client.snapshot()
    per_thread = 2_000

    def work() -> None:
        for _ in range(per_thread):
            client.bool_variation("canary", {"key": "alice"}, False)

    threads = [threading.Thread(target=work) for _ in range(8)]
    # A short switch interval makes the interpreter interleave the threads often.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    counted = sum(
        line_json["Evaluations"]
        for line_json in map(json.loads, client.flush())
        if line_json.get("FlagKey") == "canary" and "Evaluations" in line_json
    )
    assert counted == 8 * per_thread
