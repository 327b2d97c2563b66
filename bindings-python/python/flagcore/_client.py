"""FlagClient: a Snapshot kept fresh from a source, with no connection and no
background thread. A call made after ``ttl_seconds`` refreshes before it
answers; concurrent callers share one refresh; a failed refresh keeps the last
good snapshot."""

from __future__ import annotations

import _thread
import os
import time
import weakref

from ._native import Context, EvaluationDetail, FlagsState, Snapshot, TokenError, refresh_deadlines, render_metrics
from ._sources import DynamoDBSource, FileSource, PinRefused, PublishedSource, UrlSource

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Mapping

    from ._sources import Source

DEFAULT_TTL_SECONDS = 15.0
# How many snapshot ids a client remembers for ``decide``.
SEEN_IDS = 16
# How many snapshot ids a client remembers it will not pin to (larger than it
# may hold, or not the snapshot their head names): a generation never
# changes, so these are never asked for again.
REFUSED_IDS = 64
# The names evaluation counts use for variations, made once.
_VARIATION_NAMES = tuple(str(i) for i in range(64))
NOT_READY = {"kind": "ERROR", "errorKind": "CLIENT_NOT_READY"}
# What pinned snapshots a client keeps, by default, each counted by its
# published size (what it answers from under the held snapshot's kill switches
# shares its flags).
PINNED_SNAPSHOTS = 4
PINNED_BYTES = 8 * 1024 * 1024


class _Pin:
    """A pinned snapshot, kept by id, and what it answered from last:
    ``(held, held_sequence, answering)``, its flags under the kill switches
    of ``held`` when ``held`` stood at ``held_sequence`` among the
    generations, kept in one tuple so that threads never mix two."""

    __slots__ = ("id", "snapshot", "sequence", "size", "answered")

    def __init__(self, snapshot_id: str, snapshot: Snapshot, sequence: int, size: int) -> None:
        self.id = snapshot_id
        self.snapshot = snapshot
        self.sequence = sequence
        self.size = size
        self.answered: tuple[Snapshot, float, Snapshot] | None = None

# Locks held by another thread at fork would stay held in the child: every
# client gets a fresh lock there.
_clients: weakref.WeakSet[FlagClient] = weakref.WeakSet()


