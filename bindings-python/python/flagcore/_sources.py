"""Where a FlagClient loads its snapshot from: a JSON file, a URL, or the
Relay Proxy's DynamoDB table (flagcore's published layout is
``_published.py``). Each source is an object with ``load(current)``,
which answers a Snapshot (``current`` when nothing changed) or raises, and
``describe()``, which names it in warnings and ``status()``.

Modules that only some sources need (urllib, boto3) are imported on first
use, so that importing flagcore stays fast on a cold start.
"""

from __future__ import annotations

import os

from ._native import Snapshot, published_limits

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping, Optional, Protocol

    class Source(Protocol):
        """What FlagClient needs of a source."""

        def load(self, current: Optional[Snapshot]) -> Snapshot: ...

        def describe(self) -> str: ...


# The most a reader takes of a head's text, of one stored (gzip) chunk, and
# of a snapshot's text from any source: the core's bounds
# (flagcore::published), one table in docs/bounds.md.
HEAD_BYTES, STORED_CHUNK_BYTES, SNAPSHOT_BYTES = published_limits()


def _dynamodb_client(timeout: float) -> Any:
    """A boto3 DynamoDB client from the environment, with ``timeout`` seconds
    to connect and to read and one retry."""
    import boto3  # type: ignore[import-untyped,unused-ignore]  # the Lambda runtime ships it
    from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]

    config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2})
    # boto3 reads AWS_DEFAULT_REGION and the shared config, not AWS_REGION,
    # which is what Node's SDK, the CLI and Lambda itself set.
    region = boto3.session.Session().region_name or os.environ.get("AWS_REGION") or None
    if region is None:
        raise RuntimeError(
            "no AWS region for DynamoDB: set AWS_REGION (or AWS_DEFAULT_REGION, or a region in the AWS profile), or pass client="
        )
    return boto3.client("dynamodb", config=config, region_name=region)


class FileSource:
    """A JSON file, re-read when its modification time or size changed."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._seen: tuple[int, int] | None = None

    def describe(self) -> str:
        return f"file {self.path}"

    def load(self, current: Snapshot | None) -> Snapshot:
        stat = os.stat(self.path)
        stamp = (stat.st_mtime_ns, stat.st_size)
        if current is not None and stamp == self._seen:
            return current
        if stat.st_size > SNAPSHOT_BYTES:
            raise OSError(f"{self.path}: {stat.st_size} bytes, more than the {SNAPSHOT_BYTES} a snapshot holds")
        with open(self.path, "rb") as file:
            snapshot = Snapshot.from_json(file.read(SNAPSHOT_BYTES + 1))
        self._seen = stamp
        return snapshot

    def reset(self) -> None:
        """Forgets the last read's stamp, so that the next load reads it
        again: the client refused what it loaded."""
        self._seen = None


class UrlSource:
    """A URL (a CDN or an S3 object), revalidated with If-None-Match, so an
    unchanged snapshot costs no parse; ``prefix`` reads exported DynamoDB
    items of a prefixed Relay Proxy table."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
        prefix: str | None = None,
    ) -> None:
        self.prefix = prefix
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self._etag: str | None = None

    def describe(self) -> str:
        return f"url {self.url}"

    def load(self, current: Snapshot | None) -> Snapshot:
        import urllib.error
        import urllib.request

        headers = dict(self.headers)
        if current is not None and self._etag:
            headers["If-None-Match"] = self._etag
        request = urllib.request.Request(self.url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = _read_up_to(response, SNAPSHOT_BYTES)
                etag = response.headers.get("ETag")
            if body is None:
                raise OSError(f"GET {self.url}: more than the {SNAPSHOT_BYTES} bytes a snapshot holds")
        except urllib.error.HTTPError as error:
            if error.code == 304 and current is not None:
                return current
            raise OSError(f"GET {self.url} answered {error.code} {error.reason}") from None
        snapshot = Snapshot.from_json(body, prefix=self.prefix)
        self._etag = etag
        return snapshot

    def reset(self) -> None:
        """Forgets the last read's ETag, so that the next load reads it
        whole: the client refused what it loaded."""
        self._etag = None


class DynamoDBSource:
    """The Relay Proxy's DynamoDB table: every page of ``[prefix:]features``
    and ``[prefix:]segments``, and the ``$inited`` marker. Any failing page
    fails the whole read, so a partial table never replaces a whole snapshot;
    a read with no items at all (a wrong table or prefix) fails too
    (``DYNAMODB_EMPTY``). Items equal to the last read's keep the snapshot in
    use without parsing them again.

    ``client`` is a boto3 DynamoDB client; without one, a client is made from
    the environment (``AWS_REGION``/``AWS_DEFAULT_REGION``, credentials,
    ``AWS_ENDPOINT_URL_DYNAMODB``) on first use, with ``timeout`` seconds to
    connect and to read and one retry. A client you pass keeps its own
    timeouts.
    """

    def __init__(
        self,
        table: str,
        prefix: str | None = None,
        client: Any = None,
        consistent_read: bool = True,
        timeout: float = 5.0,
    ) -> None:
        self.table = table
        self.prefix = prefix
        self.client = client
        self.consistent_read = consistent_read
        self.timeout = timeout
        self._last_items: list[Any] | None = None

    def describe(self) -> str:
        return f"dynamodb {self.table}" + (f" (prefix {self.prefix})" if self.prefix else "")

    # A page holds at most 1 MB: one read takes no more pages, over all its
    # namespaces, than a snapshot's bound.
    MAX_PAGES = -(-SNAPSHOT_BYTES // (1024 * 1024))

    def _query(self, namespace: str, budget: list[int]) -> list[Any]:
        items: list[Any] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#namespace = :namespace",
            "ExpressionAttributeNames": {"#namespace": "namespace"},
            "ExpressionAttributeValues": {":namespace": {"S": namespace}},
            "ConsistentRead": self.consistent_read,
        }
        while True:
            budget[0] += 1
            if budget[0] > self.MAX_PAGES:
                raise OSError(f"dynamodb {self.table}: more than {self.MAX_PAGES} pages, more than a snapshot holds")
            page = self.client.query(**request)
            items.extend(page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if not last:
                return items
            request["ExclusiveStartKey"] = last

    def load(self, current: Snapshot | None) -> Snapshot:
        if self.client is None:
            self.client = _dynamodb_client(self.timeout)
        items: list[Any] = []
        # The $inited marker first: the Relay Proxy writes it after everything
        # else, so items read after it are a whole data set, and a table being
        # written anew (no marker yet) cannot pass for one.
        budget = [0]
        for kind in ("$inited", "features", "segments"):
            items.extend(self._query(f"{self.prefix}:{kind}" if self.prefix else kind, budget))
        if current is not None and items == self._last_items:
            return current
        snapshot = Snapshot.from_dynamodb_items(items, prefix=self.prefix)
        self._last_items = items
        return snapshot

    def reset(self) -> None:
        """Forgets the last read, so that the next load parses it again: the
        client refused what it loaded."""
        self._last_items = None


def _read_up_to(stream: Any, limit: int) -> bytes | None:
    """At most ``limit`` bytes of a file or a response, or None past that:
    what is past is never read."""
    data: bytes = stream.read(limit + 1)
    return None if len(data) > limit else data
