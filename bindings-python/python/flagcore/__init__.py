"""flagcore: LaunchDarkly-format feature flags, evaluated by one Rust core, so
that Node, Python and edge functions give every user the same answer from the
same snapshot.

``Snapshot`` is flag data parsed once and evaluated without I/O;
``FlagClient`` keeps one fresh from a file, a URL or the Relay Proxy's
DynamoDB table.
"""

from ._client import FlagClient
from ._native import Context, EvaluationDetail, FlagsState, Snapshot, SnapshotError, TokenError
from ._sources import DynamoDBSource, FileSource, UrlSource

__all__ = [
    "Context",
    "DynamoDBSource",
    "EvaluationDetail",
    "FileSource",
    "FlagClient",
    "FlagsState",
    "Snapshot",
    "SnapshotError",
    "TokenError",
    "UrlSource",
]
