"""OpenFeature's reason names for flagcore's reasons, shared by the
OpenFeature provider and the OpenTelemetry span events (which need no
OpenFeature package)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping


def openfeature_reason(reason: Mapping[str, Any]) -> str:
    """``DISABLED``, ``TARGETING_MATCH``, ``SPLIT`` (a rollout in an
    experiment), ``DEFAULT`` (the fallthrough), ``ERROR`` or ``UNKNOWN``."""
    kind = reason.get("kind")
    split = bool(reason.get("inExperiment"))
    if kind == "OFF":
        return "DISABLED"
    if kind in ("TARGET_MATCH", "RULE_MATCH"):
        return "SPLIT" if split else "TARGETING_MATCH"
    if kind == "FALLTHROUGH":
        return "SPLIT" if split else "DEFAULT"
    if kind == "ERROR":
        return "ERROR"
    return "UNKNOWN"
