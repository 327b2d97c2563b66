"""FlagClient: LaunchDarkly's evaluation methods over a snapshot kept fresh
from a source, with decision tokens across a call chain. Each other job has
a file of its own: the refresh loop (``_refresh.py``), the snapshots pinned
requests answer from (``_pins.py``), the counts and measurements ``flush()``
writes (``_metrics.py``), span events (``_tracing.py``), and the sources
(``_sources.py``, ``_published.py``)."""

from __future__ import annotations

import _thread
import os
import time
import weakref

from ._metrics import Metrics
from ._native import Context, EvaluationDetail, FlagsState, Snapshot, TokenError, ValueType
from ._pins import PINNED_BYTES, PINNED_SNAPSHOTS, Pins, answering
from ._published import PublishedSource
from ._refresh import Refreshing
from ._sources import DynamoDBSource, FileSource, UrlSource
from ._tracing import Tracing

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Mapping

    from ._sources import Source

NOT_READY = {"kind": "ERROR", "errorKind": "CLIENT_NOT_READY"}
# Locks held by another thread at fork would stay held in the child: every
# client gets a fresh lock there.
_clients: weakref.WeakSet[FlagClient] = weakref.WeakSet()


def _after_fork() -> None:
    for client in list(_clients):
        client._lock = _thread.allocate_lock()
        client._metrics.after_fork()
        client._pins.after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class FlagClient(Refreshing):
    """Answers flags from a snapshot loaded from ``source`` (or the
    ``file=``, ``url=`` or ``dynamodb_table=`` shorthand), refreshed when a
    call finds it older than ``ttl_seconds``.

    With no snapshot yet (a cold start whose source failed), or with
    ``offline=True``, every flag answers its default, with the reason
    ``{"kind": "ERROR", "errorKind": "CLIENT_NOT_READY"}``.
    """

    def __init__(
        self,
        source: Source | None = None,
        *,
        file: str | os.PathLike[str] | None = None,
        url: str | None = None,
        dynamodb_table: str | None = None,
        prefix: str | None = None,
        dynamodb_client: Any = None,
        published: str | Mapping[str, Any] | None = None,
        ttl_seconds: float | None = None,
        retry_seconds: float = 1.0,
        offline: bool = False,
        logger: Any = None,
        clock: Callable[[], float] = time.time,
        signing_key: str | None = None,
        max_token_ttl_seconds: float | None = None,
        max_pinned_snapshots: int = PINNED_SNAPSHOTS,
        max_pinned_bytes: int = PINNED_BYTES,
        metrics_namespace: str = "flagcore",
        function_name: str | None = None,
        metrics_writer: Callable[[str], Any] | None = None,
        tracing: bool = False,
    ) -> None:
        """
        :param published: flagcore's published layout: the URL of the folder
            holding ``head.json``, or ``{"table", "prefix", "client"}`` for
            DynamoDB, ``{"directory"}``, or ``{"store"}`` for a store of your
            own (see ``PublishedSource``).
        :param ttl_seconds: how long a snapshot is used before a call refreshes
            it, on the wall clock (a frozen Lambda's monotonic clock can stand
            still); 0 refreshes on every call, a negative value never. By
            default 15, and 5 for a published source, whose unchanged refresh
            is one small read.
        :param retry_seconds: after a failure, how long calls answer from what
            they have before trying the source again.
        :param logger: where refresh failures are reported (``warning``);
            ``logging.getLogger("flagcore")`` by default.
        :param signing_key: the decision tokens' key (at least 16 bytes);
            ``FLAGCORE_SIGNING_KEY`` from the environment by default.
        :param max_token_ttl_seconds: the longest lifetime of a decision
            token that ``decide`` accepts (default 300).
        :param max_pinned_snapshots: for a published source, how many
            snapshots ``decide`` keeps to answer requests pinned to their
            decision token's snapshot (0 pins nothing).
        :param max_pinned_bytes: the published bytes those may count (a
            parsed snapshot holds about five times its published size).
        :param metrics_namespace: the CloudWatch namespace ``flush()`` writes to.
        :param function_name: the ``FunctionName`` dimension;
            ``AWS_LAMBDA_FUNCTION_NAME`` from the environment by default.
        :param metrics_writer: where ``flush()`` writes each line; standard
            output by default, where Lambda reads Embedded Metric Format.
        :param tracing: record evaluations as ``feature_flag.evaluation``
            events on the active OpenTelemetry span, when ``opentelemetry-api``
            is installed (it is imported only then).
        """
        source = None if offline else _make_source(source, file, url, dynamodb_table, prefix, dynamodb_client, published)
        Refreshing.__init__(self, source, ttl_seconds, retry_seconds, logger, clock)
        # Whether an invalid context was reported: once per client, not per call.
        self._context_warned = False
        self._max_token_ttl = max_token_ttl_seconds
        self._pins = Pins(max_pinned_snapshots, max_pinned_bytes, self._retry, clock, self._log)
        self._signing_key = signing_key if signing_key is not None else os.environ.get("FLAGCORE_SIGNING_KEY")
        function_name = function_name if function_name is not None else os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self._metrics = Metrics(metrics_namespace, function_name, metrics_writer, clock, self._log)
        # Every evaluation counts: the bound method, looked up once.
        self._count = self._metrics.count
        self._tracing: Tracing | None = Tracing.load() if tracing else None
        _clients.add(self)

    def status(self) -> dict[str, Any]:
        """Where the client stands: the snapshot's id and age in seconds, and
        the last refresh error."""
        now = self._clock()
        loaded = self._snapshot is not None
        return {
            "ready": loaded,
            "offline": self._offline,
            "source": self._source.describe() if self._source is not None else None,
            "snapshot_id": self._snapshot.id if self._snapshot is not None else None,
            "age_seconds": now - self._loaded_at if loaded else None,
            "checked_ago_seconds": now - self._checked_at if loaded else None,
            "last_error": self._last_error,
            "warnings": self._warnings,
            "pinned": self._pins.status(),
        }

    # -- decisions across a call chain ---------------------------------------

    def decision_token(
        self, context: Any, flag_keys: Iterable[str], ttl_seconds: float = 60, snapshot: Snapshot | None = None
    ) -> str | None:
        """A decision token for ``flag_keys`` (at most 128) and ``context``,
        valid for ``ttl_seconds`` (more than 0, at most 3600), to pass
        downstream (e.g. ``baggage: flagcore=<token>``); None, with a warning,
        without a snapshot, a signing key, a valid context or a valid time to
        live. It comes from ``snapshot`` when given (the one the handler
        evaluated with, so that the token carries the answers the handler
        gave), else from the current snapshot, which a refresh may have
        replaced since the handler evaluated."""
        if snapshot is not None and not isinstance(snapshot, Snapshot):
            raise TypeError("flagcore: decision_token's snapshot takes the Snapshot the handler evaluated with (from flags.snapshot())")
        snapshot = self._answering(self.snapshot() if snapshot is None else snapshot, context)
        if snapshot is None:
            return None
        try:
            return snapshot.decision_token(
                context, list(flag_keys), self._signing_key, ttl_seconds=float(ttl_seconds), now_ms=self._clock() * 1000
            )
        except (TokenError, TypeError, ValueError, OverflowError) as error:
            self._log("flagcore: no decision token (%s)", error)
            return None

    def decide(self, context: Any, token: str | bytes | None) -> Context:
        """The Context to evaluate with in a downstream function: ``context``
        with upstream's decisions from ``token`` (a token or a ``baggage``
        header) when it verifies. When the token comes from a snapshot this
        client has not seen (neither held nor looked for), the snapshot is
        refreshed first: at most once per ``retry_seconds``, and never while a
        failed source is backing off.

        From a published source, a token from any snapshot other than the one
        held then pins the context: its evaluations (every flag, not only the
        token's), its tokens and its ``all_flags_state`` answer from exactly
        the token's snapshot, read once by id and kept (see
        ``max_pinned_snapshots``), except that a flag the held snapshot has
        switched off (itself, or through a prerequisite) answers as it does
        there, and one it lacks is not found, unless the token's snapshot is
        a newer generation than the held one. ``pinned_snapshot_id`` says so;
        when the snapshot cannot be read (it expired, or is larger than the
        pinned snapshots may hold), or the source failed within the retry
        interval, the token's own decisions still apply, and
        ``status()["pinned"]`` says why. A token that fails (one that is not
        text, or holds a lone surrogate, is malformed) is ignored with a
        warning; this never raises."""
        self.snapshot()
        decided = Context(
            context,
            token=token,
            signing_key=self._signing_key,
            max_ttl_seconds=self._max_token_ttl,
            clock=self._clock,
        )
        status = decided.token_status
        if "code" in status:
            self._log("flagcore: ignoring a decision token (%s: %s)", status["code"], status["message"])
            return decided
        if not self._offline and self._due_for_token(status):
            self._refresh_for_token(status)
        if self._pins_to(status):
            held = self._snapshot.id if self._snapshot is not None else None
            pin = self._pins.get(status["snapshotId"], self._source, held)
            if pin is not None:
                decided._set_pin(pin)
        return decided

    def _pins_to(self, status: dict[str, Any]) -> bool:
        """Whether a verified token's snapshot is one to pin to: another than
        the held one, from a source that can read it by id, and not while a
        failed source is backing off (the core's rule: no request waits on it
        then; one already kept is used all the same)."""
        snapshot = self._snapshot
        return (
            status.get("applied") is True
            and self._pins.max_snapshots > 0
            and snapshot is not None
            and status["snapshotId"] != snapshot.id
            and hasattr(self._source, "load_pinned")
            and (self._pins.holds(status["snapshotId"]) or self._clock() >= self._pin_due_at)
        )

    def _answering(self, held: Snapshot | None, context: Any) -> Snapshot | None:
        """The snapshot to answer ``context`` from when the client holds
        ``held``: a pinned context's pinned snapshot under ``held``'s kill
        switches (see ``_pins.answering``)."""
        if held is None or type(context) is not Context:
            return held
        # A held snapshot no longer current stands nowhere known: the newest.
        sequence = self._held_sequence if held is self._snapshot else float("inf")
        return answering(held, sequence, context)

    # -- evaluation ---------------------------------------------------------

    def _answer(self, method: str, key: str, context: Any, default: Any, count: Callable[[str, int | None], None] | None = None) -> EvaluationDetail:
        snapshot = self._answering(self.snapshot(), context)
        detail: EvaluationDetail = _not_ready(default) if snapshot is None else getattr(snapshot, method)(key, context, default)
        if not self._context_warned and detail.variation_index is None:
            self._check_context(key, detail)
        (self._count if count is None else count)(key, detail.variation_index)
        if self._tracing is not None:

            def version() -> str | None:
                answered = self._answering(self._snapshot, context)
                return answered.id if answered is not None else None

            self._tracing.event(key, detail, context, version)
        return detail

    def _value(self, value_type: ValueType, method: str, key: str, context: Any, default: Any, count: Callable[[str, int | None], None] | None = None) -> Any:
        """A value, counted like ``_answer`` counts it (by ``count``, a
        scope's, or the client's). Without tracing, no detail is built: the
        snapshot answers the value and the variation's index."""
        if self._tracing is not None:
            return self._answer(method, key, context, default, count).value
        snapshot = self._snapshot if self._offline or self._clock() < self._due_at else self.snapshot()
        if type(context) is Context and snapshot is not None:
            snapshot = self._answering(snapshot, context)
        if snapshot is None:
            value, index = default, None
        else:
            value, index = snapshot._counted(key, context, default, value_type)
            if index is None and not self._context_warned and _may_be_invalid(context):
                self._check_context(key, snapshot.variation_detail(key, context, default))
        (self._count if count is None else count)(key, index)
        return value

    def _check_context(self, key: str, detail: EvaluationDetail) -> None:
        """Logs, once per client, that a flag answered its default because the
        context is invalid: without it, a context with no key would answer
        defaults silently."""
        if detail.reason.get("errorKind") == "USER_NOT_SPECIFIED" and not self._context_warned:
            self._context_warned = True
            self._log(
                "flagcore: flag \"%s\" answered its default (ERROR/USER_NOT_SPECIFIED): the context is invalid; "
                'give it a non-empty "key" (and a "kind" other than "multi", or a multi-context\'s own contexts). '
                "This warning is logged once per client.",
                key,
            )

    def variation(self, key: str, context: Any, default: Any = None) -> Any:
        return self._value(ValueType.ANY, "variation_detail", key, context, default)

    def variation_detail(self, key: str, context: Any, default: Any = None) -> EvaluationDetail:
        return self._answer("variation_detail", key, context, default)

    def bool_variation(self, key: str, context: Any, default: bool) -> bool:
        value: bool = self._value(ValueType.BOOL, "bool_variation_detail", key, context, default)
        return value

    def bool_variation_detail(self, key: str, context: Any, default: bool) -> EvaluationDetail:
        return self._answer("bool_variation_detail", key, context, default)

    def int_variation(self, key: str, context: Any, default: int) -> int:
        value: int = self._value(ValueType.INT, "int_variation_detail", key, context, default)
        return value

    def int_variation_detail(self, key: str, context: Any, default: int) -> EvaluationDetail:
        return self._answer("int_variation_detail", key, context, default)

    def float_variation(self, key: str, context: Any, default: float) -> float:
        value: float = self._value(ValueType.FLOAT, "float_variation_detail", key, context, default)
        return value

    def float_variation_detail(self, key: str, context: Any, default: float) -> EvaluationDetail:
        return self._answer("float_variation_detail", key, context, default)

    def string_variation(self, key: str, context: Any, default: str) -> str:
        value: str = self._value(ValueType.STR, "string_variation_detail", key, context, default)
        return value

    def string_variation_detail(self, key: str, context: Any, default: str) -> EvaluationDetail:
        return self._answer("string_variation_detail", key, context, default)

    def json_variation(self, key: str, context: Any, default: Any) -> Any:
        return self._value(ValueType.ANY, "json_variation_detail", key, context, default)

    def json_variation_detail(self, key: str, context: Any, default: Any) -> EvaluationDetail:
        return self._answer("json_variation_detail", key, context, default)

    # -- metrics --------------------------------------------------------------

    def measure(self, name: str, value: float, unit: str = "None") -> None:
        """Records a measurement of the handler's own (latency, errors, a
        business counter) for ``flush()``, which writes it with the variation
        of every flag evaluated in this invocation as a dimension. ``unit`` is
        one of CloudWatch's: ``Milliseconds``, ``Count``, ..."""
        self._metrics.measure(name, value, unit)

    def flush(self) -> list[str]:
        """Call at the end of a handler: writes this invocation's evaluation
        counts per flag and variation, and its measurements, as CloudWatch
        Embedded Metric Format lines, then starts counting afresh. Answers
        the lines."""
        return self._metrics.flush()

    def scope(self) -> FlagScope:
        """A scope for one request, where one client serves many at once
        (threads, asyncio tasks): the variation methods, ``measure()`` and
        ``flush()`` of the client, counting into the scope alone, so that its
        measurements carry the variations this request was served, never
        another's. A Lambda handler (one invocation at a time) needs none."""
        return FlagScope(self, self._metrics.fresh())

    def all_flags_state(
        self,
        context: Any,
        *,
        client_side_only: bool = False,
        with_reasons: bool = False,
        details_only_for_tracked_flags: bool = False,
    ) -> FlagsState:
        """Every flag's value for a context; ``valid`` is False when no
        snapshot is loaded."""
        snapshot = self._answering(self.snapshot(), context)
        if snapshot is None:
            return FlagsState({"$flagsState": {}, "$valid": False})
        return snapshot.all_flags_state(
            context,
            client_side_only=client_side_only,
            with_reasons=with_reasons,
            details_only_for_tracked_flags=details_only_for_tracked_flags,
        )


