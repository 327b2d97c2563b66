# `world`, a Python Lambda: answers the canary for the user as `hello` decided
# (the token in the baggage header), then calls `edge` with the same header.
import json
import os
import time
import urllib.request
from typing import Any

from flagcore import FlagClient

flags = FlagClient(dynamodb_table=os.environ["FLAGS_TABLE"], ttl_seconds=float(os.environ.get("FLAGS_TTL_SECONDS", "15")))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = json.loads(event["body"])
    user = {"kind": "user", "key": body["userId"]}
    baggage = event["headers"].get("baggage")
    decided = flags.decide(user, baggage)
    snapshot = flags.snapshot()
    started = time.perf_counter_ns()
    canary = flags.bool_variation_detail("canary", decided, False)
    eval_ns = time.perf_counter_ns() - started
    own = flags.bool_variation("canary", user, False)  # what this function's snapshot says without the token
    request = urllib.request.Request(
        os.environ["EDGE_URL"], data=event["body"].encode(), method="POST",
        headers={"content-type": "application/json", **({"baggage": baggage} if baggage else {})},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        edge = json.loads(response.read())
    world = {"value": canary.value, "variationIndex": canary.variation_index, "reason": canary.reason,
             "evalNs": eval_ns, "snapshotId": snapshot.id if snapshot else None, "token": decided.token_status, "own": own}
    return {"statusCode": 200, "body": json.dumps({"world": world, "edge": edge})}
