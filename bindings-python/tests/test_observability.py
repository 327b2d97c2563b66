"""Canary observability through the package: CloudWatch EMF lines from
FlagClient.flush(), checked against the EMF specification's schema
(tests/emf/schema.json) and CloudWatch's rules; the OpenFeature provider
through the real openfeature-sdk; OpenTelemetry span events."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import jsonschema
from openfeature import api as openfeature
from openfeature.evaluation_context import EvaluationContext
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from conftest import ROOT
from flagcore import FlagClient, Snapshot
from flagcore.openfeature import FlagcoreProvider

SCHEMA = json.loads((ROOT / "tests" / "emf" / "schema.json").read_text())
SNAPSHOT = json.dumps({"flags": {
    "canary": {"key": "canary", "version": 3, "on": True, "salt": "canary", "variations": [False, True], "offVariation": 0,
               "fallthrough": {"rollout": {"variations": [{"variation": 1, "weight": 30000}, {"variation": 0, "weight": 70000}]}}},
    "theme": {"key": "theme", "version": 1, "on": True, "variations": ["classic", "dark"], "offVariation": 0,
              "rules": [{"id": "staff", "clauses": [{"attribute": "email", "op": "endsWith", "values": ["@corp.example"]}], "variation": 1}],
              "fallthrough": {"variation": 0}},
    "layout": {"key": "layout", "version": 1, "on": True, "variations": [{"columns": 3}], "fallthrough": {"variation": 0}},
    "retired": {"key": "retired", "version": 9, "on": False, "variations": [True, False], "offVariation": 1, "fallthrough": {"variation": 0}},
}})


class Memory:
    def describe(self) -> str:
        return "memory"

    def load(self, current: Snapshot | None) -> Snapshot:
        return Snapshot.from_json(SNAPSHOT)


def memory_client(**options: Any) -> tuple[FlagClient, list[str]]:
    lines: list[str] = []
    client = FlagClient(Memory(), metrics_namespace="canary-test", function_name="checkout", metrics_writer=lines.append, **options)
    return client, lines


def check_emf(line: str) -> dict[str, Any]:
    """The EMF schema, then CloudWatch's rules for the root: dimensions are
    strings, metrics numbers (at most 100)."""
    doc: dict[str, Any] = json.loads(line)
    jsonschema.validate(doc, SCHEMA)
    for directive in doc["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for name in dimension_set:
                assert isinstance(doc[name], str), f"dimension {name} of {line}"
        for metric in directive["Metrics"]:
            value = doc[metric["Name"]]
            values = value if isinstance(value, list) else [value]
            assert 1 <= len(values) <= 100 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values), line
    return doc


def test_the_schema_refuses_a_bad_line() -> None:
    try:
        jsonschema.validate({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "n", "Dimensions": [["a"] * 31], "Metrics": []}]}}, SCHEMA)
    except jsonschema.ValidationError:
        return
    raise AssertionError("31 dimensions passed the schema")


def test_1000_invocations_through_openfeature_count_every_evaluation() -> None:
    client, lines = memory_client()
    openfeature.set_provider_and_wait(FlagcoreProvider(client))
    flags = openfeature.get_client()
    made: Counter[tuple[str, str]] = Counter()
    for i in range(1000):
        user = EvaluationContext(f"user-{i}", {"email": f"u{i}@corp.example" if i % 10 == 0 else f"u{i}@shop.test"})
        canary = flags.get_boolean_details("canary", False, user)
        theme = flags.get_string_details("theme", "classic", user)
        made[("canary", canary.variant or "default")] += 1
        made[("theme", theme.variant or "default")] += 1
        client.measure("Latency", 80 + i % 7 if canary.value else 120 + i % 5, "Milliseconds")
        client.measure("Errors", 1 if i % 50 == 0 else 0, "Count")
        client.flush()
    counted: Counter[tuple[str, str]] = Counter()
    measured = 0
    for line in lines:
        doc = check_emf(line)
        assert doc["FunctionName"] == "checkout" and doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "canary-test"
        if "Evaluations" in doc:
            counted[(doc["FlagKey"], doc["Variation"])] += doc["Evaluations"]
        else:
            measured += 1
            assert doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["FunctionName"], ["FunctionName", "canary"], ["FunctionName", "theme"]]
    assert counted == made and measured == 1000
    assert made[("canary", "1")] > 200 and made[("canary", "0")] > 600
    openfeature.shutdown()


def test_requests_served_at_once_each_in_its_own_scope_keep_their_own_variation() -> None:
    client, lines = memory_client()
    client.snapshot()
    barrier = threading.Barrier(8)

    def serve(first: int) -> None:
        for i in range(first, 200, 8):
            flags = client.scope()
            on = flags.bool_variation("canary", {"kind": "user", "key": f"user-{i}"}, False)
            if i < 8:
                barrier.wait(timeout=30)  # every thread has evaluated before any measures
            time.sleep((i * 7 % 5) / 2000)  # other requests evaluate and flush meanwhile
            flags.measure("Latency", 1000 + i if on else i, "Milliseconds")
            flags.flush()

    threads = [threading.Thread(target=serve, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    measured = evaluations = 0
    for line in lines:
        doc = check_emf(line)
        evaluations += doc.get("Evaluations", 0)
        if "Latency" in doc:
            measured += 1
            assert doc["canary"] == ("1" if doc["Latency"] >= 1000 else "0"), f"a measurement with another request's variation: {line}"
    assert measured == 200 and evaluations == 200
    # The client's own flush holds none of the scopes' counts.
    assert client.flush() == []


def test_reasons_and_errors_map_to_openfeatures() -> None:
    client, _ = memory_client()
    openfeature.set_provider_and_wait(FlagcoreProvider(client))
    flags = openfeature.get_client()
    snapshot = client.snapshot()
    assert snapshot is not None
    user = EvaluationContext("user-1", {"email": "ana@corp.example"})
    rule = flags.get_string_details("theme", "classic", user)
    assert (rule.value, rule.variant, rule.reason, dict(rule.flag_metadata)) == ("dark", "1", "TARGETING_MATCH", {"snapshotId": snapshot.id, "variationIndex": 1})
    assert flags.get_string_details("theme", "x", EvaluationContext("user-2")).reason == "DEFAULT"
    assert flags.get_boolean_details("retired", True, user).reason == "DISABLED"
    assert flags.get_object_details("layout", {}, user).value == {"columns": 3}
    for detail, code in [
        (flags.get_boolean_details("no-such-flag", True, user), "FLAG_NOT_FOUND"),
        (flags.get_boolean_details("theme", True, user), "TYPE_MISMATCH"),
        (flags.get_object_details("canary", {"fallback": 1}, user), "TYPE_MISMATCH"),
        (flags.get_boolean_details("canary", True, EvaluationContext(None, {"email": "no key"})), "TARGETING_KEY_MISSING"),
    ]:
        assert (detail.error_code, detail.reason) == (code, "ERROR"), detail
    multi = EvaluationContext(None, {"kind": "multi", "user": {"targetingKey": "user-7"}, "org": {"targetingKey": "acme", "plan": "pro"}})
    native = snapshot.bool_variation_detail("canary", {"kind": "multi", "user": {"key": "user-7"}, "org": {"key": "acme", "plan": "pro"}}, False)
    assert flags.get_boolean_details("canary", False, multi).variant == str(native.variation_index)
    openfeature.shutdown()
    openfeature.set_provider_and_wait(FlagcoreProvider(FlagClient(offline=True)))
    cold = openfeature.get_client().get_boolean_details("canary", False, user)
    assert (cold.value, cold.error_code) == (False, "PROVIDER_NOT_READY")
    openfeature.shutdown()


def test_with_tracing_evaluations_become_span_events() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    client, _ = memory_client(tracing=True)
    quiet, _ = memory_client()
    with tracer.start_as_current_span("handler"):
        client.bool_variation("canary", {"kind": "user", "key": "user-1"}, False)
        client.string_variation("no-such-flag", {"kind": "multi", "org": {"key": "o"}}, "x")
        quiet.bool_variation("canary", {"kind": "user", "key": "user-1"}, False)
    client.bool_variation("canary", {"kind": "user", "key": "user-1"}, False)  # no span: no event
    [span] = exporter.get_finished_spans()
    assert len(span.events) == 2
    hit, miss = span.events
    snapshot = client.snapshot()
    assert snapshot is not None
    assert hit.name == "feature_flag.evaluation"
    assert dict(hit.attributes or {}) == {
        "feature_flag.key": "canary",
        "feature_flag.provider.name": "flagcore",
        "feature_flag.result.reason": "default",
        "feature_flag.result.variant": str(snapshot.bool_variation_detail("canary", {"key": "user-1"}, False).variation_index),
        "feature_flag.context.id": "user-1",
        "feature_flag.version": snapshot.id,
    }
    assert (miss.attributes or {})["error.type"] == "FLAG_NOT_FOUND"
    # The canonical key, from the core (tests/vectors/contexts): Node's span says the same.
    assert (miss.attributes or {})["feature_flag.context.id"] == "org:o"
    assert trace.get_current_span().is_recording() is False


def test_without_tracing_opentelemetry_is_never_imported() -> None:
    script = (
        "import sys, flagcore\n"
        "c = flagcore.FlagClient(offline=True)\n"
        "c.bool_variation('canary', {'key': 'u'}, False)\n"
        "print(any(m.startswith(('opentelemetry', 'openfeature')) for m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
