# `world`, a Python Lambda, where the new code path lives: it follows
# hello's answer (the token in the baggage header), calls `edge`, and
# measures its errors and latency for EMF, with the flag's variation as a
# dimension. The canary's guards watch these metrics.
#
# The path's work is simulated, drawn per request from DEMO_SEED: a latency
# of 100 ms ± 20 ms and 1% errors; with DEMO_BROKEN=1 the new path errs 5%
# of the time and takes 40 ms longer.
import json
import os
import random
import sys
import threading
import urllib.request
from typing import Any

from flagcore import FlagClient

FLAG = os.environ.get("FLAG_KEY", "new-checkout")
BROKEN = os.environ.get("DEMO_BROKEN") == "1"
SEED = os.environ.get("DEMO_SEED", "1")
_stdout = threading.Lock()


def log_line(line: str) -> None:
    """Standard output, one whole line at a time, where Lambda reads EMF."""
    with _stdout:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


flags = FlagClient(
    published={"directory": os.environ["FLAGS_DIRECTORY"]},
    ttl_seconds=float(os.environ.get("FLAGS_TTL_SECONDS", "5")),
    metrics_namespace=os.environ.get("METRICS_NAMESPACE", "flagcore"),
    metrics_writer=log_line,
)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The stand-in serves requests on threads, side by side: each request's
    # scope writes its measurements with the variation it was served.
    scope = flags.scope()
    body = json.loads(event["body"])
    user = {"kind": "user", "key": body["userId"]}
    baggage = event["headers"].get("baggage")
    decided = flags.decide(user, baggage)
    new_path = scope.bool_variation(FLAG, decided, False)
    request = urllib.request.Request(
        os.environ["EDGE_URL"], data=event["body"].encode(), method="POST",
        headers={"content-type": "application/json", **({"baggage": baggage} if baggage else {})},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        edge = json.loads(response.read())
    draw = random.Random(f"{SEED}:{body['request']}")
    bad = new_path and BROKEN
    error = draw.random() < (0.05 if bad else 0.01)
    latency = max(1.0, draw.gauss(100, 20) + (40 if bad else 0))
    scope.measure("Errors", 1 if error else 0, "Count")
    scope.measure("Latency", latency, "Milliseconds")
    scope.flush()
    world = {"value": new_path, "error": error, "latency": latency, "token": dict(decided.token_status)}
    return {"statusCode": 500 if error else 200, "body": json.dumps({"world": world, "edge": edge})}
