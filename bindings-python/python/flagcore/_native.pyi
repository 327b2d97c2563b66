# Types of the native module; the package re-exports everything here.
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union, final

__version__: str

def refresh_deadlines(ttl: float, retry: float, has_snapshot: bool, checked_at: float, failed_at: float) -> Tuple[float, float, float]:
    """``(call, token, pin)``: from when a call refreshes first, a call with a
    token from a snapshot the client has not seen, and a pinned request may
    read its snapshot from the source (core/src/refresh.rs)."""
    ...

def published_limits() -> Tuple[int, int, int]:
    """``(head bytes, stored chunk bytes, snapshot bytes)``: the most a reader
    takes of a published head's text, of one stored (gzip) chunk, and of a
    snapshot's text from any source."""
    ...

def render_metrics(
    records: Mapping[str, Any],
    namespace: str,
    function_name: Optional[str] = None,
    timestamp_ms: Optional[float] = None,
) -> list[str]: ...

def canary_decide(plan: Mapping[str, Any], step: int, started_ms: float, now_ms: float, window: Mapping[str, Any]) -> Dict[str, Any]:
    """The guarded canary's decision at step ``step`` (from 0):
    ``{"action", "reason", "figures"}`` (core/src/canary/)."""
    ...

def canary_step(
    snapshot: "Snapshot",
    plan: Mapping[str, Any],
    now_ms: float,
    state: Optional[str] = None,
    window: Optional[Mapping[str, Any]] = None,
    window_error: Optional[str] = None,
) -> Dict[str, Any]:
    """One run of the canary's controller: ``{"action", "reason", "figures",
    "edit", "comment", "decisions", "decisionsLeftOut", "state"}``;
    ``decisions``: those the edit's history record holds."""
    ...

def canary_cloudwatch_request(
    plan: Mapping[str, Any],
    canary: int,
    control: int,
    start_ms: float,
    end_ms: float,
    namespace: str = "flagcore",
    function_name: Optional[str] = None,
) -> Optional[Dict[str, Any]]:
    """The GetMetricData request body for a step's window, or None while the
    step has no whole minute."""
    ...

def canary_cloudwatch_window(plan: Mapping[str, Any], pages: Optional[Sequence[Mapping[str, Any]]]) -> Dict[str, Any]:
    """The window the rule reads, from every page GetMetricData answered."""
    ...

__all__ = ["__version__", "published_limits", "refresh_deadlines", "render_metrics", "canary_decide", "canary_step", "canary_cloudwatch_request", "canary_cloudwatch_window", "CanaryError", "Context", "EditError", "EvaluationDetail", "FlagsState", "Snapshot", "SnapshotError", "TokenError", "ValueType"]

@final
class ValueType:
    """The type a flag's value must have when FlagClient asks for a value alone."""

    ANY: "ValueType"
    BOOL: "ValueType"
    INT: "ValueType"
    FLOAT: "ValueType"
    STR: "ValueType"

class SnapshotError(ValueError):
    """A snapshot that could not be read: ``code`` is stable, ``path`` points into the input."""

    code: str
    path: str
    message: str

class TokenError(ValueError):
    """A decision token that could not be issued: ``code`` is TOKEN_NO_KEY or TOKEN_INVALID_CONTEXT."""

    code: str

class CanaryError(ValueError):
    """A canary plan, state, window or answer refused: ``code`` (PLAN_INVALID, STATE_INVALID, WINDOW_INVALID, METRICS_INVALID) and ``path`` are stable."""

    code: str
    path: str
    message: str

class EditError(ValueError):
    """An edit that could not be made: ``code`` is stable (FLAG_NOT_FOUND, VARIATION_NOT_FOUND, PERCENT_INVALID, ...)."""

    code: str
    message: str

@final
class Context:
    """A context converted once, to pass instead of a dict when a handler
    evaluates several flags for the same user; with a decision token,
    upstream's decisions ride along."""

    def __new__(
        cls,
        context: Any,
        token: Union[str, bytes, bytearray, None] = None,
        signing_key: Optional[str] = None,
        now_ms: Optional[float] = None,
        max_ttl_seconds: Optional[float] = None,
        clock: Optional[Callable[[], float]] = None,
    ) -> "Context": ...
    @property
    def token_status(self) -> dict[str, Any]: ...
    @property
    def keys(self) -> list[Tuple[str, str]]: ...
    @property
    def canonical_key(self) -> Optional[str]: ...
    @property
    def valid(self) -> bool: ...
    @property
    def error(self) -> Optional[str]: ...
    @property
    def pinned_snapshot_id(self) -> Optional[str]: ...
    @property
    def _pin(self) -> Any: ...
    def _set_pin(self, pin: Any) -> None: ...

