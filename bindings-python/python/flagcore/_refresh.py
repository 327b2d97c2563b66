"""A snapshot kept fresh from a source, with no connection and no background
thread: a call made after the time to live refreshes before it answers;
concurrent callers share one refresh; a failed refresh keeps the last good
snapshot and backs off. When calls refresh is the core's rule
(``refresh_deadlines``, core/src/refresh.rs); this file does the loading."""

from __future__ import annotations

import _thread

from ._native import Snapshot, refresh_deadlines

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from ._sources import Source

DEFAULT_TTL_SECONDS = 15.0
# How many snapshot ids a client remembers for ``decide``.
SEEN_IDS = 16


class Refreshing:
    """The refresh loop of a FlagClient: the snapshot in use, where it stands
    among a published source's generations, when it was loaded and checked,
    the last failure, and the source's warnings."""

    def __init__(
        self,
        source: Source | None,
        ttl_seconds: float | None,
        retry_seconds: float,
        logger: Any,
        clock: Callable[[], float],
    ) -> None:
        self._offline = source is None
        self._source = source
        if ttl_seconds is None:
            ttl_seconds = getattr(source, "ttl_seconds", None) or DEFAULT_TTL_SECONDS
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
        # Snapshot ids this client replaced, or looked for at a token's
        # request and did not find: a token naming one is no reason to reload.
        self._seen_ids: list[str] = []

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


def _uninitialized(problems: list[dict[str, Any]]) -> bool:
    return any(problem["code"] == "STORE_NOT_INITIALIZED" for problem in problems)
