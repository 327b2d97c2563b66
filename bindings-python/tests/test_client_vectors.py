"""The shared client vectors (tests/vectors/clients): scenarios a FlagClient
plays against an in-memory store of flagcore's published layout, given as
``published={"store": ...}``: publishes (the core's plan), lagging head
reads, failures, tampered and bombed chunks, and the pinned requests,
refreshes and evaluations that must follow. Node and WASM run the same file
(js/test/client-vectors.test.js), so the clients' reading and
pinning rules cannot drift apart."""

from __future__ import annotations

import gzip
import json
from typing import Any

from conftest import vector_cases
from flagcore import Context, FlagClient, Snapshot

SIGNING_KEY = "flagcore-test-signing-key-0123456789"
T0 = 1_700_000_000.0
USER = {"kind": "user", "key": "u1"}
CASES = vector_cases("clients")


class Quiet:
    def warning(self, *args: Any) -> None:
        pass


class MemoryStore:
    """A published store in memory, with the faults a scenario asks for."""

    def __init__(self) -> None:
        self.items: dict[str, Any] = {}
        self.current: str | None = None
        self.frozen: str | None = None
        self.failing = False
        self.reads = {"calls": 0, "generationHeads": 0, "chunks": 0}

    def describe(self) -> str:
        return "memory"

    def _call(self) -> None:
        self.reads["calls"] += 1
        if self.failing:
            raise OSError("the store is unavailable")

    def head(self, tag: Any, deadline: float) -> tuple[str, str] | None:
        self._call()
        text = self.frozen if self.frozen is not None else self.current
        if text is None:
            raise OSError("nothing is published")
        return None if text == tag else (text, text)

    def chunks(self, names: list[str], deadline: float) -> list[bytes | None]:
        self._call()
        self.reads["chunks"] += len(names)
        return [self.items.get(name) for name in names]

    def generation_head(self, name: str, deadline: float) -> str | None:
        self._call()
        self.reads["generationHeads"] += 1
        found: str | None = self.items.get(name)
        return found


def publish(store: MemoryStore, document: Any, now_ms: int) -> None:
    plan = Snapshot.from_json(json.dumps(document)).publish_plan(store.current, now_ms=now_ms)
    if plan is None:
        return
    for name, chunk in zip(plan["chunk_names"], plan["chunks"]):
        store.items[name] = gzip.compress(chunk)
    store.items[plan["generation_head"]] = plan["head"]
    store.current = plan["head"]


def head_of(store: MemoryStore, snapshot_id: str) -> dict[str, Any]:
    head: dict[str, Any] = json.loads(store.items[f"snapshots/{snapshot_id}/head.json"])
    return head


def tamper(store: MemoryStore, change: dict[str, Any], snapshot_id: str) -> None:
    name = head_of(store, snapshot_id)["chunks"][change["chunk"]]["name"]
    if "inflatesTo" in change:
        store.items[name] = gzip.compress(bytes(change["inflatesTo"]), compresslevel=1)
    elif "storedBytes" in change:
        store.items[name] = b"\x07" * change["storedBytes"]
    elif "padStoredTo" in change:
        # A gzip member padded to the size with a header comment (FCOMMENT).
        stored = gzip.compress(gzip.decompress(store.items[name]))
        header = bytearray(stored[:10])
        header[3] |= 0x10
        comment = b"x" * (change["padStoredTo"] - len(stored) - 1)
        store.items[name] = bytes(header) + comment + b"\0" + stored[10:]
    elif "appendPlain" in change:
        plain = gzip.decompress(store.items[name])
        store.items[name] = gzip.compress(plain + b" " * change["appendPlain"])
    elif "plainFlip" in change:
        plain = bytearray(gzip.decompress(store.items[name]))
        plain[change["plainFlip"]] ^= 1
        store.items[name] = gzip.compress(bytes(plain))


