"""The shared metrics vectors (tests/vectors/metrics): a sequence of
FlagClient calls, and the evaluation counts per flag and variation that
flush() writes as EMF. Node's client runs the same file."""

from __future__ import annotations

import json
import logging
from typing import Any

from conftest import vector_cases
from flagcore import FlagClient, Snapshot

GROUPS = vector_cases("metrics")

METHODS = {
    "variation": "variation",
    "variationDetail": "variation_detail",
    "bool": "bool_variation",
    "boolDetail": "bool_variation_detail",
    "string": "string_variation",
    "stringDetail": "string_variation_detail",
    "number": "float_variation",
    "numberDetail": "float_variation_detail",
    "json": "json_variation",
}


class Data:
    def __init__(self, text: str | None) -> None:
        self.text = text

    def describe(self) -> str:
        return "vectors"

    def load(self, current: Snapshot | None) -> Snapshot:
        if self.text is None:
            raise OSError("no snapshot")
        return Snapshot.from_json(self.text)


def counts(lines: list[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for doc in map(json.loads, lines):
        if "Evaluations" in doc:
            out.setdefault(doc["FlagKey"], {})[doc["Variation"]] = doc["Evaluations"]
    return out


def test_flag_client_counts_every_metrics_vector_as_flush_writes_it() -> None:
    quiet = logging.getLogger("flagcore.vectors")
    quiet.disabled = True
    failures = []
    for group in GROUPS:
        text = None if group["data"] is None else json.dumps(group["data"])
        client = FlagClient(Data(text), metrics_writer=lambda line: None, logger=quiet)
        for call in group["calls"]:
            if call["method"] == "allFlagsState":
                client.all_flags_state(call["context"])
            else:
                method: Any = getattr(client, METHODS[call["method"]])
                method(call["flag"], call["context"], call["default"])
        got = counts(client.flush())
        if got != group["expect"]:
            failures.append(f"{group['name']}: expected {group['expect']}, got {got}")
    print(f"metrics vectors: {len(GROUPS) - len(failures)} passed, {len(failures)} failed")
    assert GROUPS, "no metrics vectors"
    assert failures == []
