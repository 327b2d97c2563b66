"""flagcore beside LaunchDarkly's Python SDK, in one run, on the core
benchmark's snapshot: per-evaluation time for both flags, and cold start in a
fresh interpreter. `make bench-python` installs the x86_64 wheel of `make dist`
into a folder of its own and runs this on it.

    python bench/bench.py SNAPSHOT.json
"""

from __future__ import annotations

import itertools
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit
from typing import Any

import flagcore
from flagcore import Context, FlagClient, Snapshot

# `make bench-python` measures the wheel of `make dist`, installed with pip
# into a folder of its own (FLAGCORE_INSTALLED, first on PYTHONPATH).
_INSTALLED = os.environ.get("FLAGCORE_INSTALLED")
if not _INSTALLED or not os.path.realpath(flagcore.__file__).startswith(os.path.realpath(_INSTALLED)):
    raise SystemExit(f"flagcore came from {flagcore.__file__}, not the installed wheel named by FLAGCORE_INSTALLED")

CONTEXT = {"kind": "user", "key": "user-000042", "email": "dana@customer.example", "country": "US"}
FLAGS = [
    ("new-checkout", False, "(a) bool flag, 10%/90% rollout"),
    ("checkout-theme", "classic", "(b) string flag: 3 rules (1,000-key segment) + rollout"),
]


# The way a handler pays: distinct users (a repeated dict would hide the
# cost of converting it), a new user dict per request, five flags per request.
USERS = 20000
COUNTRIES = ["US", "DE", "FR", "JP", "BR"]
REQUEST_FLAGS = [("new-checkout", False), ("checkout-theme", "classic"), ("max-cart-items", 50), ("payment-provider", "legacy"), ("maintenance-banner", None)]


def user(i: int) -> dict[str, Any]:
    n = i % USERS
    return {"kind": "user", "key": f"user-{n}", "email": f"u{n}@customer.example", "country": COUNTRIES[n % len(COUNTRIES)]}


def launchdarkly(path: str) -> Any:
    from ldclient.client import LDClient
    from ldclient.config import Config
    from ldclient.integrations import Files

    logging.getLogger("ldclient").setLevel(logging.ERROR)
    config = Config("sdk-key-not-used", update_processor_class=Files.new_data_source(paths=[path]), send_events=False, diagnostic_opt_out=True)
    client = LDClient(config=config, start_wait=30)
    assert client.is_initialized()
    return client


def time_rounds(contenders: list[tuple[str, int]], names: dict[str, Any], rounds: int = 15) -> list[float]:
    """Median ns per call of each contender (a statement, timed by timeit in
    a loop of its own, with no wrapper call); rounds alternate between them,
    so machine noise hits all alike."""
    timers = [(timeit.Timer(statement, globals=names), n) for statement, n in contenders]
    samples: list[list[float]] = [[] for _ in contenders]
    for _ in range(rounds):
        for i, (timer, n) in enumerate(timers):
            samples[i].append(timer.timeit(n) * 1e9 / n)
    return [statistics.median(s) for s in samples]


OURS_COLD = """
import time; t = time.perf_counter_ns()
import sys, flagcore
with open(sys.argv[1], 'rb') as f: s = flagcore.Snapshot.from_json(f.read())
s.variation('new-checkout', {'kind': 'user', 'key': 'u'}, False)
print(time.perf_counter_ns() - t)
"""

THEIRS_COLD = """
import time; t = time.perf_counter_ns()
import sys, logging
from ldclient import Context
from ldclient.client import LDClient
from ldclient.config import Config
from ldclient.integrations import Files
logging.getLogger('ldclient').setLevel(logging.ERROR)
c = LDClient(config=Config('k', update_processor_class=Files.new_data_source(paths=[sys.argv[1]]), send_events=False, diagnostic_opt_out=True), start_wait=30)
c.variation('new-checkout', Context.from_dict({'kind': 'user', 'key': 'u'}), False)
print(time.perf_counter_ns() - t)
c.close()
"""


def cold_starts(scripts: list[str], path: str, runs: int = 9) -> list[tuple[float, float]]:
    """For each script: median ns from the first statement to the first
    answer, and of the whole process (interpreter start included), over
    fresh interpreters, the scripts run in turn so that all see the same machine."""
    inner: list[list[float]] = [[] for _ in scripts]
    whole: list[list[float]] = [[] for _ in scripts]
    for _ in range(runs):
        for n, script in enumerate(scripts):
            start = time.perf_counter_ns()
            out = subprocess.run([sys.executable, "-c", script, path], capture_output=True, text=True, check=True)
            whole[n].append(time.perf_counter_ns() - start)
            inner[n].append(float(out.stdout.strip().splitlines()[-1]))
    return [(statistics.median(i), statistics.median(w)) for i, w in zip(inner, whole)]


