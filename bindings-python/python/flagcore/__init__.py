"""flagcore: LaunchDarkly-format feature flags, evaluated by one Rust core, so
that Node, Python and edge functions give every user the same answer from the
same snapshot.

``Snapshot`` is flag data parsed once and evaluated without I/O;
``FlagClient`` keeps one fresh from a file, a URL, the Relay Proxy's
DynamoDB table, or flagcore's published layout (``PublishedSource``).
"""

from ._client import FlagClient, FlagScope
from ._native import CanaryError, Context, EditError, EvaluationDetail, FlagsState, Snapshot, SnapshotError, TokenError, __version__
from ._published import PublishedSource
from ._sources import DynamoDBSource, FileSource, UrlSource

__all__ = [
    "CanaryError",
    "Context",
    "DynamoDBSource",
    "EditError",
    "EvaluationDetail",
    "FileSource",
    "FlagClient",
    "FlagScope",
    "FlagsState",
    "PublishedSource",
    "Snapshot",
    "SnapshotError",
    "TokenError",
    "UrlSource",
    "__version__",
]
