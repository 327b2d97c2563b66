"""Checked by `mypy --strict` (test_package.py), never run: the API's types as
a user's code meets them."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from flagcore import (
    Context,
    DynamoDBSource,
    EvaluationDetail,
    FileSource,
    FlagClient,
    FlagsState,
    Snapshot,
    SnapshotError,
    TokenError,
    UrlSource,
)


def typed(snapshot: Snapshot, client: FlagClient, user: dict[str, Any]) -> None:
    prepared = Context(user)
    on: bool = snapshot.bool_variation("f", prepared, False)
    count: int = snapshot.int_variation("f", user, 0)
    ratio: float = snapshot.float_variation("f", user, 0.5)
    name: str = client.string_variation("f", user, "x")
    detail: EvaluationDetail = client.variation_detail("f", user, None)
    index: Optional[int] = detail.variation_index
    kind: Any = detail.reason["kind"]
    state: FlagsState = snapshot.all_flags_state(user, with_reasons=True)
    text: str = state.to_json_string()
    keys: tuple[str, ...] = snapshot.flag_keys
    fresh: Optional[Snapshot] = client.snapshot()
    print(on, count, ratio, name, index, kind, text, keys, fresh, prepared.valid, prepared.error)


def sources() -> list[FlagClient]:
    return [
        FlagClient(file="flags.json"),
        FlagClient(url="https://flags.example.com/prod.json", ttl_seconds=30),
        FlagClient(dynamodb_table="flags", prefix="prod"),
        FlagClient(source=DynamoDBSource("flags", prefix="prod", consistent_read=False)),
        FlagClient(source=UrlSource("https://flags.example.com/prod.json", headers={"Authorization": "token"})),
        FlagClient(source=FileSource("flags.json"), retry_seconds=2, offline=False),
        FlagClient(offline=True),
    ]


def errors(text: bytes) -> Optional[Snapshot]:
    try:
        return Snapshot.from_json(text, prefix="prod")
    except SnapshotError as error:
        code: str = error.code
        path: str = error.path
        print(code, path)
        return None


def chain(client: FlagClient, header: Optional[str]) -> Optional[str]:
    user = {"kind": "user", "key": "u"}
    decided: Context = client.decide(user, header)
    applied: bool = decided.token_status["applied"]
    on: bool = client.bool_variation("canary", decided, False)
    print(applied, on)
    return client.decision_token(user, ["canary"], ttl_seconds=30)


def issued(snapshot: Snapshot) -> str:
    try:
        return snapshot.decision_token({"key": "u"}, ["canary"], "a key of sixteen+ bytes")
    except TokenError as error:
        return error.code


async def asynchronous(client: FlagClient) -> bool:
    snapshot = await client.snapshot_async()
    return snapshot is not None and snapshot.bool_variation("f", {"key": "k"}, False)


asyncio.run(asynchronous(FlagClient(offline=True)))
