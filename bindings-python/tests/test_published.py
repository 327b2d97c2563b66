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

    def publish(self, snapshot: Snapshot, now_ms: int | None = None, lag: bool = False) -> None:
        """The chunks and the generation's own head; then the head, unless
        ``lag`` (a head read that has not caught up with the publisher)."""
        head, chunks = snapshot.publish(now_ms=now_ms)
        for chunk, info in zip(chunks, Snapshot.published_head(head)["chunks"]):
            self.files[info["name"]] = (gzip.compress(chunk), f"c{self.version}")
        self.files[Snapshot.published_generation_head(snapshot.id)] = (head.encode(), f"g{self.version}")
        self.version += 1
        if not lag:
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


def publish_to_table(db: Any, snapshot: Snapshot, prefix: str = "prod", table: str = "published") -> None:
    """The layout's items, as the Node package's publish() writes them: the
    chunks and the generation's own head, then the head."""
    head, chunks = snapshot.publish()
    namespace = f"{prefix}:flagcore"
    for chunk, info in zip(chunks, Snapshot.published_head(head)["chunks"]):
        db.put_item(TableName=table, Item={"namespace": {"S": namespace}, "key": {"S": info["name"]}, "data": {"B": gzip.compress(chunk)}})
    own = Snapshot.published_generation_head(snapshot.id)
    db.put_item(TableName=table, Item={"namespace": {"S": namespace}, "key": {"S": own}, "head": {"S": head}})
    db.put_item(TableName=table, Item={"namespace": {"S": namespace}, "key": {"S": "head.json"}, "head": {"S": head}})


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