def _after_fork() -> None:
    for client in list(_clients):
        client._lock = _thread.allocate_lock()
        client._count_lock = _thread.allocate_lock()
        client._pin_lock = _thread.allocate_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class FlagClient:
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
        self._offline = bool(offline)
        self._source: Source | None = None
        if not self._offline:
            self._source = _make_source(source, file, url, dynamodb_table, prefix, dynamodb_client, published)
        if ttl_seconds is None:
            ttl_seconds = getattr(self._source, "ttl_seconds", None) or DEFAULT_TTL_SECONDS
        self._ttl = float(ttl_seconds)
        self._retry = float(retry_seconds)
        self._logger = logger
        self._clock = clock
        self._lock = _thread.allocate_lock()
        self._snapshot: Snapshot | None = None
        self._loaded_at = 0.0
        self._checked_at = 0.0
        self._failed_at = 0.0
        self._due_at = float("-inf")
        self._token_due_at = float("inf")
        self._pin_due_at = float("-inf")
        # Where the snapshot in use stands in the order of publishes (its
        # latest head's sequence: a snapshot published again moves it on).
        self._held_sequence: float = float("inf")
        self._last_error: BaseException | None = None
        self._warnings: list[dict[str, Any]] = []
        # Whether an invalid context was reported: once per client, not per call.
        self._context_warned = False
        # Snapshot ids this client replaced, or looked for at a token's
        # request and did not find: a token naming one is no reason to reload.
        self._seen_ids: list[str] = []
        self._max_token_ttl = max_token_ttl_seconds
        # Pinned snapshots by id, least recently used first; when a read of
        # one last failed, by id; the ids refused for good; and the last
        # failure.
        self._max_pinned = int(max_pinned_snapshots)
        self._max_pinned_bytes = int(max_pinned_bytes)
        self._pins: dict[str, _Pin] = {}
        self._pin_bytes = 0
        self._pin_failures: dict[str, float] = {}
        self._pin_refused: dict[str, None] = {}
        self._pin_error: BaseException | None = None
        self._pin_lock = _thread.allocate_lock()
        self._signing_key = signing_key if signing_key is not None else os.environ.get("FLAGCORE_SIGNING_KEY")
        self._namespace = metrics_namespace
        self._function_name = function_name if function_name is not None else os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self._write = metrics_writer
        self._evaluations: dict[str, dict[str, int]] = {}
        # Threads sharing a client count under this lock: no increment is lost.
        self._count_lock = _thread.allocate_lock()
        self._measurements: list[dict[str, Any]] = []
        self._trace: Any = None
        if tracing:
            try:
                from opentelemetry import trace

                self._trace = trace
            except ImportError:
                self._trace = None
        _clients.add(self)

    # -- the snapshot -------------------------------------------------------

    def snapshot(self) -> Snapshot | None:
        """The snapshot to answer from, refreshed first when its time to live
        has passed; None when none could be loaded."""
        if not self._offline and self._due():
            self._refresh_if_due()
        return self._snapshot

    async def snapshot_async(self) -> Snapshot | None:
        """As ``snapshot()``, for asyncio: a due refresh runs in a worker
        thread, so the event loop is not blocked by the source's I/O."""
        if not self._offline and self._due():
            import asyncio

            await asyncio.get_running_loop().run_in_executor(None, self._refresh_if_due)
        return self._snapshot

    def refresh(self) -> Snapshot | None:
        """Loads the source now; a failure keeps the last good snapshot."""
        if self._offline:
            return None
        with self._lock:
            return self._load()

    def _refresh_if_due(self) -> None:
        with self._lock:
            # Another thread may have refreshed while this one waited.
            if self._due():
                self._load()

    def _load(self) -> Snapshot | None:
        assert self._source is not None
        try:
            loaded = self._source.load(self._snapshot)
            problems = self._replaceable(loaded)
        except Exception as error:  # any failure of the source keeps what we have
            self._failed_at = self._clock()
            self._schedule()
            self._last_error = error
            self._warn(error)
            return self._snapshot
        now = self._clock()
        self._checked_at = now
        # A reload with the same content keeps the snapshot in use, and its age.
        # Where it stands among the generations, set before the snapshot:
        # a thread that sees the new snapshot sees its place (one that sees
        # the old snapshot with the new place answers under more kill
        # switches, never fewer). The same snapshot published again (a
        # rollback to it) is newer than every generation before it.
        self._held_sequence = self._source_sequence()
        if problems is not None:
            if self._snapshot is not None:
                self._remember(self._snapshot.id)
            self._snapshot = loaded
            self._loaded_at = now
            self._warnings = problems
            for problem in self._warnings:
                self._log("flagcore: %s: %s: %s", self._source.describe(), problem["code"], problem["message"])
        elif loaded is not self._snapshot:
            # The same content, read anew: what its source says of it now (a
            # marker come back) is kept, the snapshot in use and its age too.
            self._warnings = loaded.source_problems()
        self._last_error = None
        self._schedule()
        return self._snapshot

    def _replaceable(self, loaded: Snapshot) -> list[dict[str, Any]] | None:
        """The source problems of ``loaded`` when it replaces the snapshot in
        use; None when it is the same content. Raises when a table that had
        its ``$inited`` marker lost it: it is being written anew (recreated,
        or re-initialized), and what it holds now may be a part."""
        current = self._snapshot
        if current is not None and (loaded is current or loaded.id == current.id):
            return None
        problems: list[dict[str, Any]] = loaded.source_problems()
        # A published source's publisher applied this rule already (the
        # core's plan), and what it published stands.
        checked = getattr(self._source, "published", False) is True
        if current is not None and not checked and _uninitialized(problems) and not _uninitialized(self._warnings):
            # The source must read it whole again next time, not answer
            # "unchanged" and end the refusal unseen.
            reset = getattr(self._source, "reset", None)
            if reset is not None:
                reset()
            raise OSError("STORE_NOT_INITIALIZED: the table lost its $inited marker; keeping the snapshot read while it had one")
        return problems

    def _source_sequence(self) -> float:
        """Where the snapshot the source last answered stands among the
        generations; unknown (a source without sequences) is the newest of
        all, so that a pinned request always answers under its kill switches."""
        sequence = getattr(self._source, "sequence", None)
        try:
            value = sequence() if callable(sequence) else None
        except Exception:  # a source of the user's own: its place is unknown
            value = None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
            return float(value) if value == float("inf") else value
        return float("inf")

    def _schedule(self) -> None:
        """When calls refresh is the core's rule (core/src/refresh.rs), asked
        after each load and failure; a call only compares the time."""
        self._due_at, self._token_due_at, self._pin_due_at = refresh_deadlines(
            self._ttl, self._retry, self._snapshot is not None, self._checked_at, self._failed_at
        )

    def _due(self) -> bool:
        return self._clock() >= self._due_at

    def _remember(self, snapshot_id: str) -> None:
        if snapshot_id not in self._seen_ids:
            self._seen_ids.append(snapshot_id)
            del self._seen_ids[:-SEEN_IDS]

    def _due_for_token(self, status: dict[str, Any]) -> bool:
        """A token from a snapshot this client has not seen: upstream may hold
        newer data, so look once, at most once per retry interval and never
        within the backoff. A token from a snapshot it replaced (older data),
        or one it already looked for, waits for the time to live."""
        snapshot = self._snapshot
        if snapshot is None or not status.get("applied") or status["snapshotId"] == snapshot.id:
            return False
        if status["snapshotId"] in self._seen_ids:
            return False
        return self._clock() >= self._token_due_at

    def _refresh_for_token(self, status: dict[str, Any]) -> None:
        with self._lock:
            # Another thread may have looked while this one waited.
            if self._due_for_token(status):
                self._load()
                # Looked for and not there: the source has not caught up, or the token's snapshot is gone.
                if self._last_error is None and self._snapshot is not None and self._snapshot.id != status["snapshotId"]:
                    self._remember(status["snapshotId"])

    def _warn(self, error: BaseException) -> None:
        if self._snapshot is not None:
            age = f"serving the snapshot loaded {round(self._clock() - self._loaded_at)} s ago"
        else:
            age = "no snapshot yet: answering defaults"
        assert self._source is not None
        self._log("flagcore: refreshing from %s failed (%s); %s", self._source.describe(), error, age)

    def _log(self, message: str, *args: Any) -> None:
        logger = self._logger
        if logger is None:
            import logging

            logger = self._logger = logging.getLogger("flagcore")
        logger.warning(message, *args)

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
            "pinned": {"snapshot_ids": list(self._pins), "bytes": self._pin_bytes, "last_error": self._pin_error},
        }

    # -- decisions across a call chain ---------------------------------------

    def decision_token(self, context: Any, flag_keys: Iterable[str], ttl_seconds: float = 60) -> str | None:
        """A decision token for ``flag_keys`` (at most 128) and ``context``
        from the current snapshot, valid for ``ttl_seconds`` (more than 0, at
        most 3600), to pass downstream (e.g. ``baggage: flagcore=<token>``);
        None, with a warning, without a snapshot, a signing key, a valid
        context or a valid time to live."""
        snapshot = self._answering(self.snapshot(), context)
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
            pin = self._pin(status["snapshotId"])
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
            and self._max_pinned > 0
            and snapshot is not None
            and status["snapshotId"] != snapshot.id
            and hasattr(self._source, "load_pinned")
            and (status["snapshotId"] in self._pins or self._clock() >= self._pin_due_at)
        )

    def _pin(self, snapshot_id: str) -> _Pin | None:
        """The pinned snapshot ``snapshot_id``: kept, or read once however many
        threads ask at a time; None when it cannot be read, and then not asked
        for again within ``retry_seconds``."""
        with self._pin_lock:
            kept = self._pins.pop(snapshot_id, None)
            if kept is not None:
                self._pins[snapshot_id] = kept
                return kept
            if snapshot_id in self._pin_refused:
                return None
            failed_at = self._pin_failures.get(snapshot_id)
            if failed_at is not None and self._clock() - failed_at < self._retry:
                return None
            return self._load_pin(snapshot_id)

    def _load_pin(self, snapshot_id: str) -> _Pin | None:
        source: Any = self._source
        try:
            # The byte bound is the source's to apply from the generation's
            # head, before any chunk is read.
            snapshot, sequence, size = source.load_pinned(snapshot_id, max_bytes=self._max_pinned_bytes)
            if not size <= self._max_pinned_bytes:
                raise PinRefused(
                    "PINNED_TOO_LARGE",
                    f"snapshot {snapshot_id} is {size} bytes published, over the {self._max_pinned_bytes} bytes the pinned snapshots may hold",
                )
        except Exception as error:  # the token's own decisions still apply
            if isinstance(error, PinRefused):
                self._pin_refused[snapshot_id] = None
                while len(self._pin_refused) > REFUSED_IDS:
                    del self._pin_refused[next(iter(self._pin_refused))]
            else:
                self._pin_failures.pop(snapshot_id, None)
                self._pin_failures[snapshot_id] = self._clock()
                while len(self._pin_failures) > SEEN_IDS:
                    del self._pin_failures[next(iter(self._pin_failures))]
            self._pin_error = error
            held = self._snapshot.id if self._snapshot is not None else None
            self._log(
                "flagcore: cannot pin a request to snapshot %s (%s); answering from %s, with the token's decisions",
                snapshot_id,
                error,
                held,
            )
            return None
        pin = _Pin(snapshot_id, snapshot, sequence, size)
        self._pins[snapshot_id] = pin
        self._pin_bytes += size
        while len(self._pins) > self._max_pinned or self._pin_bytes > self._max_pinned_bytes:
            oldest = next(iter(self._pins))
            self._pin_bytes -= self._pins.pop(oldest).size
        self._pin_failures.pop(snapshot_id, None)
        self._pin_error = None
        return pin

    def _answering(self, held: Snapshot | None, context: Any) -> Snapshot | None:
        """The snapshot to answer ``context`` from when the client holds
        ``held``: for a pinned context, the pinned snapshot under ``held``'s
        kill switches, worked out again only when ``held``, or its place among
        the generations (a rollback publishes it again), changed."""
        if held is None or type(context) is not Context:
            return held
        pin: _Pin | None = context._pin
        if pin is None:
            return held
        # A held snapshot no longer current stands nowhere known: the newest.
        sequence = self._held_sequence if held is self._snapshot else float("inf")
        answered = pin.answered
        if answered is not None and answered[0] is held and answered[1] == sequence:
            return answered[2]
        snapshot = Snapshot.pinned(pin.snapshot, pin.sequence, held, _order(sequence))
        pin.answered = (held, sequence, snapshot)
        return snapshot

    # -- evaluation ---------------------------------------------------------

    def _answer(self, method: str, key: str, context: Any, default: Any) -> EvaluationDetail:
        snapshot = self._answering(self.snapshot(), context)
        detail: EvaluationDetail = _not_ready(default) if snapshot is None else getattr(snapshot, method)(key, context, default)
        if not self._context_warned and detail.variation_index is None:
            self._check_context(key, detail)
        self._count(key, detail.variation_index)
        if self._trace is not None:
            self._trace_event(key, detail, context)
        return detail

    def _value(self, value_type: int, method: str, key: str, context: Any, default: Any) -> Any:
        """A value, counted like ``_answer`` counts it. Without tracing, no
        detail is built: the snapshot answers the value and the variation's
        index (``value_type`` numbered as ``Snapshot._counted`` takes it: 0 any,
        1 bool, 2 float, 3 str, 4 int)."""
        if self._trace is not None:
            return self._answer(method, key, context, default).value
        snapshot = self._snapshot if self._offline or self._clock() < self._due_at else self.snapshot()
        if type(context) is Context and snapshot is not None:
            snapshot = self._answering(snapshot, context)
        if snapshot is None:
            value, index = default, None
        else:
            value, index = snapshot._counted(key, context, default, value_type)
            if index is None and not self._context_warned and _may_be_invalid(context):
                self._check_context(key, snapshot.variation_detail(key, context, default))
        self._count(key, index)
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

    def _count(self, key: str, index: int | None) -> None:
        """Counts an evaluation of ``key`` for ``flush()``, by variation."""
        if type(key) is not str:
            key = str(key)  # a key that is not text named no flag; it counts as its text
        if index is None:
            variation = "default"
        else:
            variation = _VARIATION_NAMES[index] if index < 64 else str(index)
        with self._count_lock:
            per_flag = self._evaluations.get(key)
            if per_flag is None:
                per_flag = self._evaluations[key] = {}
            per_flag[variation] = per_flag.get(variation, 0) + 1

    def _trace_event(self, key: str, detail: EvaluationDetail, context: Any) -> None:
        span = self._trace.get_current_span()
        if not span.is_recording():
            return
        from .openfeature_reasons import openfeature_reason

        reason = detail.reason
        attributes: dict[str, Any] = {
            "feature_flag.key": key,
            "feature_flag.provider.name": "flagcore",
            "feature_flag.result.reason": openfeature_reason(reason).lower(),
            "feature_flag.context.id": _context_id(context),
        }
        if detail.variation_index is not None:
            attributes["feature_flag.result.variant"] = str(detail.variation_index)
        if "errorKind" in reason:
            attributes["error.type"] = reason["errorKind"]
        answering = self._answering(self._snapshot, context)
        if answering is not None:
            attributes["feature_flag.version"] = answering.id
        span.add_event("feature_flag.evaluation", attributes)

    def variation(self, key: str, context: Any, default: Any = None) -> Any:
        return self._value(0, "variation_detail", key, context, default)

    def variation_detail(self, key: str, context: Any, default: Any = None) -> EvaluationDetail:
        return self._answer("variation_detail", key, context, default)

    def bool_variation(self, key: str, context: Any, default: bool) -> bool:
        value: bool = self._value(1, "bool_variation_detail", key, context, default)
        return value

    def bool_variation_detail(self, key: str, context: Any, default: bool) -> EvaluationDetail:
        return self._answer("bool_variation_detail", key, context, default)

    def int_variation(self, key: str, context: Any, default: int) -> int:
        value: int = self._value(4, "int_variation_detail", key, context, default)
        return value

    def int_variation_detail(self, key: str, context: Any, default: int) -> EvaluationDetail:
        return self._answer("int_variation_detail", key, context, default)

    def float_variation(self, key: str, context: Any, default: float) -> float:
        value: float = self._value(2, "float_variation_detail", key, context, default)
        return value

    def float_variation_detail(self, key: str, context: Any, default: float) -> EvaluationDetail:
        return self._answer("float_variation_detail", key, context, default)

    def string_variation(self, key: str, context: Any, default: str) -> str:
        value: str = self._value(3, "string_variation_detail", key, context, default)
        return value

    def string_variation_detail(self, key: str, context: Any, default: str) -> EvaluationDetail:
        return self._answer("string_variation_detail", key, context, default)

    def json_variation(self, key: str, context: Any, default: Any) -> Any:
        return self._value(0, "json_variation_detail", key, context, default)

    def json_variation_detail(self, key: str, context: Any, default: Any) -> EvaluationDetail:
        return self._answer("json_variation_detail", key, context, default)

    # -- metrics --------------------------------------------------------------

    def measure(self, name: str, value: float, unit: str = "None") -> None:
        """Records a measurement of the handler's own (latency, errors, a
        business counter) for ``flush()``, which writes it with the variation
        of every flag evaluated in this invocation as a dimension. ``unit`` is
        one of CloudWatch's: ``Milliseconds``, ``Count``, ..."""
        try:
            measurement = {"name": _well_formed(name), "value": float(value), "unit": _well_formed(unit)}
        except Exception as error:  # whatever the values' own methods raise
            # A measurement that cannot be written is left out, never raised.
            self._log("flagcore: measure(%r, %r, %r) left out: %s", name, value, unit, error)
            return
        with self._count_lock:
            self._measurements.append(measurement)

    def flush(self) -> list[str]:
        """Call at the end of a handler: writes this invocation's evaluation
        counts per flag and variation, and its measurements, as CloudWatch
        Embedded Metric Format lines, then starts counting afresh. Answers
        the lines."""
        with self._count_lock:
            evaluations, measurements = self._evaluations, self._measurements
            self._evaluations, self._measurements = {}, []
        records: dict[str, Any] = {"evaluations": evaluations, "measurements": measurements}
        try:
            lines = render_metrics(records, self._namespace, self._function_name, self._clock() * 1000)
        except UnicodeEncodeError:
            # A flag key with a lone surrogate was counted (it named no
            # flag): written well-formed, keys that then read alike adding up.
            merged: dict[str, dict[str, int]] = {}
            for key, counts in evaluations.items():
                into = merged.setdefault(_well_formed(key), {})
                for variation, count in counts.items():
                    into[variation] = into.get(variation, 0) + count
            records["evaluations"] = merged
            lines = render_metrics(records, self._namespace, self._function_name, self._clock() * 1000)
        write = self._write
        if write is None:
            import sys

            def write(line: str) -> None:
                sys.stdout.write(line + "\n")

        for line in lines:
            write(line)
        return lines

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


def _order(sequence: float) -> int:
    """A sequence as the core takes it: an unknown one (infinite) the
    newest of all."""
    return 2**63 - 1 if sequence == float("inf") else int(sequence)


def _well_formed(text: Any) -> str:
    """``text`` as a str that UTF-8 can hold: each lone surrogate made
    U+FFFD, as the JavaScript clients write it."""
    checked = str(text)
    try:
        checked.encode("utf-8")
    except UnicodeEncodeError:
        fixed: str = checked.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return fixed
    return checked


def _context_id(context: Any) -> str:
    """``feature_flag.context.id``: the core's canonical key, empty for an invalid context."""
    prepared = context if isinstance(context, Context) else Context(context)
    return prepared.canonical_key or ""


def _uninitialized(problems: list[dict[str, Any]]) -> bool:
    return any(problem["code"] == "STORE_NOT_INITIALIZED" for problem in problems)


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
