"""The fault matrix in Python: every FlagClient source (a file, a URL,
DynamoDB through boto3 in dynalite on 127.0.0.1) through the faults a Lambda
meets, the same scenarios as the Node package's test/faults.test.js. After
each, the answers, status() and the snapshot id are checked: a source fault
never empties a snapshot, and no call waits on a source inside its backoff."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import Clock, Dynalite, free_port
from flagcore import DynamoDBSource, FlagClient, Snapshot, UrlSource
from test_dynamodb import create_table, item

USER = {"kind": "user", "key": "user-1"}
KEY = "a signing key for the fault matrix, 32 bytes"
RESULTS: list[str] = []


def snapshot_json(value: Any) -> str:
    return json.dumps({"flags": {"banner": {"key": "banner", "version": 1, "on": True, "variations": [value], "fallthrough": {"variation": 0}}}})


class Warnings:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.lines.append(message % args)


class Served:
    """What the test HTTP server answers next."""

    status = 200
    body = snapshot_json("one")
    etag = '"one"'
    delay = 0.0
    cut = False
    requests = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        Served.requests += 1
        time.sleep(Served.delay)
        if Served.status == 200 and self.headers.get("If-None-Match") == Served.etag:
            self.send_response(304)
            self.end_headers()
            return
        body = Served.body.encode()
        self.send_response(Served.status)
        if Served.status == 200:
            self.send_header("ETag", Served.etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:10] if Served.cut else body)
        if Served.cut:
            self.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/snapshot.json"
    server.shutdown()


@pytest.fixture(autouse=True)
def good() -> None:
    Served.status, Served.body, Served.etag, Served.delay, Served.cut = 200, snapshot_json("one"), '"one"', 0.0, False


@pytest.fixture(scope="module")
def db(dynalite: Dynalite) -> Any:
    client = dynalite.client(retries={"max_attempts": 1})
    create_table(client, "relay")
    put_banner(client, "one")
    return client


def put_banner(db: Any, value: str) -> None:
    db.put_item(TableName="relay", Item=item("prod:features", "banner", {"key": "banner", "version": 1, "on": True, "variations": [value], "fallthrough": {"variation": 0}}))


def recreate(db: Any) -> None:
    """Deletes the table and creates it again, empty, once dynalite has let it go."""
    db.delete_table(TableName="relay")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            db.describe_table(TableName="relay")
        except db.exceptions.ResourceNotFoundException:
            break
        time.sleep(0.02)
    create_table(db, "relay")


def client(source: Any, **extra: Any) -> tuple[FlagClient, Clock, Warnings]:
    clock, warnings = Clock(), Warnings()
    options: dict[str, Any] = {"ttl_seconds": 10, "retry_seconds": 1.0, "clock": clock, "logger": warnings, **extra}
    return FlagClient(source, **options), clock, warnings


def describe(error: BaseException | None) -> str:
    return f"{type(error).__name__} {error}" if error is not None else "no error"


def keeps_last_good(flags: FlagClient, snapshot_id: str, value: str, error: str) -> None:
    import re

    assert flags.variation("banner", USER, "default") == value
    status = flags.status()
    assert status["ready"] and status["snapshot_id"] == snapshot_id
    assert re.search(error, describe(status["last_error"])), describe(status["last_error"])


def cold_without_data(flags: FlagClient, error: str) -> None:
    import re

    detail = flags.variation_detail("banner", USER, "default")
    assert (detail.value, detail.variation_index, detail.reason) == ("default", None, {"kind": "ERROR", "errorKind": "CLIENT_NOT_READY"})
    status = flags.status()
    assert not status["ready"] and status["snapshot_id"] is None
    assert re.search(error, describe(status["last_error"])), describe(status["last_error"])


def fault_after_a_good_load(source: Any, fault: Any, error: str) -> tuple[FlagClient, Clock]:
    """Loads `source`, runs `fault`, lets the time to live pass, and checks
    that the last good snapshot still answers, with `error` in status()."""
    flags, clock, _ = client(source)
    first = flags.snapshot()
    assert first is not None
    fault()
    clock.advance(10)
    keeps_last_good(flags, first.id, "one", error)
    return flags, clock


def scenario(name: str, source: str) -> None:
    RESULTS.append(f"{name} | {source}")


def closed_port() -> int:
    return free_port()


def boto3_client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}),
    )


def test_unreachable_at_cold_start(tmp_path: Path) -> None:
    from flagcore import FileSource

    cold_without_data(client(FileSource(tmp_path / "missing.json"))[0], "No such file")
    scenario("unreachable at cold start", "file")
    cold_without_data(client(UrlSource(f"http://127.0.0.1:{closed_port()}/s.json", timeout=1))[0], "Connection refused")
    scenario("unreachable at cold start", "url")
    nowhere = boto3_client(f"http://127.0.0.1:{closed_port()}")
    cold_without_data(client(DynamoDBSource("relay", client=nowhere))[0], "Could not connect|EndpointConnectionError")
    scenario("unreachable at cold start", "dynamodb")


def test_failing_mid_read(tmp_path: Path, url: str, db: Any) -> None:
    from flagcore import FileSource

    path = tmp_path / "cut.json"
    path.write_text(snapshot_json("one"))
    fault_after_a_good_load(FileSource(path), lambda: path.write_text(snapshot_json("two")[:30]), "SNAPSHOT_INVALID_JSON")
    scenario("failing mid-read", "file")

    def cut() -> None:
        Served.body, Served.etag, Served.cut = snapshot_json("two"), '"two"', True

    fault_after_a_good_load(UrlSource(url), cut, "IncompleteRead|SNAPSHOT_INVALID_JSON|Connection")
    scenario("failing mid-read", "url")

    class Flaky:
        fail = False

        def query(self, **request: Any) -> Any:
            if self.fail:
                raise ConnectionResetError("connection reset")
            return db.query(**request)

    flaky = Flaky()
    fault_after_a_good_load(DynamoDBSource("relay", prefix="prod", client=flaky), lambda: setattr(flaky, "fail", True), "connection reset")
    scenario("failing mid-read", "dynamodb")


def test_an_empty_source(tmp_path: Path, url: str, db: Any) -> None:
    from flagcore import FileSource

    path = tmp_path / "empty.json"
    path.write_text(snapshot_json("one"))
    fault_after_a_good_load(FileSource(path), lambda: path.write_text(""), "SNAPSHOT_INVALID_JSON")
    scenario("an empty source", "file")

    def empty() -> None:
        Served.body, Served.etag = "", '"empty"'

    fault_after_a_good_load(UrlSource(url), empty, "SNAPSHOT_INVALID_JSON")
    scenario("an empty source", "url")

    cold_without_data(client(DynamoDBSource("relay", prefix="no-such-prefix", client=db))[0], "DYNAMODB_EMPTY")
    # The table recreated empty, as after a stack's replacement.
    flags, clock = fault_after_a_good_load(DynamoDBSource("relay", prefix="prod", client=db), lambda: recreate(db), "DYNAMODB_EMPTY")
    put_banner(db, "two")
    clock.advance(1)
    assert flags.variation("banner", USER, "default") == "two"
    assert flags.status()["last_error"] is None
    put_banner(db, "one")
    scenario("an empty table, a wrong prefix", "dynamodb")


def test_an_item_without_data(db: Any) -> None:
    db.put_item(TableName="relay", Item={"namespace": {"S": "prod:features"}, "key": {"S": "hollow"}, "version": {"N": "2"}})
    try:
        flags, _, warnings = client(DynamoDBSource("relay", prefix="prod", client=db))
        assert flags.variation("banner", USER, "default") == "one"
        # Errors first: then the table's missing $inited marker, a warning.
        warning, *others = flags.status()["warnings"]
        assert warning["code"] == "DYNAMODB_ITEM_WITHOUT_DATA" and "prod:features/hollow" in warning["message"]
        assert [w["code"] for w in others] == ["STORE_NOT_INITIALIZED"]
        assert any("DYNAMODB_ITEM_WITHOUT_DATA" in line for line in warnings.lines)
    finally:
        db.delete_item(TableName="relay", Key={"namespace": {"S": "prod:features"}, "key": {"S": "hollow"}})
    scenario("an item without data", "dynamodb")


def test_an_unchanged_table_is_not_parsed_again(db: Any) -> None:
    source = DynamoDBSource("relay", prefix="prod", client=db)
    first = source.load(None)
    assert source.load(first) is first
    scenario("an unchanged read keeps the snapshot", "dynamodb")


def test_slower_than_its_timeout(url: str) -> None:
    flags, clock, _ = client(UrlSource(url, timeout=0.2))
    first = flags.snapshot()
    assert first is not None
    Served.delay = 2.0
    clock.advance(10)
    started = time.monotonic()
    keeps_last_good(flags, first.id, "one", "timed out")
    assert time.monotonic() - started < 1.5
    scenario("slower than its timeout", "url")

    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)
    try:
        import os

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        source = DynamoDBSource("relay", timeout=0.3)
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = f"http://127.0.0.1:{hole.getsockname()[1]}"
        started = time.monotonic()
        try:
            cold_without_data(client(source)[0], "timeout|timed out")
        finally:
            del os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
        assert time.monotonic() - started < 3, f"waited {time.monotonic() - started:.1f} s"
    finally:
        hole.close()
    scenario("slower than its timeout", "dynamodb")


def test_a_304_after_a_restart(url: str) -> None:
    # A CDN that answers 304 to a client that sent no validator has nothing to give it.
    Served.status = 304
    cold_without_data(client(UrlSource(url))[0], "304")
    scenario("a 304 after a restart", "url")


def test_concurrent_callers_during_a_failure(url: str) -> None:
    flags, clock, _ = client(UrlSource(url))
    first = flags.snapshot()
    assert first is not None
    Served.status, Served.delay = 503, 0.5
    clock.advance(10)
    Served.requests = 0
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda: answers.append(flags.variation("banner", USER, "default"))) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(answers) == {"one"} and len(answers) == 20
    assert Served.requests == 1, "the callers shared one load"
    started = time.monotonic()
    for _ in range(20):
        flags.variation("banner", USER, "default")
    assert Served.requests == 1 and time.monotonic() - started < 0.25, "answered without waiting for the 0.5 s source"
    keeps_last_good(flags, first.id, "one", "503")
    scenario("concurrent callers during a failure", "url")


def test_a_token_from_another_snapshot_during_a_failure(url: str) -> None:
    flags, clock, _ = client(UrlSource(url), signing_key=KEY)
    flags.snapshot()
    upstream = Snapshot.from_json(snapshot_json("two"))
    token = upstream.decision_token(USER, ["banner"], KEY, now_ms=clock.now * 1000)
    Served.status, Served.delay = 503, 0.5
    clock.advance(2)
    Served.requests = 0
    flags.decide(USER, token)
    assert Served.requests == 1
    started = time.monotonic()
    for _ in range(5):
        flags.decide(USER, token)
    assert Served.requests == 1, "no request waited on the failing source"
    assert time.monotonic() - started < 0.25, "answered without waiting for the 0.5 s source"
    Served.status, Served.delay = 200, 0.0
    clock.advance(1.5)
    flags.decide(USER, token)
    flags.decide(USER, token)
    assert Served.requests == 2
    clock.advance(1.5)
    flags.decide(USER, token)
    assert Served.requests == 2, "a token from a snapshot already looked for does not reload every retry interval"
    scenario("a token from another snapshot during a failure", "url")


def test_a_token_from_an_older_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "older.json"
    path.write_text(snapshot_json("one"))
    loads = []

    class Counted:
        def describe(self) -> str:
            return "counted file"

        def load(self, current: Any) -> Snapshot:
            loads.append(1)
            return Snapshot.from_json(path.read_text())

    flags, clock, _ = client(Counted(), signing_key=KEY)
    older = flags.snapshot()
    assert older is not None
    token = older.decision_token(USER, ["banner"], KEY, now_ms=clock.now * 1000)
    path.write_text(snapshot_json("two"))
    clock.advance(10)
    flags.snapshot()
    assert len(loads) == 2
    for _ in range(5):
        clock.advance(1.5)
        flags.decide(USER, token)
    assert len(loads) == 2, "a token from a snapshot this client replaced never forces a reload"
    scenario("a token from an older snapshot", "file")


def test_zz_the_matrix() -> None:
    print(f"fault matrix (python): {len(RESULTS)} passed, 0 failed")
    for line in RESULTS:
        print(f"  {line}")
    assert len(RESULTS) >= 16