def write_directory(directory: Any, snapshot: Snapshot) -> str:
    """``snapshot`` published into ``directory`` as ``flagcore publish --to
    DIR`` writes it; answers the head's text."""
    head, chunks = snapshot.publish(now_ms=1_700_000_000_000)
    for chunk, info in zip(chunks, Snapshot.published_head(head)["chunks"]):
        path = directory / info["name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(chunk))
    (directory / "head.json").write_text(head)
    return head


def test_a_directory_head_replaced_with_the_same_size_and_mtime_is_read(tmp_path: Any) -> None:
    """What ``aws s3 sync``, ``cp -p`` or ``tar`` leave: a head of the same
    length and the same whole-second modification time. The head is compared
    by its content."""
    import os

    def write(snapshot: Snapshot) -> None:
        write_directory(tmp_path, snapshot)
        os.utime(tmp_path / "head.json", (1_700_000_000, 1_700_000_000))

    first, second = snapshot_of(banner="on"), snapshot_of(banner="no")
    write(first)
    size = (tmp_path / "head.json").stat().st_size
    client = FlagClient(published={"directory": tmp_path}, ttl_seconds=0, logger=Quiet())
    assert client.variation("banner", USER, "default") == "on"
    write(second)
    assert (tmp_path / "head.json").stat().st_size == size
    assert client.variation("banner", USER, "default") == "no"


def test_a_generations_chunks_are_read_concurrently_within_one_deadline() -> None:
    """Four chunks that take 0.6 s each are read in about 0.6 s, not 2.4 s;
    a read that cannot finish within the source's timeout fails at it, and
    the snapshot in use stays."""
    import time

    values = [f"user-{n:08}" for n in range(100_000)]
    flags = {
        f"f{n}": {"key": f"f{n}", "on": True, "variations": [False, True], "fallthrough": {"variation": 0}, "salt": f"s{n}",
                  "targets": [{"variation": 1, "values": values[n * 25_000 : (n + 1) * 25_000]}]}
        for n in range(4)
    }
    big = Snapshot.from_json(json.dumps({"flags": flags, "segments": {}}))
    head, chunks = big.publish(now_ms=1_700_000_000_000)
    names = [info["name"] for info in Snapshot.published_head(head)["chunks"]]
    assert len(names) >= 4
    files = {"head.json": head.encode(), **{name: gzip.compress(chunk) for name, chunk in zip(names, chunks)}}
    delay = [0.6]

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = files.get(self.path.removeprefix("/flags/"))
            if self.path.endswith(".gz"):
                time.sleep(delay[0])
            try:
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the reader gave up at its deadline, as it must

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/flags"
    try:
        client = FlagClient(published=url, logger=Quiet())
        started = time.monotonic()
        assert client.variation("f3", {"key": "user-00099999"}, None) is True
        took = time.monotonic() - started
        assert took < 0.6 * len(names) * 0.75, f"{len(names)} chunks of 0.6 s took {took:.2f} s"

        delay[0] = 3.0
        late = FlagClient(PublishedSource(url, timeout=1.0), logger=Quiet())
        started = time.monotonic()
        assert late.variation("f3", {"key": "user-00099999"}, None) is None
        assert time.monotonic() - started < 2.0
        assert "deadline" in str(late.status()["last_error"])
    finally:
        server.shutdown()


def test_a_decompression_bomb_is_never_inflated_past_its_declared_size() -> None:
    """A 256 MiB chunk of zeros (256 KB stored) behind a head that says 446
    bytes: inflating it stops one byte past the size, so the process's peak
    memory does not grow by anything near the bomb's."""
    import subprocess
    import sys

    script = """
import gzip, json, resource, sys
from flagcore import FlagClient, Snapshot
doc = {"flags": {"f": {"key": "f", "on": True, "variations": [False, True], "fallthrough": {"variation": 1}}}, "segments": {}}
snapshot = Snapshot.from_json(json.dumps(doc))
head, chunks = snapshot.publish(now_ms=1)
name = Snapshot.published_head(head)["chunks"][0]["name"]
bomb = gzip.compress(bytes(256 * 1024 * 1024), compresslevel=9)
class Store:
    def describe(self): return "bomb"
    def head(self, tag, deadline): return (head, head)
    def chunks(self, names, deadline): return [bomb]
    def generation_head(self, name, deadline): return None
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
client = FlagClient(published={"store": Store()}, logger=None)
import logging; logging.disable(logging.WARNING)
value = client.variation("f", {"key": "u"}, "default")
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"value": value, "error": client.status()["last_error"].code, "grewKiB": grew, "stored": len(bomb)}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["value"] == "default"
    assert result["error"] == "PUBLISHED_CHUNK_CORRUPT"
    assert result["stored"] < 400 * 1024, "the bomb fits a DynamoDB item"
    assert result["grewKiB"] < 32 * 1024, f"peak RSS grew by {result['grewKiB']} KiB"


def gzip_padded_to(plain: bytes, total: int) -> bytes:
    """A gzip member of ``plain``, padded to ``total`` bytes with a header comment."""
    stored = gzip.compress(plain)
    header = bytearray(stored[:10])
    header[3] |= 0x10
    return bytes(header) + b"x" * (total - len(stored) - 1) + b"\0" + stored[10:]


def test_an_http_reader_takes_a_head_and_a_stored_chunk_up_to_their_bounds(origin: Origin) -> None:
    from flagcore._native import published_limits

    head_bytes, stored_chunk_bytes, _ = published_limits()
    origin.publish(snapshot_of(banner="first"))
    client = FlagClient(published=origin.url, ttl_seconds=0, logger=Quiet())
    assert client.variation("banner", USER, "default") == "first"
    text = origin.files["head.json"][0]
    origin.files["head.json"] = (text + b" " * (head_bytes + 1 - len(text)), "past")
    client.variation("banner", USER, "default")
    assert "more than the 262144 bytes a head holds" in str(client.status()["last_error"])
    origin.files["head.json"] = (text + b" " * (head_bytes - len(text)), "at")
    client.variation("banner", USER, "default")
    assert client.status()["last_error"] is None

    second = snapshot_of(banner="second")
    origin.publish(second)
    name = f"snapshots/{second.id}/0.json.gz"
    plain = gzip.decompress(origin.files[name][0])
    origin.files[name] = (gzip_padded_to(plain, stored_chunk_bytes + 1), "past")
    assert client.variation("banner", USER, "default") == "first"
    assert client.status()["last_error"].code == "PUBLISHED_CHUNK_CORRUPT"
    origin.files[name] = (gzip_padded_to(plain, stored_chunk_bytes), "at")
    assert client.variation("banner", USER, "default") == "second"


def test_a_directory_reader_takes_a_head_and_a_stored_chunk_up_to_their_bounds(tmp_path: Any) -> None:
    from flagcore._native import published_limits

    head_bytes, stored_chunk_bytes, _ = published_limits()
    head = write_directory(tmp_path, snapshot_of(banner="first"))
    client = FlagClient(published={"directory": tmp_path}, ttl_seconds=0, logger=Quiet())
    assert client.variation("banner", USER, "default") == "first"
    (tmp_path / "head.json").write_text(head + " " * (head_bytes + 1 - len(head)))
    client.variation("banner", USER, "default")
    assert "more than the 262144 bytes a head holds" in str(client.status()["last_error"])
    (tmp_path / "head.json").write_text(head + " " * (head_bytes - len(head)))
    client.variation("banner", USER, "default")
    assert client.status()["last_error"] is None

    second = snapshot_of(banner="second")
    name = Snapshot.published_head(write_directory(tmp_path, second))["chunks"][0]["name"]
    plain = gzip.decompress((tmp_path / name).read_bytes())
    (tmp_path / name).write_bytes(gzip_padded_to(plain, stored_chunk_bytes + 1))
    assert client.variation("banner", USER, "default") == "first"
    assert client.status()["last_error"].code == "PUBLISHED_CHUNK_CORRUPT"
    (tmp_path / name).write_bytes(gzip_padded_to(plain, stored_chunk_bytes))
    assert client.variation("banner", USER, "default") == "second"
