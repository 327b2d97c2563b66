"""The snapshots that requests are pinned to: ``FlagClient.decide`` pins a
context whose decision token came from another generation of a published
source to that generation, read once by id and kept, least recently used
first, within a count and a byte bound. What a pinned context answers from
is the core's rule (``Snapshot.pinned``): the token's snapshot under the
held snapshot's kill switches, unless it is the newer generation."""

from __future__ import annotations

import _thread

from ._native import Context, Snapshot
from ._published import PinRefused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

# What pinned snapshots a client keeps, by default, each counted by its
# published size (what it answers from under the held snapshot's kill
# switches shares its flags).
PINNED_SNAPSHOTS = 4
PINNED_BYTES = 8 * 1024 * 1024
# How many snapshot ids whose reads failed are remembered (not asked for
# again within the retry interval).
FAILED_IDS = 16
# How many snapshot ids a client remembers it will not pin to (larger than it
# may hold, or not the snapshot their head names): a generation never
# changes, so these are never asked for again.
REFUSED_IDS = 64


class Pin:
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


class Pins:
    """One client's pinned snapshots: by id, least recently used first;
    when a read of one last failed, by id; the ids refused for good; and the
    last failure."""

    def __init__(
        self, max_snapshots: int, max_bytes: int, retry_seconds: float, clock: Callable[[], float], log: Callable[..., None]
    ) -> None:
        self.max_snapshots = int(max_snapshots)
        self.max_bytes = int(max_bytes)
        self._retry = retry_seconds
        self._clock = clock
        self._log = log
        self._kept: dict[str, Pin] = {}
        self._bytes = 0
        self._failures: dict[str, float] = {}
        self._refused: dict[str, None] = {}
        self._error: BaseException | None = None
        self._lock = _thread.allocate_lock()

    def after_fork(self) -> None:
        """A lock held by another thread at fork would stay held in the child."""
        self._lock = _thread.allocate_lock()

    def status(self) -> dict[str, Any]:
        return {"snapshot_ids": list(self._kept), "bytes": self._bytes, "last_error": self._error}

    def holds(self, snapshot_id: str) -> bool:
        return snapshot_id in self._kept

    def get(self, snapshot_id: str, source: Any, held_id: str | None) -> Pin | None:
        """The pinned snapshot ``snapshot_id``: kept, or read once from
        ``source`` however many threads ask at a time; None when it cannot be
        read, and then not asked for again within the retry interval."""
        with self._lock:
            kept = self._kept.pop(snapshot_id, None)
            if kept is not None:
                self._kept[snapshot_id] = kept
                return kept
            if snapshot_id in self._refused:
                return None
            failed_at = self._failures.get(snapshot_id)
            if failed_at is not None and self._clock() - failed_at < self._retry:
                return None
            return self._load(snapshot_id, source, held_id)

    def _load(self, snapshot_id: str, source: Any, held_id: str | None) -> Pin | None:
        try:
            # The byte bound is the source's to apply from the generation's
            # head, before any chunk is read.
            snapshot, sequence, size = source.load_pinned(snapshot_id, max_bytes=self.max_bytes)
            if not size <= self.max_bytes:
                raise PinRefused(
                    "PINNED_TOO_LARGE",
                    f"snapshot {snapshot_id} is {size} bytes published, over the {self.max_bytes} bytes the pinned snapshots may hold",
                )
        except Exception as error:  # the token's own decisions still apply
            if isinstance(error, PinRefused):
                self._refused[snapshot_id] = None
                while len(self._refused) > REFUSED_IDS:
                    del self._refused[next(iter(self._refused))]
            else:
                self._failures.pop(snapshot_id, None)
                self._failures[snapshot_id] = self._clock()
                while len(self._failures) > FAILED_IDS:
                    del self._failures[next(iter(self._failures))]
            self._error = error
            self._log(
                "flagcore: cannot pin a request to snapshot %s (%s); answering from %s, with the token's decisions",
                snapshot_id,
                error,
                held_id,
            )
            return None
        pin = Pin(snapshot_id, snapshot, sequence, size)
        self._kept[snapshot_id] = pin
        self._bytes += size
        while len(self._kept) > self.max_snapshots or self._bytes > self.max_bytes:
            oldest = next(iter(self._kept))
            self._bytes -= self._kept.pop(oldest).size
        self._failures.pop(snapshot_id, None)
        self._error = None
        return pin


def answering(held: Snapshot | None, held_sequence: float, context: Any) -> Snapshot | None:
    """The snapshot to answer ``context`` from when the client holds ``held``
    (standing at ``held_sequence`` among the generations; infinite when
    unknown): for a pinned context, the pinned snapshot under ``held``'s kill
    switches, worked out again only when ``held``, or its place among the
    generations (a rollback publishes it again), changed."""
    if held is None or type(context) is not Context:
        return held
    pin: Pin | None = context._pin
    if pin is None:
        return held
    answered = pin.answered
    if answered is not None and answered[0] is held and answered[1] == held_sequence:
        return answered[2]
    snapshot = Snapshot.pinned(pin.snapshot, pin.sequence, held, _order(held_sequence))
    pin.answered = (held, held_sequence, snapshot)
    return snapshot


def _order(sequence: float) -> int:
    """A sequence as the core takes it: an unknown one (infinite) the
    newest of all."""
    return 2**63 - 1 if sequence == float("inf") else int(sequence)
