"""Shared fixtures: where the project's files are, and dynalite (DynamoDB),
started on 127.0.0.1 and a free port for the session and stopped by its
process id."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("FLAGCORE_SHARED", ROOT.parent / "shared"))
VECTORS = ROOT / "tests" / "vectors"
EXAMPLES = ROOT / "examples"
NODE_MODULES = ROOT / "bindings-node" / "node_modules"

def vector_cases(kind: str) -> list[dict[str, Any]]:
    """Every line of the files that tests/vectors/index.json lists under ``kind``."""
    index = json.loads((VECTORS / "index.json").read_text())
    return [
        json.loads(line)
        for name in index[kind]
        for line in (VECTORS / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


# The Snapshot method for each `valueType` of the vectors.
METHODS = {
    "bool": "bool_variation_detail",
    "int": "int_variation_detail",
    "double": "float_variation_detail",
    "string": "string_variation_detail",
    "any": "json_variation_detail",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Dynalite:
    """A dynalite process on 127.0.0.1."""

    def __init__(self, port: int | None = None) -> None:
        # A test that restarts the server passes the port it had.
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        cli = NODE_MODULES / "dynalite" / "cli.js"
        if not cli.exists():
            raise RuntimeError(f"{cli} is missing: run `make setup` (npm ci in bindings-node)")
        self.process = subprocess.Popen(
            ["node", str(cli), "--host", "127.0.0.1", "--port", str(self.port), "--createTableMs", "0", "--deleteTableMs", "0"],
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if b"listening" not in line:
            self.stop()
            raise RuntimeError(f"dynalite did not start: {line!r}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, 15)
            self.process.wait(timeout=10)

    def client(self, **config: object) -> object:
        """A boto3 client for this server; `config` goes to botocore's Config."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(**config),
        )


@pytest.fixture(scope="session")
def dynalite() -> Iterator[Dynalite]:
    server = Dynalite()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_dynalite() -> Iterator[type[Dynalite]]:
    """For tests that stop their own server."""
    started: list[Dynalite] = []

    class Own(Dynalite):
        def __init__(self) -> None:
            super().__init__()
            started.append(self)

    yield Own
    for server in started:
        server.stop()


class Clock:
    """A wall clock that tests move by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def wait_until(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.01)
    raise AssertionError("timed out")
