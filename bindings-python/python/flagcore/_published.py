"""flagcore's published layout as a FlagClient source: the head read alone
on a refresh, the chunks only when it names another snapshot, and a
generation read by id for a pinned request; from a URL (S3 or a CDN), a
directory, DynamoDB, or a store of your own. What the layout holds and how
it is checked is the core's (``flagcore::published``)."""

from __future__ import annotations

import os

from ._native import Snapshot
from ._sources import HEAD_BYTES, SNAPSHOT_BYTES, STORED_CHUNK_BYTES, _dynamodb_client, _read_up_to

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping, Optional


PUBLISHED_TTL_SECONDS = 5.0
"""A published source's default time to live: an unchanged refresh is one
small read (half a read unit from DynamoDB, ``make bench-published``)."""


# How many chunks are read at a time from an HTTP origin.
HTTP_READS = 8


class PinRefused(OSError):
    """A pinned snapshot that will never be read: its generation's head names
    another snapshot, or more published bytes than the pinned snapshots may
    hold. A generation never changes, so asking again would answer the same."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class PublishedSource:
    """flagcore's published layout (``flagcore publish``, or the Node
    package's sync handler): a refresh reads the head alone, and the chunks
    only when the head names a snapshot id other than the one in use. Give
    ``url`` (the folder that holds ``head.json``, served by S3 or a CDN),
    ``table`` (a DynamoDB table of the Relay Proxy's key schema, items under
    ``[prefix:]flagcore``; ``client`` a boto3 DynamoDB client),
    ``directory``, or ``store`` (an object with ``describe()``, ``head(tag,
    deadline)``, ``chunks(names, deadline)`` and ``generation_head(name,
    deadline)``, ``deadline`` a ``time.monotonic()`` time). Every read of one
    snapshot (its head and its chunks) has one deadline, ``timeout`` seconds
    away; an HTTP origin's chunks are read concurrently. What is read is
    bounded before it is held: a head past the core's bound is refused, a
    stored chunk past its bound is not inflated, and a chunk inflates to no
    more than one byte past the size its head gives. Every chunk, the whole
    and the content id are checked (by the core) before anything replaces
    the snapshot in use; any failure keeps it, and ``status()["last_error"]``
    says why.
    """

    ttl_seconds = PUBLISHED_TTL_SECONDS
    published = True
    """What it loads, its publisher checked by the core's plan (the lost
    ``$inited`` marker rule among them): a client takes it as it is."""

    def __init__(
        self,
        url: str | None = None,
        *,
        table: str | None = None,
        prefix: str | None = None,
        client: Any = None,
        directory: str | os.PathLike[str] | None = None,
        store: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
    ) -> None:
        given = [
            name
            for name, value in (("url", url), ("table", table), ("directory", directory), ("store", store))
            if value is not None
        ]
        if len(given) != 1:
            raise TypeError(
                f"PublishedSource needs exactly one of url=, table=, directory= or store= (got {', '.join(given) or 'none'})"
            )
        self._store: Any
        if url is not None:
            self._store = _HttpStore(url, dict(headers or {}))
        elif table is not None:
            self._store = _DynamoDBStore(table, prefix, client, timeout)
        elif directory is not None:
            self._store = _DirectoryStore(os.fspath(directory))
        else:
            self._store = store
        self.timeout = float(timeout)
        # The tag of the last head read whole: kept only once its snapshot
        # loaded, so a failed read is retried, never taken for unchanged.
        self._tag: Any = None
        # The last head's sequence: where the snapshot in use stands in the
        # order of publishes (a snapshot published again moves it on), and
        # what its source said of the snapshot in use.
        self._sequence: int | None = None
        self._facts: Any = None

    def describe(self) -> str:
        return f"published {self._store.describe()}"

    def _deadline(self) -> float:
        import time

        return time.monotonic() + self.timeout

    def load(self, current: Snapshot | None) -> Snapshot:
        deadline = self._deadline()
        store = self._store
        read = _within(deadline, store, store.head, self._tag if current is not None else None, deadline)
        if read is None:
            if current is not None:
                return current
            raise OSError(f"{store.describe()}: the head was answered unchanged, with no snapshot loaded")
        text, tag = read
        head = Snapshot.published_head(text)
        same = current is not None and head["id"] == current.id
        # The same snapshot is read again only when what its source said of
        # it changed (a Relay table's marker came back).
        facts = head.get("source")
        if current is None or not same or facts != self._facts:
            current = Snapshot.from_published(text, _chunks(store, head, deadline))
        self._tag = tag
        self._facts = facts
        # A stale read of the same snapshot (a cache, an eventually
        # consistent read) never moves its place back.
        if same and self._sequence is not None:
            self._sequence = max(self._sequence, head["sequence"])
        else:
            self._sequence = head["sequence"]
        return current

    def reset(self) -> None:
        """Forgets the last head read, so that the next load reads it whole:
        the client refused what it loaded."""
        self._tag = None

    def sequence(self) -> int | None:
        """The sequence of the head the last load read: where the snapshot it
        answered stands among the generations."""
        return self._sequence

    def load_pinned(self, snapshot_id: str, max_bytes: float = float("inf")) -> tuple[Snapshot, int, int]:
        """Exactly the snapshot ``snapshot_id``, from its generation's own
        head and chunks: ``(snapshot, sequence, size)``. Raises when the
        generation is not there (never published, or expired) or does not
        read whole; raises ``PinRefused``, before any chunk is read, when its
        head names another snapshot or more than ``max_bytes`` published
        bytes."""
        deadline = self._deadline()
        name = Snapshot.published_generation_head(snapshot_id)
        text = _within(deadline, self._store, self._store.generation_head, name, deadline)
        if text is None:
            raise OSError(f"{self._store.describe()}: no {name}: snapshot {snapshot_id} was not published there, or has expired")
        head = Snapshot.published_head(text)
        if head["id"] != snapshot_id:
            raise PinRefused("PINNED_WRONG_ID", f"{self._store.describe()}: {name} names snapshot {head['id']}")
        if head["size"] > max_bytes:
            raise PinRefused(
                "PINNED_TOO_LARGE",
                f"snapshot {snapshot_id} is {head['size']} bytes published, over the {max_bytes} bytes the pinned snapshots may hold: not read",
            )
        return Snapshot.from_published(text, _chunks(self._store, head, deadline)), head["sequence"], head["size"]


def _chunks(store: Any, head: Mapping[str, Any], deadline: float) -> list[bytes]:
    """A head's chunks, decompressed, in order: all of them, or those before
    the first one not found (the core then names it). A stored chunk past its
    bound is not inflated, and fails its check."""
    read = _within(deadline, store, store.chunks, [chunk["name"] for chunk in head["chunks"]], deadline)
    if None in read:
        read = read[: read.index(None)]
    return [
        b"" if len(data) > STORED_CHUNK_BYTES else _inflate(data, info["size"]) for data, info in zip(read, head["chunks"])
    ]


def _inflate(data: bytes, size: int) -> bytes:
    """A stored chunk's plain bytes, at most ``size + 1`` of them: the size
    its head gives, and one more, which is enough to fail the chunk's check,
    so that a chunk that inflates to far more (a decompression bomb) is never
    held in memory. A chunk that does not decompress is handed over as it
    is, and fails its hash."""
    import zlib

    inflater = zlib.decompressobj(wbits=31)
    try:
        plain: bytes = inflater.decompress(data, size + 1)
    except zlib.error:
        return data
    # Bytes after the gzip member are not the chunk's: as the JavaScript
    # readers do, the chunk is handed over as it is, and fails its hash.
    return data if inflater.unused_data else plain


def _within(deadline: float, store: Any, call: Any, *args: Any) -> Any:
    """``call(*args)``, waited for no later than ``deadline``: it runs in a
    thread of its own, so a store that ignores the deadline (a server that
    sends a byte just before each socket timeout, a retrying client) is not
    waited for past it; what it answers late is dropped."""
    import threading

    answer: dict[str, Any] = {}

    def run() -> None:
        try:
            answer["value"] = call(*args)
        except BaseException as error:  # handed to the caller, whatever it is
            answer["error"] = error

    worker = threading.Thread(target=run, name="flagcore-read", daemon=True)
    worker.start()
    worker.join(_remaining(deadline, store.describe()))
    if worker.is_alive():
        raise OSError(f"{store.describe()}: the read did not finish within its deadline")
    if "error" in answer:
        raise answer["error"]
    return answer["value"]


def _remaining(deadline: float, describe: str) -> float:
    import time

    left = deadline - time.monotonic()
    if left <= 0:
        raise OSError(f"{describe}: the read did not finish within its deadline")
    return left


class _HttpStore:
    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.base = url if url.endswith("/") else url + "/"
        self.headers = headers

    def describe(self) -> str:
        return f"url {self.base}"

    def _get(self, name: str, headers: Mapping[str, str], deadline: float, limit: int) -> tuple[int, bytes | None, str | None]:
        import urllib.error
        import urllib.parse
        import urllib.request

        target = urllib.parse.urljoin(self.base, name)
        request = urllib.request.Request(target, headers={**self.headers, **headers})
        try:
            with urllib.request.urlopen(request, timeout=_remaining(deadline, self.describe())) as response:
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > limit:
                    return response.status, None, None
                return response.status, _read_up_to(response, limit), response.headers.get("ETag")
        except urllib.error.HTTPError as error:
            if error.code in (304, 404):
                return error.code, b"", None
            raise OSError(f"GET {target} answered {error.code} {error.reason}") from None

    def _text(self, name: str, body: bytes | None) -> bytes:
        if body is None:
            raise OSError(f"GET {self.base}{name}: more than the {HEAD_BYTES} bytes a head holds")
        return body

    def head(self, tag: str | None, deadline: float) -> tuple[bytes, str | None] | None:
        status, body, etag = self._get("head.json", {"If-None-Match": tag} if tag else {}, deadline, HEAD_BYTES)
        if status == 304 and tag:
            return None
        if status == 404:
            raise OSError(f"GET {self.base}head.json answered 404: nothing is published there")
        return self._text("head.json", body), etag

    def chunks(self, names: list[str], deadline: float) -> list[bytes | None]:
        """Every chunk, read concurrently (a few at a time), within the one
        deadline of the whole read."""
        from concurrent.futures import ThreadPoolExecutor, wait

        def one(name: str) -> bytes | None:
            status, body, _ = self._get(name, {}, deadline, STORED_CHUNK_BYTES)
            if status == 404:
                return None
            # Past its bound, a chunk is read no further, and fails its check.
            return body if body is not None else b"\0" * (STORED_CHUNK_BYTES + 1)

        if len(names) == 1:
            return [one(names[0])]
        pool = ThreadPoolExecutor(max_workers=min(HTTP_READS, len(names)), thread_name_prefix="flagcore-read")
        try:
            futures = [pool.submit(one, name) for name in names]
            done, waiting = wait(futures, timeout=_remaining(deadline, self.describe()))
            if waiting:
                raise OSError(f"{self.describe()}: {len(waiting)} chunk(s) not read within the deadline")
            return [future.result() for future in futures]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def generation_head(self, name: str, deadline: float) -> bytes | None:
        status, body, _ = self._get(name, {}, deadline, HEAD_BYTES)
        return None if status == 404 else self._text(name, body)


class _DirectoryStore:
    """The layout in a directory. The head is read whole at every refresh (it
    is small) and compared by its content: a head replaced by one of the same
    size and modification time (what ``aws s3 sync``, ``cp -p`` or ``tar``
    leave) is not missed."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def describe(self) -> str:
        return f"directory {self.directory}"

    def _read(self, name: str, limit: int) -> bytes | None:
        try:
            with open(os.path.join(self.directory, name), "rb") as file:
                data: bytes = file.read(limit + 1)
                return data
        except FileNotFoundError:
            return None

    def head(self, tag: Any, deadline: float) -> tuple[bytes, Any] | None:
        data = self._read("head.json", HEAD_BYTES)
        if data is None:
            raise OSError(f"{self.directory}/head.json: nothing is published there")
        if len(data) > HEAD_BYTES:
            raise OSError(f"{self.directory}/head.json: more than the {HEAD_BYTES} bytes a head holds")
        return None if data == tag else (data, data)

    def chunks(self, names: list[str], deadline: float) -> list[bytes | None]:
        return [self._read(name, STORED_CHUNK_BYTES) for name in names]

    def generation_head(self, name: str, deadline: float) -> bytes | None:
        return self._read(name, HEAD_BYTES)