class FlagScope:
    """One request's evaluations and measurements, from ``FlagClient.scope()``:
    answers as its client answers, and counts for its own ``flush()``."""

    __slots__ = ("_client", "_metrics", "_count")

    def __init__(self, client: FlagClient, metrics: Metrics) -> None:
        self._client, self._metrics, self._count = client, metrics, metrics.count

    def variation(self, key: str, context: Any, default: Any = None) -> Any:
        return self._client._value(ValueType.ANY, "variation_detail", key, context, default, self._count)

    def variation_detail(self, key: str, context: Any, default: Any = None) -> EvaluationDetail:
        return self._client._answer("variation_detail", key, context, default, self._count)

    def bool_variation(self, key: str, context: Any, default: bool) -> bool:
        value: bool = self._client._value(ValueType.BOOL, "bool_variation_detail", key, context, default, self._count)
        return value

    def bool_variation_detail(self, key: str, context: Any, default: bool) -> EvaluationDetail:
        return self._client._answer("bool_variation_detail", key, context, default, self._count)

    def int_variation(self, key: str, context: Any, default: int) -> int:
        value: int = self._client._value(ValueType.INT, "int_variation_detail", key, context, default, self._count)
        return value

    def int_variation_detail(self, key: str, context: Any, default: int) -> EvaluationDetail:
        return self._client._answer("int_variation_detail", key, context, default, self._count)

    def float_variation(self, key: str, context: Any, default: float) -> float:
        value: float = self._client._value(ValueType.FLOAT, "float_variation_detail", key, context, default, self._count)
        return value

    def float_variation_detail(self, key: str, context: Any, default: float) -> EvaluationDetail:
        return self._client._answer("float_variation_detail", key, context, default, self._count)

    def string_variation(self, key: str, context: Any, default: str) -> str:
        value: str = self._client._value(ValueType.STR, "string_variation_detail", key, context, default, self._count)
        return value

    def string_variation_detail(self, key: str, context: Any, default: str) -> EvaluationDetail:
        return self._client._answer("string_variation_detail", key, context, default, self._count)

    def json_variation(self, key: str, context: Any, default: Any) -> Any:
        return self._client._value(ValueType.ANY, "json_variation_detail", key, context, default, self._count)

    def json_variation_detail(self, key: str, context: Any, default: Any) -> EvaluationDetail:
        return self._client._answer("json_variation_detail", key, context, default, self._count)

    def measure(self, name: str, value: float, unit: str = "None") -> None:
        """As ``FlagClient.measure()``, for this request's ``flush()``."""
        self._metrics.measure(name, value, unit)

    def flush(self) -> list[str]:
        """As ``FlagClient.flush()``: this request's counts and measurements."""
        return self._metrics.flush()


