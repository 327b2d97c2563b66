"""Evaluations as OpenTelemetry ``feature_flag.evaluation`` span events, for
a client made with ``tracing=True`` (``opentelemetry-api`` is imported only
then)."""

from __future__ import annotations

from ._native import Context

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from ._native import EvaluationDetail


class Tracing:
    """Writes each evaluation on the active span, when one is recording."""

    def __init__(self, trace: Any) -> None:
        self._trace = trace

    @staticmethod
    def load() -> Tracing | None:
        """Tracing through ``opentelemetry-api``; None when it is not installed."""
        try:
            from opentelemetry import trace
        except ImportError:
            return None
        return Tracing(trace)

    def event(self, key: str, detail: EvaluationDetail, context: Any, version: Callable[[], str | None]) -> None:
        """One evaluation of ``key``: its reason, variation and context, and
        ``version()``, the id of the snapshot that answered (None without
        one), asked only when a span is recording."""
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
        answered = version()
        if answered is not None:
            attributes["feature_flag.version"] = answered
        span.add_event("feature_flag.evaluation", attributes)


def _context_id(context: Any) -> str:
    """``feature_flag.context.id``: the core's canonical key, empty for an invalid context."""
    prepared = context if isinstance(context, Context) else Context(context)
    return prepared.canonical_key or ""