class _DynamoDBStore:
    # BatchGetItem takes at most 100 keys a request; unprocessed keys are
    # asked for again this many times before the read fails.
    BATCH = 100
    RETRIES = 8

    def __init__(self, table: str, prefix: str | None, client: Any, timeout: float) -> None:
        self.table = table
        self.namespace = f"{prefix}:flagcore" if prefix else "flagcore"
        self.client = client
        self.timeout = timeout

    def describe(self) -> str:
        return f"dynamodb {self.table} ({self.namespace})"

    def _client(self) -> Any:
        if self.client is None:
            self.client = _dynamodb_client(self.timeout)
        return self.client

    def _key(self, name: str) -> dict[str, Any]:
        return {"namespace": {"S": self.namespace}, "key": {"S": name}}

    def _head_text(self, name: str) -> str | None:
        answer = self._client().get_item(TableName=self.table, Key=self._key(name), ConsistentRead=False)
        text = answer.get("Item", {}).get("head", {}).get("S")
        return text if isinstance(text, str) else None

    def head(self, tag: str | None, deadline: float) -> tuple[str, str] | None:
        text = self._head_text("head.json")
        if text is None:
            raise OSError(f"dynamodb {self.table}: no head.json under {self.namespace}: nothing is published there")
        return None if text == tag else (text, text)

    def generation_head(self, name: str, deadline: float) -> str | None:
        return self._head_text(name)

    def chunks(self, names: list[str], deadline: float) -> list[bytes | None]:
        import time

        found: dict[str, bytes] = {}
        for start in range(0, len(names), self.BATCH):
            keys = [self._key(name) for name in names[start : start + self.BATCH]]
            attempt = 0
            while keys:
                if attempt > self.RETRIES:
                    raise OSError(f"dynamodb {self.table}: {len(keys)} chunks still unprocessed after {self.RETRIES} retries")
                if attempt:
                    time.sleep(min(1.0, 0.025 * 2**attempt, _remaining(deadline, self.describe())))
                _remaining(deadline, self.describe())
                answer = self._client().batch_get_item(RequestItems={self.table: {"Keys": keys, "ConsistentRead": False}})
                for item in answer.get("Responses", {}).get(self.table, []):
                    data = item.get("data", {}).get("B")
                    if data is not None:
                        found[item["key"]["S"]] = bytes(data)
                keys = answer.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
                attempt += 1
        return [found.get(name) for name in names]