@final
class EvaluationDetail:
    def __new__(cls, value: Any, variation_index: Optional[int], reason: dict[str, Any]) -> "EvaluationDetail": ...
    @property
    def value(self) -> Any: ...
    @property
    def variation_index(self) -> Optional[int]: ...
    @property
    def reason(self) -> dict[str, Any]: ...
    def is_default_value(self) -> bool: ...

@final
class FlagsState:
    def __new__(cls, state: Mapping[str, Any]) -> "FlagsState": ...
    @property
    def valid(self) -> bool: ...
    def get_flag_value(self, key: str) -> Any: ...
    def get_flag_reason(self, key: str) -> Optional[dict[str, Any]]: ...
    def to_values_map(self) -> dict[str, Any]: ...
    def to_json_dict(self) -> dict[str, Any]: ...
    def to_json_string(self) -> str: ...

_Context = Union[Context, Mapping[str, Any]]

@final
class Snapshot:
    @staticmethod
    def from_json(data: Union[str, bytes, bytearray], prefix: Optional[str] = None) -> "Snapshot": ...
    @staticmethod
    def from_dynamodb_items(items: Sequence[Mapping[str, Any]], prefix: Optional[str] = None) -> "Snapshot": ...
    @staticmethod
    def from_published(head: str | bytes | bytearray, chunks: Iterable[bytes | bytearray | str]) -> "Snapshot": ...
    @staticmethod
    def published_head(text: str | bytes | bytearray) -> Dict[str, Any]: ...
    @staticmethod
    def published_generation_head(snapshot_id: str) -> str: ...
    @staticmethod
    def pinned(pinned: "Snapshot", pinned_sequence: int, held: "Snapshot", held_sequence: int) -> "Snapshot": ...
    def publish(self, now_ms: Optional[int] = None) -> Tuple[str, List[bytes]]: ...
    def edit(self, change: Mapping[str, Any]) -> "Snapshot": ...
    def publish_plan(
        self, previous: Union[str, bytes, bytearray, None], now_ms: Optional[int] = None, force: bool = False
    ) -> Optional[Dict[str, Any]]: ...
    @property
    def id(self) -> str: ...
    @property
    def flag_keys(self) -> Tuple[str, ...]: ...
    def variation(self, key: str, context: _Context, default: Any = None) -> Any: ...
    def variation_detail(self, key: str, context: _Context, default: Any = None) -> EvaluationDetail: ...
    def _counted(self, key: str, context: _Context, default: Any, value_type: ValueType) -> tuple[Any, Optional[int]]: ...
    def bool_variation(self, key: str, context: _Context, default: bool) -> bool: ...
    def bool_variation_detail(self, key: str, context: _Context, default: bool) -> EvaluationDetail: ...
    def int_variation(self, key: str, context: _Context, default: int) -> int: ...
    def int_variation_detail(self, key: str, context: _Context, default: int) -> EvaluationDetail: ...
    def float_variation(self, key: str, context: _Context, default: float) -> float: ...
    def float_variation_detail(self, key: str, context: _Context, default: float) -> EvaluationDetail: ...
    def string_variation(self, key: str, context: _Context, default: str) -> str: ...
    def string_variation_detail(self, key: str, context: _Context, default: str) -> EvaluationDetail: ...
    def json_variation(self, key: str, context: _Context, default: Any) -> Any: ...
    def json_variation_detail(self, key: str, context: _Context, default: Any) -> EvaluationDetail: ...
    def all_flags_state(
        self,
        context: _Context,
        *,
        client_side_only: bool = False,
        with_reasons: bool = False,
        details_only_for_tracked_flags: bool = False,
    ) -> FlagsState: ...
    def decision_token(
        self,
        context: _Context,
        flag_keys: Sequence[str],
        signing_key: Optional[str],
        ttl_seconds: float = 60.0,
        now_ms: Optional[float] = None,
    ) -> str: ...
    def source_problems(self) -> list[dict[str, str]]: ...
    def check(self) -> list[dict[str, str]]: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: str, /) -> bool: ...
