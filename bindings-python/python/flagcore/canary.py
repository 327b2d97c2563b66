"""The guarded canary's rule, its CloudWatch window and its controller's
step (core/src/canary/): what ``flagcore canary run`` decides, for a
controller in Python. Plans, windows and answers are dicts; a refusal raises
``CanaryError`` with a ``code`` and a JSON ``path``.

    from flagcore import canary
    canary.decide(plan, step, started_ms, now_ms, window)
    canary.step(snapshot, plan, now_ms, state=..., window=...)
"""

from __future__ import annotations

from ._native import CanaryError
from ._native import canary_cloudwatch_request as cloudwatch_request
from ._native import canary_cloudwatch_window as cloudwatch_window
from ._native import canary_decide as decide
from ._native import canary_step as step

__all__ = ["CanaryError", "cloudwatch_request", "cloudwatch_window", "decide", "step"]
