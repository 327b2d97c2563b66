"""flagcore's published layout in Python: FlagClient
reading it over HTTP (a server of this test's own on 127.0.0.1) and from
DynamoDB (dynalite, see conftest.py), with the faults the layout guards
against: the same cases as the Node package's test/published.test.js."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
from typing import Any, Iterator

import pytest

from conftest import Clock, Dynalite
from flagcore import FlagClient, PublishedSource, Snapshot, SnapshotError
from test_dynamodb import create_table

USER = {"kind": "user", "key": "user-1"}


class Quiet:
    def warning(self, *args: Any) -> None:
        pass


def snapshot_of(**flags: Any) -> Snapshot:
    document = {"flags": {key: {"key": key, "on": True, "variations": [value], "fallthrough": {"variation": 0}} for key, value in flags.items()}, "segments": {}}
    return Snapshot.from_json(json.dumps(document))


def big_snapshot() -> Snapshot:
    """One flag of about 2 MB: 130,000 individually targeted keys."""
    values = [f"user-{n:08}" for n in range(130_000)]
    big = {"key": "big", "on": True, "variations": [False, True], "fallthrough": {"variation": 0}, "targets": [{"variation": 1, "values": values}]}
    return Snapshot.from_json(json.dumps({"flags": {"big": big}, "segments": {}}))


def test_a_2_mb_flag_spans_chunks_and_reads_back() -> None:
    big = big_snapshot()
    head, chunks = big.publish()
    parsed = Snapshot.published_head(head)
    assert parsed["id"] == big.id and parsed["size"] > 2_000_000
    assert len(chunks) >= 7 and all(len(chunk) <= 320 * 1024 for chunk in chunks)
    back = Snapshot.from_published(head, chunks)
    assert back.variation("big", {"kind": "user", "key": "user-00129999"}, None) is True


class Origin:
    """The layout as files behind a URL, as `flagcore publish --to DIR` writes them."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.requests: list[str] = []
        self.version = 0
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                name = self.path.removeprefix("/flags/")
                origin.requests.append(name)
                found = origin.files.get(name)
                if found is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body, etag = found
                if self.headers.get("If-None-Match") == f'"{etag}"':
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", f'"{etag}"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/flags"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, snapshot: Snapshot) -> None:
        head, chunks = snapshot.publish()
        for chunk, info in zip(chunks, Snapshot.published_head(head)["chunks"]):
            self.files[info["name"]] = (gzip.compress(chunk), f"c{self.version}")
        self.version += 1
        self.files["head.json"] = (head.encode(), f"h{self.version}")


@pytest.fixture
def origin() -> Iterator[Origin]:
    server = Origin()
    yield server
    server.server.shutdown()


def test_flag_client_polls_a_published_url_with_one_conditional_get(origin: Origin, clock: Clock) -> None:
    origin.publish(snapshot_of(banner="first"))
    client = FlagClient(published=origin.url, ttl_seconds=0, logger=Quiet())
    assert client.variation("banner", USER, "default") == "first"
    first = client.status()["snapshot_id"]
    assert origin.requests == ["head.json", f"snapshots/{first}/0.json.gz"]
    origin.requests.clear()
    assert client.variation("banner", USER, "default") == "first"
    assert origin.requests == ["head.json"]

    second = snapshot_of(banner="second")
    origin.publish(second)
    assert client.variation("banner", USER, "default") == "second"

    third = snapshot_of(banner="third")
    origin.publish(third)
    name = f"snapshots/{third.id}/0.json.gz"
    saved = origin.files.pop(name)
    assert client.variation("banner", USER, "default") == "second"
    assert client.status()["last_error"].code == "PUBLISHED_CHUNK_MISSING"
    origin.files[name] = saved
    assert client.variation("banner", USER, "default") == "third"
    assert client.status()["last_error"] is None

    fourth = snapshot_of(banner="fourth")
    origin.publish(fourth)
    origin.files[f"snapshots/{fourth.id}/0.json.gz"] = (b"not gzip", "x")
    assert client.variation("banner", USER, "default") == "third"
    assert client.status()["last_error"].code == "PUBLISHED_CHUNK_CORRUPT"

    # Polled every 5 s unless told otherwise.
    origin.publish(snapshot_of(banner="fifth"))
    polled = FlagClient(published=origin.url, clock=clock, logger=Quiet())
    assert polled.variation("banner", USER, "default") == "fifth"
    origin.requests.clear()
    clock.advance(4.9)
    polled.variation("banner", USER, "default")
    assert origin.requests == []
    clock.advance(0.2)
    polled.variation("banner", USER, "default")
    assert origin.requests == ["head.json"]