def play(vector: dict[str, Any]) -> list[str]:
    store = MemoryStore()
    now = [T0]
    options = vector["client"]
    pinned = dict(options.get("pinned", {}))
    if isinstance(pinned.get("maxBytes"), dict):
        size_of = pinned["maxBytes"]
        plan = Snapshot.from_json(json.dumps(vector["snapshots"][size_of["sizeOf"]])).publish_plan(None, now_ms=0)
        assert plan is not None
        pinned["maxBytes"] = Snapshot.published_head(plan["head"])["size"] - size_of["minus"]
    client = FlagClient(
        published={"store": store},
        ttl_seconds=options["ttlSeconds"],
        retry_seconds=options["retrySeconds"],
        max_pinned_snapshots=pinned.get("maxSnapshots", 4),
        max_pinned_bytes=pinned.get("maxBytes", 8 * 1024 * 1024),
        signing_key=SIGNING_KEY,
        logger=Quiet(),
        clock=lambda: now[0],
    )
    documents = vector["snapshots"]
    ids = {label: Snapshot.from_json(json.dumps(document)).id for label, document in documents.items()}

    def label(snapshot_id: str | None) -> str | None:
        return next((name for name, known in ids.items() if known == snapshot_id), snapshot_id)

    kept: dict[str, Context] = {}
    problems: list[str] = []

    def check(step: dict[str, Any], what: str, got: Any, expected: Any) -> None:
        if got != expected:
            problems.append(f"at {step['at']} s, {what}: {json.dumps(got)}, expected {json.dumps(expected)}")

    def answers(step: dict[str, Any], context: Context, expect: dict[str, Any]) -> None:
        for key, detail in expect.get("details", {}).items():
            got = client.variation_detail(key, context, None)
            check(step, key, {"value": got.value, "variationIndex": got.variation_index, "reason": got.reason}, detail)
        if "allFlags" in expect:
            values = client.all_flags_state(context).to_values_map()
            check(step, "all_flags_state", {key: values.get(key) for key in expect["allFlags"]}, expect["allFlags"])

    for step in vector["steps"]:
        now[0] = T0 + step["at"]
        now_ms = int(now[0] * 1000)
        expect = step.get("expect", {})
        store.reads = {"calls": 0, "generationHeads": 0, "chunks": 0}
        if "publish" in step:
            publish(store, documents[step["publish"]], now_ms + step.get("clockSkewMs", 0))
        if "lag" in step:
            store.frozen = store.current if step["lag"] else None
        if "fail" in step:
            store.failing = step["fail"]
        if "tamper" in step:
            tamper(store, step["tamper"], ids[step["tamper"]["snapshot"]])
        if "expire" in step:
            snapshot_id = ids[step["expire"]]
            for chunk in head_of(store, snapshot_id)["chunks"]:
                del store.items[chunk["name"]]
            del store.items[f"snapshots/{snapshot_id}/head.json"]
        if "editHead" in step:
            assert store.current is not None
            store.current = json.dumps({**json.loads(store.current), **step["editHead"]})
        if "padHeadTo" in step:
            assert store.current is not None
            text = store.current.rstrip()
            store.current = text + " " * max(0, step["padHeadTo"] - len(text))
        if step.get("refresh"):
            client.refresh()
            status = client.status()
            if "snapshot" in expect:
                check(step, "the snapshot held", label(status["snapshot_id"]), expect["snapshot"])
            if "lastError" in expect:
                error = status["last_error"]
                check(step, "the refresh error", error and getattr(error, "code", "no code"), expect["lastError"])
            if expect.get("failed"):
                check(step, "the refresh failed", status["last_error"] is not None, True)
            if "warnings" in expect:
                check(step, "the warnings", [w["code"] for w in status["warnings"]], expect["warnings"])
        if "decide" in step:
            decide = step["decide"]
            upstream = Snapshot.from_json(json.dumps(documents[decide["tokenFrom"]]))
            token = upstream.decision_token(USER, decide["flags"], SIGNING_KEY, now_ms=now_ms)
            decided = client.decide(USER, token)
            reads = dict(store.reads)
            if "keep" in decide:
                kept[decide["keep"]] = decided
            if "pinnedTo" in expect:
                check(step, "pinned to", label(decided.pinned_snapshot_id), expect["pinnedTo"])
            if "reads" in expect:
                check(step, "reads", {key: reads[key] for key in expect["reads"]}, expect["reads"])
            pin_error = client.status()["pinned"]["last_error"]
            if "pinError" in expect:
                check(step, "the pin error", pin_error and getattr(pin_error, "code", "no code"), expect["pinError"])
            if expect.get("pinFailed"):
                check(step, "a pin error", pin_error is not None, True)
            answers(step, decided, expect)
            if "onward" in expect:
                onward = client.decision_token(decided, decide["flags"])
                status = Context(USER, token=onward, signing_key=SIGNING_KEY, now_ms=now_ms).token_status
                check(step, "the onward token's snapshot", label(status.get("snapshotId")), expect["onward"]["pinnedTo"])
        if "evaluate" in step:
            answers(step, kept[step["evaluate"]], expect)
    return problems


def test_every_client_vector() -> None:
    failures = []
    for case in CASES:
        problems = play(case)
        if problems:
            failures.append(f"{case['id']}: {'; '.join(problems)}")
    print(f"client vectors: {len(CASES) - len(failures)} passed, {len(failures)} failed")
    assert CASES, "no client vectors"
    assert failures == []
