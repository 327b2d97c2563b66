"""An OpenFeature provider (for ``openfeature-sdk``) answering from a
FlagClient::

    from openfeature import api
    from flagcore import FlagClient
    from flagcore.openfeature import FlagcoreProvider

    api.set_provider_and_wait(FlagcoreProvider(FlagClient(file="flags.json")))
    flags = api.get_client()
    flags.get_boolean_value("canary", False, EvaluationContext("user-1"))

Importing this module imports ``openfeature``; ``import flagcore`` does not.
Evaluations count in the client's metrics like any other.
"""

from __future__ import annotations

from typing import Any, Mapping

from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata

from ._client import FlagClient
from ._native import EvaluationDetail
from .openfeature_reasons import openfeature_reason

_ERRORS = {
    "CLIENT_NOT_READY": ErrorCode.PROVIDER_NOT_READY,
    "FLAG_NOT_FOUND": ErrorCode.FLAG_NOT_FOUND,
    "MALFORMED_FLAG": ErrorCode.PARSE_ERROR,
    "USER_NOT_SPECIFIED": ErrorCode.TARGETING_KEY_MISSING,
    "WRONG_TYPE": ErrorCode.TYPE_MISMATCH,
    "EXCEPTION": ErrorCode.GENERAL,
}


def to_context(context: EvaluationContext | None) -> dict[str, Any]:
    """An OpenFeature evaluation context as a LaunchDarkly context: the
    targeting key is the key, the ``kind`` attribute the kind (default
    ``user``), every other attribute an attribute; with ``kind: "multi"``,
    each other attribute is one kind's context (a dict with ``targetingKey``
    or ``key``)."""
    attributes = dict(context.attributes) if context is not None else {}
    targeting_key = context.targeting_key if context is not None else None

    def single(part: Mapping[str, Any], kind: str, key: Any) -> dict[str, Any]:
        out = {k: v for k, v in part.items() if k != "targetingKey"}
        out.setdefault("kind", kind)
        key = part.get("targetingKey", key)
        if key is not None:
            out["key"] = key
        return out

    if attributes.get("kind") == "multi":
        multi: dict[str, Any] = {"kind": "multi"}
        for kind, part in attributes.items():
            if kind != "kind" and isinstance(part, Mapping):
                multi[kind] = single(part, kind, None)
        return multi
    return single(attributes, "user", targeting_key)




class FlagcoreProvider(AbstractProvider):
    """OpenFeature's provider interface over a FlagClient."""

    def __init__(self, client: FlagClient) -> None:
        if not isinstance(client, FlagClient):
            raise TypeError("FlagcoreProvider takes a FlagClient")
        super().__init__()
        self.client = client

    def get_metadata(self) -> Metadata:
        return Metadata(name="flagcore")

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        self.client.snapshot()

    def _resolve(self, method: str, flag_key: str, default: Any, context: EvaluationContext | None) -> FlagResolutionDetails[Any]:
        detail: EvaluationDetail = getattr(self.client, method)(flag_key, to_context(context), default)
        metadata: dict[str, Any] = {}
        snapshot_id = self.client.status()["snapshot_id"]
        if snapshot_id:
            metadata["snapshotId"] = snapshot_id
        index = detail.variation_index
        if index is not None:
            metadata["variationIndex"] = index
        error = detail.reason.get("errorKind")
        return FlagResolutionDetails(
            value=detail.value,
            reason=Reason(openfeature_reason(detail.reason)),
            variant=None if index is None else str(index),
            error_code=_ERRORS.get(error, ErrorCode.GENERAL) if error else None,
            error_message=f"flagcore: {error}" if error else None,
            flag_metadata=metadata,
        )

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        return self._resolve("bool_variation_detail", flag_key, default_value, evaluation_context)

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self._resolve("string_variation_detail", flag_key, default_value, evaluation_context)

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        resolved = self._resolve("float_variation_detail", flag_key, default_value, evaluation_context)
        if resolved.error_code is None and not (isinstance(resolved.value, int) or float(resolved.value).is_integer()):
            return _mismatch(flag_key, default_value, "an integer", resolved)
        if resolved.error_code is None:
            resolved.value = int(resolved.value)
        return resolved

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        resolved = self._resolve("float_variation_detail", flag_key, default_value, evaluation_context)
        if resolved.error_code is None:
            resolved.value = float(resolved.value)
        return resolved

    def resolve_object_details(
        self, flag_key: str, default_value: Any, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[Any]:
        resolved = self._resolve("json_variation_detail", flag_key, default_value, evaluation_context)
        if resolved.error_code is None and not isinstance(resolved.value, (dict, list)):
            return _mismatch(flag_key, default_value, "a JSON object or array", resolved)
        return resolved


def _mismatch(flag_key: str, default: Any, wanted: str, resolved: FlagResolutionDetails[Any]) -> FlagResolutionDetails[Any]:
    return FlagResolutionDetails(
        value=default,
        reason=Reason.ERROR,
        error_code=ErrorCode.TYPE_MISMATCH,
        error_message=f"{flag_key} is not {wanted}",
        flag_metadata=resolved.flag_metadata,
    )
