# A Python Lambda handler behind a canary flag (examples/snapshot.json).
import json
import os
from typing import Any

from flagcore import FlagClient

flags = FlagClient(file=os.environ.get("FLAGS_FILE", "flags.json"), ttl_seconds=30)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    user = {"kind": "user", "key": event["userId"], "email": event.get("email")}
    new_checkout = flags.bool_variation("new-checkout", user, False)
    theme = flags.string_variation("checkout-theme", user, "classic")
    return {"statusCode": 200, "body": json.dumps({"checkout": "v2" if new_checkout else "v1", "theme": theme})}
