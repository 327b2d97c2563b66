"""FlagClient: sources, time to live on the wall clock, stale-on-error, cold
starts, offline mode, and one refresh shared by concurrent callers."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import EXAMPLES, ROOT, Clock
from flagcore import FlagClient, Snapshot, UrlSource

USER = {"kind": "user", "key": "user-1"}
NOT_READY = {"kind": "ERROR", "errorKind": "CLIENT_NOT_READY"}


class Quiet:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.warnings.append(message % args)


def snapshot_text(value: str, version: int = 1) -> str:
    flag = {"key": "banner", "version": version, "on": True, "variations": [value], "fallthrough": {"variation": 0}}
    return json.dumps({"flags": {"banner": flag}})


@pytest.fixture
def flags_file(tmp_path: Path) -> Path:
    path = tmp_path / "flags.json"
    path.write_text(snapshot_text("first"))
    return path


def test_a_file_is_reread_after_the_time_to_live(flags_file: Path, clock: Clock) -> None:
    client = FlagClient(file=flags_file, ttl_seconds=30, clock=clock)
    assert client.variation("banner", USER) == "first"
    flags_file.write_text(snapshot_text("second, longer"))
    clock.advance(29)
    assert client.variation("banner", USER) == "first"
    clock.advance(1)
    assert client.variation("banner", USER) == "second, longer"
    assert client.status()["age_seconds"] == 0


def test_ttl_zero_refreshes_on_every_call_and_negative_never(flags_file: Path, clock: Clock) -> None:
    every = FlagClient(file=flags_file, ttl_seconds=0, clock=clock)
    never = FlagClient(file=flags_file, ttl_seconds=-1, clock=clock)
    assert every.variation("banner", USER) == never.variation("banner", USER) == "first"
    flags_file.write_text(snapshot_text("changed!"))
    clock.advance(10**9)
    assert every.variation("banner", USER) == "changed!"
    assert never.variation("banner", USER) == "first"


def test_a_failed_refresh_keeps_the_last_good_snapshot(flags_file: Path, clock: Clock) -> None:
    logger = Quiet()
    client = FlagClient(file=flags_file, ttl_seconds=5, clock=clock, logger=logger)
    good = client.snapshot()
    flags_file.write_text('{"flags": {"banner": {"key": "banner", "variations": 7}}}')
    clock.advance(5)
    assert client.snapshot() is good
    assert client.variation("banner", USER) == "first"
    status = client.status()
    assert status["ready"] and status["age_seconds"] == 5
    assert getattr(status["last_error"], "code", None) == "FLAG_INVALID"
    assert "serving the snapshot loaded 5 s ago" in logger.warnings[0]
    # Until retry_seconds has passed, calls answer without trying again.
    assert len(logger.warnings) == 1
    flags_file.write_text(snapshot_text("fixed"))
    clock.advance(1)
    assert client.variation("banner", USER) == "fixed" and client.status()["last_error"] is None


def test_a_cold_start_without_a_source_answers_defaults(tmp_path: Path, clock: Clock) -> None:
    logger = Quiet()
    client = FlagClient(file=tmp_path / "missing.json", clock=clock, logger=logger)
    detail = client.bool_variation_detail("banner", USER, False)
    assert (detail.value, detail.variation_index, detail.reason) == (False, None, NOT_READY)
    assert client.variation("banner", USER, "default") == "default"
    assert client.all_flags_state(USER).valid is False
    assert client.status()["ready"] is False and isinstance(client.status()["last_error"], FileNotFoundError)
    assert "no snapshot yet" in logger.warnings[0]


def test_offline_touches_no_source() -> None:
    client = FlagClient(offline=True)
    assert client.string_variation_detail("banner", USER, "off").reason == NOT_READY
    assert client.refresh() is None and client.status()["offline"] is True


def test_a_source_must_be_named_once() -> None:
    with pytest.raises(TypeError, match="exactly one"):
        FlagClient()
    with pytest.raises(TypeError, match="exactly one"):
        FlagClient(file="a.json", url="http://127.0.0.1:1/")
    with pytest.raises(TypeError, match="load"):
        FlagClient(source="flags.json")  # type: ignore[arg-type]


def test_concurrent_callers_share_one_refresh(flags_file: Path) -> None:
    loads = 0
    gate = threading.Event()

    class Slow:
        def describe(self) -> str:
            return "slow"

        def load(self, current: Snapshot | None) -> Snapshot:
            nonlocal loads
            loads += 1
            gate.wait(5)
            return Snapshot.from_json(flags_file.read_bytes())

    client = FlagClient(Slow())
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda: answers.append(client.variation("banner", USER))) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join()
    assert answers == ["first"] * 8 and loads == 1


def test_the_same_content_keeps_the_snapshot_and_its_age(flags_file: Path, clock: Clock) -> None:
    client = FlagClient(file=flags_file, ttl_seconds=1, clock=clock)
    first = client.snapshot()
    flags_file.write_text(snapshot_text("first") + "\n")  # new bytes, same flags
    clock.advance(3)
    assert client.snapshot() is first and client.status()["age_seconds"] == 3


class FlagServer:
    """Serves a snapshot on 127.0.0.1 with an ETag, and counts requests."""

    def __init__(self) -> None:
        self.body = snapshot_text("served").encode()
        self.requests: list[dict[str, str]] = []
        self.status = 200
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(dict(self.headers))
                etag = f'"{hash(server.body)}"'
                if server.status != 200:
                    self.send_error(server.status)
                elif self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                else:
                    self.send_response(200)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", str(len(server.body)))
                    self.end_headers()
                    self.wfile.write(server.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/flags.json"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()


@pytest.fixture
def flag_server() -> Iterator[FlagServer]:
    server = FlagServer()
    yield server
    server.http.shutdown()
    server.http.server_close()


def test_a_url_is_revalidated_with_its_etag(flag_server: FlagServer, clock: Clock) -> None:
    client = FlagClient(url=flag_server.url, ttl_seconds=10, clock=clock)
    first = client.snapshot()
    assert client.variation("banner", USER) == "served"
    clock.advance(10)
    assert client.snapshot() is first
    assert flag_server.requests[1].get("If-None-Match")
    flag_server.body = snapshot_text("changed", 2).encode()
    clock.advance(10)
    assert client.variation("banner", USER) == "changed"


def test_a_failing_url_keeps_the_last_good_snapshot(flag_server: FlagServer, clock: Clock) -> None:
    logger = Quiet()
    client = FlagClient(source=UrlSource(flag_server.url, headers={"Authorization": "Bearer t"}), ttl_seconds=1, clock=clock, logger=logger)
    assert client.variation("banner", USER) == "served"
    assert flag_server.requests[0].get("Authorization") == "Bearer t"
    flag_server.status = 503
    clock.advance(2)
    assert client.variation("banner", USER) == "served"
    assert "503" in str(client.status()["last_error"])


def test_the_readme_handler_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    source = (EXAMPLES / "python" / "handler.py").read_text()
    docs = "".join(page.read_text() for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    assert f"```python\n{source}```" in docs, "README.md or docs/ must show examples/python/handler.py as it is"

    monkeypatch.setenv("FLAGS_FILE", str(EXAMPLES / "snapshot.json"))
    spec = importlib.util.spec_from_file_location("handler", EXAMPLES / "python" / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    snapshot = Snapshot.from_json((EXAMPLES / "snapshot.json").read_text())
    for i in range(100):
        event = {"userId": f"user-{i}", "email": f"user{i}@example.com"}
        response = module.handler(event, None)
        body = json.loads(response["body"])
        user = {"kind": "user", "key": event["userId"], "email": event["email"]}
        assert response["statusCode"] == 200
        assert body == {
            "checkout": "v2" if snapshot.bool_variation("new-checkout", user, False) else "v1",
            "theme": snapshot.string_variation("checkout-theme", user, "classic"),
        }


@pytest.mark.parametrize("fast", [True, False])
def test_a_context_without_a_key_is_reported_once_per_client(flags_file: Path, fast: bool) -> None:
    # Without it a context with no key answers defaults silently.
    quiet = Quiet()
    client = FlagClient(file=str(flags_file), logger=quiet)
    for _ in range(3):
        if fast:
            assert client.variation("banner", {"kind": "user", "name": "no key"}, "fallback") == "fallback"
        else:
            detail = client.variation_detail("banner", {"kind": "user", "key": ""}, "fallback")
            assert detail.reason == {"kind": "ERROR", "errorKind": "USER_NOT_SPECIFIED"}
    assert len(quiet.warnings) == 1, quiet.warnings
    assert '"banner"' in quiet.warnings[0] and "USER_NOT_SPECIFIED" in quiet.warnings[0] and '"key"' in quiet.warnings[0]
    # A missing flag, or a valid context, is no reason to warn.
    other = Quiet()
    client = FlagClient(file=str(flags_file), logger=other)
    assert client.variation("missing-flag", USER, "x") == "x"
    assert client.variation("banner", USER) == "first"
    assert other.warnings == []


def test_the_version_is_the_packages() -> None:
    import importlib.metadata
    import re

    import flagcore

    cargo = (ROOT / "Cargo.toml").read_text()
    match = re.search(r'^version = "([^"]+)"', cargo, re.M)
    assert match and flagcore.__version__ == match.group(1) == importlib.metadata.version("flagcore")
