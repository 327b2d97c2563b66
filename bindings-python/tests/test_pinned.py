"""Requests pinned to their decision token's generation of flagcore's
published layout (``FlagClient.decide``), read over HTTP (a server of this
test's own on 127.0.0.1) and from DynamoDB (dynalite, see conftest.py), with
the kill switch of the held snapshot still winning: the same cases as the
Node package's test/pinned.test.js."""

from __future__ import annotations

import json
from typing import Any

from conftest import Dynalite
from flagcore import FlagClient, Snapshot
from test_dynamodb import create_table
from test_published import USER, Origin, Quiet, origin, publish_to_table  # noqa: F401 (origin is a fixture)


SIGNING_KEY = "flagcore-test-signing-key-0123456789"


def generation(banner: str, checkout: str, launch_on: bool) -> Snapshot:
    """One generation of an environment; later ones move the checkout on and switch the launch off."""
    flags = {
        "banner": {"key": "banner", "on": True, "variations": [banner], "fallthrough": {"variation": 0}},
        "checkout": {"key": "checkout", "on": True, "variations": [checkout], "fallthrough": {"variation": 0}},
        "launch": {"key": "launch", "on": launch_on, "variations": ["dark", "live"], "fallthrough": {"variation": 1}, "offVariation": 0},
    }
    return Snapshot.from_json(json.dumps({"flags": flags, "segments": {}}))


def token_from(snapshot: Snapshot, context: Any = USER) -> str:
    import time

    return snapshot.decision_token(context, ["banner"], SIGNING_KEY, now_ms=time.time() * 1000)


class Warnings:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.lines.append(message % args)


def test_decide_pins_a_request_to_its_tokens_snapshot_and_the_kill_switch_still_wins(origin: Origin) -> None:
    before = generation("first", "old", True)
    after = generation("second", "new", False)
    origin.publish(before, now_ms=1_000)
    origin.publish(after, now_ms=2_000)
    logger = Warnings()
    client = FlagClient(published=origin.url, signing_key=SIGNING_KEY, logger=logger)
    assert client.variation("checkout", USER, "default") == "new"

    origin.requests.clear()
    decided = client.decide(USER, token_from(before))
    assert decided.pinned_snapshot_id == before.id
    assert [name for name in origin.requests if name.startswith("snapshots/")] == [
        f"snapshots/{before.id}/head.json",
        f"snapshots/{before.id}/0.json.gz",
    ]
    # Every flag, not only the token's; the launch is off, as the held snapshot has it.
    assert client.variation("banner", decided, "default") == "first"
    assert client.variation("checkout", decided, "default") == "old"
    detail = client.variation_detail("launch", decided, "default")
    assert (detail.value, detail.variation_index, detail.reason) == ("dark", 0, {"kind": "OFF"})
    assert client.all_flags_state(decided).get_flag_value("checkout") == "old"
    assert client.variation("checkout", USER, "default") == "new"
    size = Snapshot.published_head(before.publish()[0])["size"]
    assert client.status()["pinned"] == {"snapshot_ids": [before.id], "bytes": size, "last_error": None}

    # Kept by id: another request pinned to it reads nothing.
    origin.requests.clear()
    other = {"kind": "user", "key": "user-2"}
    assert client.decide(other, token_from(before, other)).pinned_snapshot_id == before.id
    assert [name for name in origin.requests if name.startswith("snapshots/")] == []

    # Tokens issued for a pinned request carry the pinned snapshot's id.
    onward = client.decision_token(decided, ["checkout"])
    assert onward is not None
    following = FlagClient(published=origin.url, signing_key=SIGNING_KEY, logger=Quiet())
    there = following.decide(USER, onward)
    assert there.token_status["snapshotId"] == before.id and there.pinned_snapshot_id == before.id
    assert following.variation("checkout", there, "default") == "old"

    # Published after the head this function read: answered from as it is.
    later = generation("third", "newer", True)
    origin.publish(later, now_ms=3_000, lag=True)
    ahead = client.decide(USER, token_from(later))
    assert ahead.pinned_snapshot_id == later.id
    assert client.variation("launch", ahead, "default") == "live"
    assert client.status()["snapshot_id"] == after.id

    # Not there (never published, or expired): the token's decisions still
    # apply, status() says why, and it is not asked for again at once.
    gone = generation("gone", "gone", True)
    unpinned = client.decide(USER, token_from(gone))
    assert unpinned.pinned_snapshot_id is None and unpinned.token_status["applied"] is True
    assert client.variation("checkout", unpinned, "default") == "new"
    assert "was not published there, or has expired" in str(client.status()["pinned"]["last_error"])
    assert any(f"cannot pin a request to snapshot {gone.id}" in line for line in logger.lines), logger.lines
    origin.requests.clear()
    client.decide(USER, token_from(gone))
    assert [name for name in origin.requests if name.startswith("snapshots/")] == []

    # The held snapshot's own token pins nothing; nor does max_pinned_snapshots=0.
    assert client.decide(USER, token_from(after)).pinned_snapshot_id is None
    never = FlagClient(published=origin.url, signing_key=SIGNING_KEY, max_pinned_snapshots=0, logger=Quiet())
    assert never.decide(USER, token_from(before)).pinned_snapshot_id is None


def test_pinned_requests_read_their_generation_from_dynamodb_within_the_bounds(dynalite: Dynalite) -> None:
    db = dynalite.client()
    create_table(db, "pinned")
    first, second, held = generation("first", "one", True), generation("second", "two", True), generation("third", "three", False)
    for snapshot in (first, second, held):
        publish_to_table(db, snapshot, table="pinned")
    client = FlagClient(
        published={"table": "pinned", "prefix": "prod", "client": db},
        signing_key=SIGNING_KEY,
        max_pinned_snapshots=1,
        logger=Quiet(),
    )
    assert client.variation("checkout", USER, "default") == "three"
    pinned = client.decide(USER, token_from(first))
    assert pinned.pinned_snapshot_id == first.id
    assert client.variation("checkout", pinned, "default") == "one"
    assert client.variation("launch", pinned, "default") == "dark"
    # One at most: the next replaces it; a request pinned before keeps its own.
    assert client.decide(USER, token_from(second)).pinned_snapshot_id == second.id
    assert client.status()["pinned"]["snapshot_ids"] == [second.id]
    assert client.variation("checkout", pinned, "default") == "one"

    small = FlagClient(published={"table": "pinned", "prefix": "prod", "client": db}, signing_key=SIGNING_KEY, max_pinned_bytes=100, logger=Quiet())
    assert small.decide(USER, token_from(first)).pinned_snapshot_id is None
    assert small.status()["pinned"]["last_error"].code == "PINNED_TOO_LARGE"

    db.delete_item(TableName="pinned", Key={"namespace": {"S": "prod:flagcore"}, "key": {"S": f"snapshots/{first.id}/head.json"}})
    fresh = FlagClient(published={"table": "pinned", "prefix": "prod", "client": db}, signing_key=SIGNING_KEY, logger=Quiet())
    late = fresh.decide(USER, token_from(first))
    assert late.pinned_snapshot_id is None
    assert fresh.variation("checkout", late, "default") == "three"
