"""The shared OpenFeature vectors (tests/vectors/openfeature): for each
OpenFeature evaluation context, the resolution FlagcoreProvider gives
(value, reason, variant, error code). Node's provider runs the same file."""

from __future__ import annotations

import json
from typing import Any

from conftest import vector_cases
from flagcore import FlagClient, Snapshot
from flagcore.openfeature import FlagcoreProvider
from openfeature.evaluation_context import EvaluationContext

GROUPS = vector_cases("openfeature")

RESOLVE = {
    "boolean": "resolve_boolean_details",
    "string": "resolve_string_details",
    "number": "resolve_float_details",
    "object": "resolve_object_details",
}


class Data:
    def __init__(self, text: str) -> None:
        self.text = text

    def describe(self) -> str:
        return "vectors"

    def load(self, current: Snapshot | None) -> Snapshot:
        return Snapshot.from_json(self.text)


def evaluation_context(context: dict[str, Any]) -> EvaluationContext:
    attributes = {k: v for k, v in context.items() if k != "targetingKey"}
    return EvaluationContext(targeting_key=context.get("targetingKey"), attributes=attributes)


def test_flagcore_provider_resolves_every_openfeature_vector() -> None:
    failures = []
    cases = 0
    for group in GROUPS:
        provider = FlagcoreProvider(FlagClient(Data(json.dumps(group["data"]))))
        for case in group["cases"]:
            cases += 1
            resolved = getattr(provider, RESOLVE[case["type"]])(case["flag"], case["default"], evaluation_context(case["context"]))
            got = {
                "value": resolved.value,
                "reason": None if resolved.reason is None else str(getattr(resolved.reason, "value", resolved.reason)),
                "variant": resolved.variant,
                "errorCode": None if resolved.error_code is None else str(getattr(resolved.error_code, "value", resolved.error_code)),
            }
            if got != case["expect"]:
                failures.append(f"{case['name']}: expected {case['expect']}, got {got}")
    print(f"openfeature vectors: {cases - len(failures)} passed, {len(failures)} failed")
    assert cases, "no OpenFeature vectors"
    assert failures == []
