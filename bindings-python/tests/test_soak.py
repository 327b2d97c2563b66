"""The soak in Python: one FlagClient, reading the Relay Proxy's table
through boto3, answers a stream of requests while the table changes every
second and dynalite is stopped and started again twice (the table then
recreated and written anew). No request may raise, every snapshot served must
be whole (every flag present, from at most two consecutive writes, never
older than one served before), and memory must stay flat. The Node package's
test/soak.test.js is the same soak.

FLAGCORE_SOAK_REQUESTS (default 10,000) and FLAGCORE_SOAK_SECONDS (default 8)
set its size; `make soak` runs 100,000 requests over 40 seconds."""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from conftest import Dynalite, free_port
from flagcore import DynamoDBSource, FlagClient
from test_dynamodb import create_table

REQUESTS = int(os.environ.get("FLAGCORE_SOAK_REQUESTS", "10000"))
SECONDS = float(os.environ.get("FLAGCORE_SOAK_SECONDS", "8"))
FLAGS = 30
# About 40 KB a flag: reading the table takes two pages.
PADDING = "x" * 40_000


def items(generation: int) -> list[dict[str, Any]]:
    out = []
    for i in range(FLAGS):
        key = f"gen-{i:02}"
        flag = {"key": key, "version": generation, "on": True, "variations": [generation], "fallthrough": {"variation": 0}, "description": PADDING}
        out.append({"namespace": {"S": "soak:features"}, "key": {"S": key}, "version": {"N": str(generation)}, "item": {"S": json.dumps(flag)}})
    out.append({"namespace": {"S": "soak:$inited"}, "key": {"S": "soak:$inited"}})
    return out


def write(db: Any, generation: int) -> None:
    batch = items(generation)
    for start in range(0, len(batch), 25):
        request: Any = {"relay": [{"PutRequest": {"Item": i}} for i in batch[start : start + 25]]}
        while request:
            request = db.batch_write_item(RequestItems=request).get("UnprocessedItems")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1048576


class Warnings:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.lines.append(message % args)


def test_soak() -> None:
    port = free_port()
    server = Dynalite(port)
    writer_db = server.client(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=2)
    reader_db = server.client(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=2)
    create_table(writer_db, "relay")
    state = {"generation": 1, "down": False, "writing": True}
    write(writer_db, 1)
    warnings = Warnings()
    client = FlagClient(DynamoDBSource("relay", prefix="soak", client=reader_db), ttl_seconds=0.5, retry_seconds=0.25, logger=warnings)

    def writer() -> None:
        while state["writing"]:
            time.sleep(1)
            if state["down"]:
                continue
            try:
                write(writer_db, state["generation"] + 1)
                state["generation"] += 1
            except Exception:
                pass

    def restarts() -> None:
        nonlocal server
        for at in (0.3, 0.6):
            time.sleep(SECONDS * 0.3)
            state["down"] = True
            server.stop()
            time.sleep(1.2)
            server = Dynalite(port)
            create_table(writer_db, "relay")
            write(writer_db, state["generation"])
            state["down"] = False

    threads = [threading.Thread(target=writer), threading.Thread(target=restarts)]
    for thread in threads:
        thread.start()
    per_tick = max(1, -(-REQUESTS // int(SECONDS * 100)))
    user = {"kind": "user", "key": "soak-user"}
    served: set[str] = set()
    newest = answered = raised = 0
    start_rss = 0.0
    try:
        while answered < REQUESTS:
            for _ in range(min(per_tick, REQUESTS - answered)):
                try:
                    snapshot = client.snapshot()
                    assert snapshot is not None
                    values = [snapshot.variation(key, user, None) for key in snapshot.flag_keys]
                    assert len(values) == FLAGS, "every flag present"
                    assert max(values) - min(values) <= 1, f"generations {min(values)}..{max(values)} in one snapshot"
                    assert max(values) >= newest, f"generation {max(values)} after {newest}"
                    newest = max(values)
                    served.add(snapshot.id)
                    assert isinstance(client.variation("gen-00", user, -1), int)
                except Exception as error:  # counted: the soak requires none
                    raised += 1
                    if raised < 5:
                        print(f"request failed: {error!r}")
                answered += 1
                if answered == REQUESTS // 5:
                    start_rss = rss_mb()
            time.sleep(0.01)
    finally:
        state["writing"] = False
        for thread in threads:
            thread.join()
        server.stop()
    end_rss = rss_mb()
    failures = sum("failed" in line for line in warnings.lines)
    print(
        f"soak (python, DynamoDB source): {answered} requests, {raised} raised, {len(served)} snapshots served "
        f"up to generation {newest}, {failures} failed refreshes; RSS {start_rss:.0f} MB -> {end_rss:.0f} MB"
    )
    assert raised == 0
    assert len(served) >= SECONDS / 2, f"only {len(served)} snapshots: the table did not change under the client"
    assert failures >= 2, "the restarts made refreshes fail"
    assert end_rss - start_rss < 60
