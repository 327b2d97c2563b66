"""Where a FlagClient loads its snapshot from: a JSON file, a URL, or the
Relay Proxy's DynamoDB table. Each source is an object with ``load(current)``,
which answers a Snapshot (``current`` when nothing changed) or raises, and
``describe()``, which names it in warnings and ``status()``.

Modules that only some sources need (urllib, boto3) are imported on first
use, so that importing flagcore stays fast on a cold start.
"""

from __future__ import annotations

import os

from ._native import Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping, Optional, Protocol

    class Source(Protocol):
        """What FlagClient needs of a source."""

        def load(self, current: Optional[Snapshot]) -> Snapshot: ...

        def describe(self) -> str: ...


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
        with open(self.path, "rb") as file:
            snapshot = Snapshot.from_json(file.read())
        self._seen = stamp
        return snapshot


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
                body = response.read()
                etag = response.headers.get("ETag")
        except urllib.error.HTTPError as error:
            if error.code == 304 and current is not None:
                return current
            raise OSError(f"GET {self.url} answered {error.code} {error.reason}") from None
        snapshot = Snapshot.from_json(body, prefix=self.prefix)
        self._etag = etag
        return snapshot


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

    def _query(self, namespace: str) -> list[Any]:
        items: list[Any] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#namespace = :namespace",
            "ExpressionAttributeNames": {"#namespace": "namespace"},
            "ExpressionAttributeValues": {":namespace": {"S": namespace}},
            "ConsistentRead": self.consistent_read,
        }
        while True:
            page = self.client.query(**request)
            items.extend(page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if not last:
                return items
            request["ExclusiveStartKey"] = last

    def load(self, current: Snapshot | None) -> Snapshot:
        if self.client is None:
            import boto3  # type: ignore[import-untyped,unused-ignore]  # the Lambda runtime ships it
            from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]

            config = Config(connect_timeout=self.timeout, read_timeout=self.timeout, retries={"max_attempts": 2})
            self.client = boto3.client("dynamodb", config=config)
        items: list[Any] = []
        # The $inited marker first: the Relay Proxy writes it after everything
        # else, so items read after it are a whole data set, and a table being
        # written anew (no marker yet) cannot pass for one.
        for kind in ("$inited", "features", "segments"):
            items.extend(self._query(f"{self.prefix}:{kind}" if self.prefix else kind))
        if current is not None and items == self._last_items:
            return current
        snapshot = Snapshot.from_dynamodb_items(items, prefix=self.prefix)
        self._last_items = items
        return snapshot