def _not_ready(default: Any) -> EvaluationDetail:
    return EvaluationDetail(default, None, dict(NOT_READY))


def _make_source(
    source: Source | None,
    file: str | os.PathLike[str] | None,
    url: str | None,
    dynamodb_table: str | None,
    prefix: str | None,
    dynamodb_client: Any,
    published: str | Mapping[str, Any] | None = None,
) -> Source:
    given = [
        name
        for name, value in (("source", source), ("file", file), ("url", url), ("dynamodb_table", dynamodb_table), ("published", published))
        if value is not None
    ]
    if len(given) != 1:
        raise TypeError(
            "FlagClient needs exactly one of source=, file=, url=, dynamodb_table= or published= "
            f"(got {', '.join(given) or 'none'}), or offline=True"
        )
    if published is not None:
        if isinstance(published, str):
            return PublishedSource(published)
        return PublishedSource(**published)
    if source is not None:
        if not callable(getattr(source, "load", None)) or not callable(getattr(source, "describe", None)):
            raise TypeError("a FlagClient source needs load(current) and describe() methods")
        return source
    if file is not None:
        return FileSource(file)
    if url is not None:
        return UrlSource(url)
    assert dynamodb_table is not None
    return DynamoDBSource(dynamodb_table, prefix=prefix, client=dynamodb_client)


def _may_be_invalid(context: Any) -> bool:
    """False for a context that is surely valid, so that the typed methods'
    fast path builds no detail to find out why a default was answered (a
    missing flag, a wrong type): a valid Context, or a single-kind dict with a
    non-empty string key."""
    if isinstance(context, Context):
        return not context.valid
    if isinstance(context, dict) and context.get("kind", "user") != "multi":
        key = context.get("key")
        return not (isinstance(key, str) and key)
    return True
