"""The cross-runtime corpus (tests/vectors/corpus) through the package, with
dicts and prepared Contexts: every answer must be the corpus's canonical JSON
(RFC 8785), byte for byte."""

from __future__ import annotations

import json
import os
import platform
from decimal import Decimal
from typing import Any

from conftest import METHODS, VECTORS
from flagcore import Context, Snapshot

# What the runner prints: the machine, and whether the wheel is an installed one (make test-dist).
LABEL = f"python, {platform.machine()}{', installed' if os.environ.get('FLAGCORE_INSTALLED') else ''}"

INDEX = json.loads((VECTORS / "index.json").read_text())


def number(value: float) -> str:
    """A double as ECMAScript prints it."""
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    text = "".join(map(str, digits))
    k, n = len(text), len(text) + int(exponent)
    if k <= n <= 21:
        body = text + "0" * (n - k)
    elif 0 < n <= 21:
        body = f"{text[:n]}.{text[n:]}"
    elif -6 < n <= 0:
        body = "0." + "0" * -n + text
    else:
        e = n - 1
        body = (text[0] + ("." + text[1:] if k > 1 else "")) + ("e+" if e >= 0 else "e-") + str(abs(e))
    return ("-" if value < 0 else "") + body


def canonical(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value) if abs(value) <= 2**53 else number(float(value))
    if isinstance(value, float):
        return number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
    return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{canonical(value[k])}" for k in keys) + "}"


def test_numbers_print_as_in_ecmascript() -> None:
    cases = {1.0: "1", 0.1: "0.1", 1.5e-7: "1.5e-7", 1e21: "1e+21", 1e20: "100000000000000000000", 123456.789: "123456.789", 0.000001: "0.000001", -2.5e-9: "-2.5e-9"}
    assert {f: number(f) for f in cases} == cases


def test_the_corpus_byte_for_byte() -> None:
    groups = []
    for line in (VECTORS / INDEX["corpus"][0]).read_text(encoding="utf-8").splitlines():
        group = json.loads(line)
        groups.append((group["data"], [(c, c["expect"]) for c in group["cases"]]))
    for name in INDEX["evaluation"]:
        for line in (VECTORS / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                groups.append((case["data"], [(case, canonical(case["expect"]))]))
    failures: list[str] = []
    passed = 0
    for data, cases in groups:
        snapshot = Snapshot.from_json(json.dumps(data))
        for case, expected in cases:
            method = getattr(snapshot, METHODS[case["valueType"]])
            for variant, context in (("dict", case["context"]), ("prepared", Context(case["context"]))):
                detail = method(case["flagKey"], context, case["default"])
                got = canonical({"value": detail.value, "variationIndex": detail.variation_index, "reason": detail.reason})
                if got == expected:
                    passed += 1
                else:
                    failures.append(f"[python] {case['id']} ({variant}): expected {expected}\n  got {got}")
    print(f"corpus ({LABEL}): {passed} passed, {len(failures)} failed")
    assert failures[:10] == []