def show(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def main() -> None:
    path = sys.argv[1]
    with open(path, "rb") as file:
        data = file.read()
    snapshot = Snapshot.from_json(data)
    prepared = Context(CONTEXT)
    client = launchdarkly(path)
    from ldclient import Context as LDContext

    ld_context = LDContext.from_dict(CONTEXT)
    distinct = itertools.cycle([user(i) for i in range(USERS)])
    ld_distinct = itertools.cycle([LDContext.from_dict(user(i)) for i in range(USERS)])
    rows = []
    for key, default, label in FLAGS:
        ours = snapshot.variation_detail(key, CONTEXT, default)
        theirs = client.variation_detail(key, ld_context, default)
        if (ours.variation_index, ours.reason) != (theirs.variation_index, theirs.reason):
            raise SystemExit(f"{key}: flagcore {ours} but LaunchDarkly {theirs.variation_index} {theirs.reason}")
        names = {"snapshot": snapshot, "prepared": prepared, "distinct": distinct, "ld_distinct": ld_distinct, "client": client, "key": key, "default": default}
        prep, plain, detail, ld_value, ld_detail = time_rounds([
            ("snapshot.variation(key, prepared, default)", 20000),
            ("snapshot.variation(key, next(distinct), default)", 20000),
            ("snapshot.variation_detail(key, prepared, default)", 20000),
            ("client.variation(key, next(ld_distinct), default)", 500),
            ("client.variation_detail(key, next(ld_distinct), default)", 500),
        ], names)
        rows.append((f"{label}: variation, prepared Context", prep, ld_value))
        rows.append((f"{label}: variation, plain dict (20,000 distinct)", plain, ld_value))
        rows.append((f"{label}: variation_detail, prepared Context", detail, ld_detail))
    flags = FlagClient(file=path)
    for i in range(500):
        for key, default in REQUEST_FLAGS:
            ours = flags.variation_detail(key, user(i), default)
            theirs = client.variation_detail(key, LDContext.from_dict(user(i)), default)
            if ours.variation_index != theirs.variation_index:
                raise SystemExit(f"{key} for {user(i)}: flagcore {ours} but LaunchDarkly {theirs.variation_index} {theirs.reason}")
    counter = itertools.count()

    def client_request() -> None:
        u = user(next(counter))
        for key, default in REQUEST_FLAGS:
            flags.variation(key, u, default)

    def context_request() -> None:
        c = Context(user(next(counter)))
        for key, default in REQUEST_FLAGS:
            snapshot.variation(key, c, default)

    def ld_request() -> None:
        c = LDContext.from_dict(user(next(counter)))
        for key, default in REQUEST_FLAGS:
            client.variation(key, c, default)

    per_client, per_context, per_ld = time_rounds(
        [("client_request()", 2000), ("context_request()", 2000), ("ld_request()", 200)],
        {"client_request": client_request, "context_request": context_request, "ld_request": ld_request},
    )
    request_rows = [
        ("FlagClient, a plain user dict: 5 × `client.variation`", per_client, per_ld),
        ("`Context(user)`, then 5 × `snapshot.variation`", per_context, per_ld),
    ]
    client.close()

    (ours_inner, ours_whole), (theirs_inner, theirs_whole) = cold_starts([OURS_COLD, THEIRS_COLD], path)
    rows.append(("cold start: import + parse + first evaluation (fresh interpreter)", ours_inner, theirs_inner))
    rows.append(("cold start, whole process (interpreter start included)", ours_whole, theirs_whole))

    print(f"flagcore from {flagcore.__file__}")
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores; snapshot {len(data) / 1e6:.2f} MB, {len(snapshot)} flags")
    print("| benchmark | flagcore | LaunchDarkly Python SDK | LaunchDarkly ÷ flagcore |")
    print("|---|---|---|---|")
    for label, ours_ns, theirs_ns in rows:
        print(f"| {label} | {show(ours_ns)} | {show(theirs_ns)} | {theirs_ns / ours_ns:.1f}× |")
    print(f"\nPer request: {USERS:,} distinct users, a new user dict per request, {len(REQUEST_FLAGS)} flags each;"
          " LaunchDarkly: `Context.from_dict(user)`, then 5 × `client.variation`.")
    print("| path, per request | flagcore | LaunchDarkly Python SDK | LaunchDarkly ÷ flagcore |")
    print("|---|---|---|---|")
    for label, ours_ns, theirs_ns in request_rows:
        print(f"| {label} | {show(ours_ns)} | {show(theirs_ns)} | {theirs_ns / ours_ns:.1f}× |")


if __name__ == "__main__":
    main()
