"""FlagClient against the Relay Proxy's DynamoDB layout, through boto3, in
dynalite on 127.0.0.1 (see conftest.py): the same cases as the Node package."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import Clock, Dynalite
from flagcore import DynamoDBSource, FlagClient

USER = {"kind": "user", "key": "user-1"}


class Quiet:
    def warning(self, *args: Any) -> None:
        pass


def item(namespace: str, key: str, obj: dict[str, Any]) -> dict[str, Any]:
    """An item as the Relay Proxy writes it: the whole object as JSON in `item`."""
    return {"namespace": {"S": namespace}, "key": {"S": key}, "version": {"N": str(obj.get("version", 1))}, "item": {"S": json.dumps(obj)}}


def flag(key: str, value: Any, version: int = 1, **extra: Any) -> dict[str, Any]:
    return {"key": key, "version": version, "on": True, "variations": [value], "fallthrough": {"variation": 0}, **extra}


def create_table(db: Any, name: str) -> None:
    db.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "namespace", "KeyType": "HASH"}, {"AttributeName": "key", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "namespace", "AttributeType": "S"}, {"AttributeName": "key", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # dynalite answers CREATING first, even with --createTableMs 0, and a
    # read in that window fails: a busy machine widens it.
    deadline = time.monotonic() + 10
    while db.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {name} is not ACTIVE after 10 s")
        time.sleep(0.02)


def write(db: Any, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        request: Any = {table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        while request:
            request = db.batch_write_item(RequestItems=request).get("UnprocessedItems")


@pytest.fixture(scope="module")
def db(dynalite: Dynalite) -> Iterator[Any]:
    client = dynalite.client()
    create_table(client, "flags")
    write(client, "flags", [
        item("prod:features", "banner", flag(
            "banner", "prod", 3, variations=["prod", "beta"],
            rules=[{"id": "beta", "clauses": [{"attribute": "", "op": "segmentMatch", "values": ["beta"]}], "variation": 1}],
        )),
        item("prod:segments", "beta", {"key": "beta", "version": 1, "included": ["user-1"]}),
        # The Relay Proxy's tombstone: "$deleted" inside, the real key only in the sort key.
        item("prod:features", "retired", {"key": "$deleted", "version": 9, "deleted": True, "on": False}),
        item("staging:features", "banner", flag("banner", "staging")),
        {"namespace": {"S": "prod:$inited"}, "key": {"S": "prod:$inited"}},
    ])
    big = "x" * 40_000
    write(client, "flags", [item("paged:features", f"flag-{i}", flag(f"flag-{i}", i, description=big)) for i in range(40)])
    yield client


def test_a_prefix_with_segments_tombstones_and_the_inited_marker(db: Any) -> None:
    client = FlagClient(dynamodb_table="flags", prefix="prod", dynamodb_client=db, logger=Quiet())
    detail = client.variation_detail("banner", USER, "default")
    assert (detail.value, detail.variation_index, detail.reason) == ("beta", 1, {"kind": "RULE_MATCH", "ruleIndex": 0, "ruleId": "beta"})
    assert client.variation_detail("retired", USER, "default").reason["errorKind"] == "FLAG_NOT_FOUND"
    snapshot = client.snapshot()
    assert snapshot is not None and snapshot.flag_keys == ("banner",)


class Counting:
    """A boto3 client that counts queries and can fail the pages after the first."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.queries = 0
        self.fail_later_pages = False

    def query(self, **request: Any) -> Any:
        self.queries += 1
        if self.fail_later_pages and "ExclusiveStartKey" in request:
            raise ConnectionResetError("connection reset mid-read")
        return self.db.query(**request)


def test_more_than_one_megabyte_across_pages(db: Any) -> None:
    counting = Counting(db)
    client = FlagClient(source=DynamoDBSource("flags", prefix="paged", client=counting), logger=Quiet())
    snapshot = client.snapshot()
    assert snapshot is not None and len(snapshot.flag_keys) == 40
    assert client.variation("flag-39", USER) == 39
    assert counting.queries >= 4, f"expected several pages, saw {counting.queries} queries"


def test_a_failure_mid_read_keeps_the_whole_previous_snapshot(db: Any, clock: Clock) -> None:
    flaky = Counting(db)
    client = FlagClient(source=DynamoDBSource("flags", prefix="paged", client=flaky), ttl_seconds=1, clock=clock, logger=Quiet())
    first = client.snapshot()
    write(db, "flags", [item("paged:features", "flag-0", flag("flag-0", "changed", 2))])
    flaky.fail_later_pages = True
    clock.advance(1)
    assert client.snapshot() is first
    assert client.variation("flag-0", USER) == 0
    assert "connection reset" in str(client.status()["last_error"])
    write(db, "flags", [item("paged:features", "flag-0", flag("flag-0", 0, 3, description="x" * 40_000))])


def test_a_time_to_live_refresh_picks_up_a_changed_flag(db: Any, clock: Clock) -> None:
    client = FlagClient(dynamodb_table="flags", prefix="prod", dynamodb_client=db, ttl_seconds=30, clock=clock, logger=Quiet())
    someone = {"key": "someone"}
    assert client.variation("banner", someone) == "prod"
    db.put_item(TableName="flags", Item=item("prod:features", "banner", flag("banner", "prod-v4", 4)))
    clock.advance(29)
    assert client.variation("banner", someone) == "prod"
    clock.advance(1)
    assert client.variation("banner", someone) == "prod-v4"


def test_the_default_client_follows_the_aws_environment(dynalite: Dynalite, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ENDPOINT_URL_DYNAMODB": dynalite.endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    client = FlagClient(dynamodb_table="flags", prefix="staging", logger=Quiet())
    assert client.variation("banner", USER) == "staging"


@pytest.mark.parametrize("region", [{"AWS_REGION": "us-east-1"}, {}])
def test_aws_region_alone_is_enough_and_no_region_names_the_fix(
    dynalite: Dynalite, db: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, region: dict[str, str]
) -> None:
    # What a developer exports, and what Node's SDK and the CLI read: boto3
    # alone would want AWS_DEFAULT_REGION.
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for name, value in {"AWS_ENDPOINT_URL_DYNAMODB": dynalite.endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", **region}.items():
        monkeypatch.setenv(name, value)
    client = FlagClient(dynamodb_table="flags", prefix="staging", logger=Quiet())
    if region:
        assert client.variation("banner", USER) == "staging"
    else:
        assert client.variation("banner", USER) is None
        assert "set AWS_REGION" in str(client.status()["last_error"])


def test_a_missing_table_is_a_cold_start_without_data(db: Any) -> None:
    client = FlagClient(dynamodb_table="no-such-table", dynamodb_client=db, logger=Quiet())
    assert client.variation_detail("banner", USER, "default").reason["errorKind"] == "CLIENT_NOT_READY"
    assert "ResourceNotFound" in type(client.status()["last_error"]).__name__


def test_a_server_that_goes_away_leaves_the_last_good_snapshot(start_dynalite: type[Dynalite], clock: Clock) -> None:
    own = start_dynalite()
    db = own.client()
    create_table(db, "flags")
    write(db, "flags", [item("features", "banner", flag("banner", "before"))])
    # No retries, short timeouts: a gone server should fail fast.
    quick = own.client(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1)
    client = FlagClient(dynamodb_table="flags", dynamodb_client=quick, ttl_seconds=5, clock=clock, logger=Quiet())
    assert client.variation("banner", USER) == "before"
    own.stop()
    clock.advance(5)
    assert client.variation("banner", USER) == "before"
    status = client.status()
    assert "Could not connect" in str(status["last_error"]) and status["age_seconds"] == 5