def publish_to_table(db: Any, snapshot: Snapshot, prefix: str = "prod") -> None:
    """The layout's items, as the Node package's publish() writes them: the chunks, then the head."""
    head, chunks = snapshot.publish()
    namespace = f"{prefix}:flagcore"
    for chunk, info in zip(chunks, Snapshot.published_head(head)["chunks"]):
        db.put_item(TableName="published", Item={"namespace": {"S": namespace}, "key": {"S": info["name"]}, "data": {"B": gzip.compress(chunk)}})
    db.put_item(TableName="published", Item={"namespace": {"S": namespace}, "key": {"S": "head.json"}, "head": {"S": head}})


def test_flag_client_reads_the_published_layout_from_dynamodb(dynalite: Dynalite) -> None:
    db = dynalite.client()
    create_table(db, "published")
    calls: list[str] = []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            calls.append(name)
            return getattr(db, name)

    publish_to_table(db, snapshot_of(banner="first"))
    client = FlagClient(published={"table": "published", "prefix": "prod", "client": Counting()}, ttl_seconds=0, logger=Quiet())
    assert client.variation("banner", USER, "default") == "first"
    assert calls == ["get_item", "batch_get_item"]
    calls.clear()
    assert client.variation("banner", USER, "default") == "first"
    assert calls == ["get_item"]

    big = big_snapshot()
    publish_to_table(db, big)
    assert client.variation("big", {"kind": "user", "key": "user-00129999"}, None) is True

    # A head whose generation expired: the last good snapshot stays.
    gone = snapshot_of(banner="gone")
    publish_to_table(db, gone)
    db.delete_item(TableName="published", Key={"namespace": {"S": "prod:flagcore"}, "key": {"S": f"snapshots/{gone.id}/0.json.gz"}})
    assert client.variation("big", {"kind": "user", "key": "user-00129999"}, None) is True
    assert client.status()["snapshot_id"] == big.id
    assert client.status()["last_error"].code == "PUBLISHED_CHUNK_MISSING"

    # A chunk read that fails: the same.
    class Failing:
        def __getattr__(self, name: str) -> Any:
            if name == "batch_get_item":
                raise OSError("slow down")
            return getattr(db, name)

    holder = FlagClient(published={"table": "published", "prefix": "prod", "client": Failing()}, ttl_seconds=0, logger=Quiet())
    assert holder.variation("banner", USER, "default") == "default"
    assert "slow down" in str(holder.status()["last_error"])


def test_published_source_needs_one_place() -> None:
    with pytest.raises(TypeError):
        PublishedSource()
    with pytest.raises(TypeError):
        PublishedSource("https://cdn.example/flags/", table="flags")


def test_python_reads_what_the_node_publisher_wrote(dynalite: Dynalite) -> None:
    """The layout's items as the Node package's publish() writes them to
    DynamoDB, read by Python: one writer, read the same in either language."""
    import os
    import shutil
    import subprocess

    from conftest import ROOT

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    db = dynalite.client()
    create_table(db, "from_node")
    document = {"flags": {"banner": {"key": "banner", "on": True, "variations": ["from node"], "fallthrough": {"variation": 0}}}, "segments": {}}
    script = (
        "const { Snapshot, publish } = require(process.argv[1]);"
        "const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');"
        "const client = new DynamoDBClient({ endpoint: process.argv[2], region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });"
        "publish(Snapshot.fromJson(process.argv[3]), { table: 'from_node', prefix: 'prod', client })"
        ".then((result) => console.log(JSON.stringify(result)), (error) => { console.error(error); process.exit(1) })"
    )
    package = str(ROOT / "bindings-node")
    env = {**os.environ, "NODE_PATH": str(ROOT / "bindings-node" / "node_modules")}
    result = subprocess.run([node, "-e", script, package, dynalite.endpoint, json.dumps(document)], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    published = json.loads(result.stdout)
    client = FlagClient(published={"table": "from_node", "prefix": "prod", "client": db}, logger=Quiet())
    assert client.variation("banner", USER, "default") == "from node"
    assert client.status()["snapshot_id"] == published["id"] == Snapshot.from_json(json.dumps(document)).id
