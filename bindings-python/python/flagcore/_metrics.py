"""What a FlagClient counts for ``flush()``: evaluations per flag and
variation, and the handler's own measurements, written as CloudWatch
Embedded Metric Format lines that the core renders."""

from __future__ import annotations

import _thread

from ._native import render_metrics

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

# The names evaluation counts use for variations, made once.
_VARIATION_NAMES = tuple(str(i) for i in range(64))


class Metrics:
    """One client's counts since the last ``flush()``. Threads sharing a
    client count under one lock: no increment is lost."""

    def __init__(
        self,
        namespace: str,
        function_name: str | None,
        write: Callable[[str], Any] | None,
        clock: Callable[[], float],
        log: Callable[..., None],
    ) -> None:
        self._namespace = namespace
        self._function_name = function_name
        self._write = write
        self._clock = clock
        self._log = log
        self._evaluations: dict[str, dict[str, int]] = {}
        self._measurements: list[dict[str, Any]] = []
        self._lock = _thread.allocate_lock()

    def fresh(self) -> Metrics:
        """Counts of their own, written where these are (a request's scope)."""
        return Metrics(self._namespace, self._function_name, self._write, self._clock, self._log)

    def after_fork(self) -> None:
        """A lock held by another thread at fork would stay held in the child."""
        self._lock = _thread.allocate_lock()

    def count(self, key: str, index: int | None) -> None:
        """Counts an evaluation of ``key`` by variation (``default`` without one)."""
        if type(key) is not str:
            key = str(key)  # a key that is not text named no flag; it counts as its text
        if index is None:
            variation = "default"
        else:
            variation = _VARIATION_NAMES[index] if index < 64 else str(index)
        with self._lock:
            per_flag = self._evaluations.get(key)
            if per_flag is None:
                per_flag = self._evaluations[key] = {}
            per_flag[variation] = per_flag.get(variation, 0) + 1

    def measure(self, name: str, value: float, unit: str) -> None:
        """Records a measurement; one that cannot be written is left out, never raised."""
        try:
            measurement = {"name": _well_formed(name), "value": float(value), "unit": _well_formed(unit)}
        except Exception as error:  # whatever the values' own methods raise
            self._log("flagcore: measure(%r, %r, %r) left out: %s", name, value, unit, error)
            return
        with self._lock:
            self._measurements.append(measurement)

    def flush(self) -> list[str]:
        """Writes the counts and measurements as EMF lines and starts afresh."""
        with self._lock:
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
