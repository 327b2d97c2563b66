"""Snapshot and Context as a Python user meets them: inputs, errors, totality,
shared values, threads, fork and asyncio."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from decimal import Decimal
from typing import Any

import pytest

from conftest import EXAMPLES
from flagcore import Context, EvaluationDetail, FlagClient, FlagsState, Snapshot, SnapshotError

TEXT = (EXAMPLES / "snapshot.json").read_text()
USER = {"kind": "user", "key": "user-1", "email": "ana@example.com"}


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return Snapshot.from_json(TEXT)


def flag(key: str, variations: list[Any], **extra: Any) -> dict[str, Any]:
    return {"key": key, "version": 1, "on": True, "variations": variations, "fallthrough": {"variation": 0}, **extra}


def test_str_bytes_and_bytearray_give_one_snapshot(snapshot: Snapshot) -> None:
    assert Snapshot.from_json(TEXT.encode()).id == snapshot.id
    assert Snapshot.from_json(bytearray(TEXT.encode())).id == snapshot.id
    with pytest.raises(TypeError, match="str, bytes or bytearray"):
        Snapshot.from_json(json.loads(TEXT))


def test_a_bad_snapshot_raises_snapshot_error_with_code_and_path() -> None:
    with pytest.raises(SnapshotError) as raised:
        Snapshot.from_json('{"flags": {"a": {"key": "a", "variations": 3}}}')
    error = raised.value
    assert isinstance(error, ValueError)
    assert (error.code, error.path) == ("FLAG_INVALID", '$.flags.a.variations')
    assert error.message and str(error) == f"{error.code} at {error.path}: {error.message}"


def test_dynamodb_items_from_the_client_and_the_resource_api() -> None:
    banner = flag("banner", ["a", "b"], version=3)
    typed = [{"namespace": {"S": "features"}, "key": {"S": "banner"}, "version": {"N": "3"}, "item": {"S": json.dumps(banner)}}]
    # boto3's resource API unmarshals numbers into Decimal.
    plain = [{"namespace": "features", "key": "banner", "version": Decimal(3), "item": json.dumps(banner)}]
    one, two = Snapshot.from_dynamodb_items(typed), Snapshot.from_dynamodb_items(plain)
    assert one.id == two.id and one.flag_keys == ("banner",)
    assert one.variation("banner", USER) == "a"
    with pytest.raises(SnapshotError) as raised:
        Snapshot.from_dynamodb_items([{"namespace": {"S": "features"}, "key": {"N": "1"}}])
    assert (raised.value.code, raised.value.path) == ("DYNAMODB_ITEM_INVALID", "$[0].key")
    with pytest.raises(TypeError):
        Snapshot.from_dynamodb_items([{"namespace": object()}])


def test_details_have_launchdarklys_shapes(snapshot: Snapshot) -> None:
    detail = snapshot.variation_detail("search-ranking", USER, "none")
    assert isinstance(detail, EvaluationDetail)
    assert detail.reason == {"kind": "FALLTHROUGH", "inExperiment": True}
    assert detail == EvaluationDetail(detail.value, detail.variation_index, dict(detail.reason))
    assert not detail.is_default_value()
    missing = snapshot.variation_detail("no-such-flag", USER, 7)
    assert (missing.value, missing.variation_index, missing.reason) == (7, None, {"kind": "ERROR", "errorKind": "FLAG_NOT_FOUND"})
    assert missing.is_default_value()
    assert "FLAG_NOT_FOUND" in repr(missing)


def test_typed_methods_refuse_other_types(snapshot: Snapshot) -> None:
    themes = json.loads(TEXT)["flags"]["checkout-theme"]["variations"]
    assert snapshot.string_variation("checkout-theme", USER, "x") in themes
    wrong = snapshot.bool_variation_detail("checkout-theme", USER, False)
    assert (wrong.value, wrong.reason["errorKind"]) == (False, "WRONG_TYPE")
    assert isinstance(snapshot.int_variation("max-cart-items", USER, 0), int)
    assert isinstance(snapshot.float_variation("max-cart-items", USER, 0.0), (int, float))


def test_int_variation_truncates_toward_zero() -> None:
    s = Snapshot.from_json(json.dumps({"flags": {"n": flag("n", [-2.7])}}))
    assert s.int_variation("n", USER, 0) == -2
    assert s.float_variation("n", USER, 0.0) == -2.7


@pytest.mark.parametrize(
    "context",
    [None, {}, {"kind": "user"}, {"key": 5}, {1: "x"}, {"kind": "user", "key": "k", "tags": {1, 2}}, object(), "user-1", [USER]],
    ids=["none", "empty", "no-key", "number-key", "int-dict-key", "set-attribute", "object", "string", "list"],
)
def test_evaluation_never_raises_for_bad_contexts(snapshot: Snapshot, context: Any) -> None:
    detail = snapshot.variation_detail("new-checkout", context, "default")
    assert (detail.value, detail.reason) == ("default", {"kind": "ERROR", "errorKind": "USER_NOT_SPECIFIED"})
    assert not Context(context).valid and Context(context).error
    assert snapshot.all_flags_state(context).valid is False


def test_a_cyclic_context_is_invalid_not_a_crash(snapshot: Snapshot) -> None:
    cyclic: dict[str, Any] = {"kind": "user", "key": "k"}
    cyclic["self"] = cyclic
    assert snapshot.variation_detail("new-checkout", cyclic, 0).reason["errorKind"] == "USER_NOT_SPECIFIED"


def test_values_nest_at_most_127_levels_as_a_snapshots_text_does(snapshot: Snapshot) -> None:
    """The bound of the core's JSON parser, for dicts and lists too (docs/bounds.md)."""

    def nested(levels: int) -> dict[str, Any]:
        value: Any = 1
        for _ in range(levels - 1):
            value = [value]
        return {"key": "k", "a": value}

    assert Context(nested(127)).valid
    deep = Context(nested(128))
    assert not deep.valid
    assert snapshot.variation_detail("new-checkout", nested(128), False).reason == {"kind": "ERROR", "errorKind": "USER_NOT_SPECIFIED"}
    item = {"namespace": "features", "key": "f", "version": 1, "item": json.dumps({"key": "f", "on": True, "variations": [True], "fallthrough": {"variation": 0}})}
    # The list of items and an item are 2 levels.
    assert Snapshot.from_dynamodb_items([{**item, "extra": nested(125)}]).flag_keys == ("f",)
    with pytest.raises(TypeError):
        Snapshot.from_dynamodb_items([{**item, "extra": nested(126)}])


def test_bad_flag_data_answers_the_default_with_an_error() -> None:
    s = Snapshot.from_json(json.dumps({"flags": {"bad": flag("bad", [1], fallthrough={"variation": 5})}}))
    detail = s.variation_detail("bad", USER, "default")
    assert (detail.value, detail.reason) == ("default", {"kind": "ERROR", "errorKind": "MALFORMED_FLAG"})
    assert any(p["path"].startswith("$.flags.bad") for p in s.check())


def test_values_are_not_shared_between_answers(snapshot: Snapshot) -> None:
    first = snapshot.variation("maintenance-banner", USER, None)
    first["show"] = "changed by the caller"
    assert snapshot.variation("maintenance-banner", USER, None) != first
    reason = snapshot.variation_detail("new-checkout", USER, False).reason
    reason["kind"] = "changed"
    assert snapshot.variation_detail("new-checkout", USER, False).reason["kind"] != "changed"


def test_a_prepared_context_answers_as_the_dict(snapshot: Snapshot) -> None:
    users = [{"kind": "user", "key": f"user-{i}", "email": "ana@example.com"} for i in range(200)]
    for user in users:
        prepared = Context(user)
        user["email"] = "changed@after.preparing"
        for key in snapshot.flag_keys:
            original = dict(user, email="ana@example.com")
            assert snapshot.variation_detail(key, prepared, None) == snapshot.variation_detail(key, original, None)
    assert repr(Context(USER)) == "Context(user:user-1)"


def test_all_flags_state(snapshot: Snapshot) -> None:
    state = snapshot.all_flags_state(USER, with_reasons=True)
    assert isinstance(state, FlagsState) and state.valid
    assert set(state.to_values_map()) == set(snapshot.flag_keys)
    assert state.get_flag_value("new-checkout") == snapshot.variation("new-checkout", USER)
    assert state.get_flag_reason("new-checkout") == snapshot.variation_detail("new-checkout", USER).reason
    assert json.loads(state.to_json_string()) == state.to_json_dict()
    assert state.get_flag_value("no-such-flag") is None
    client_side = snapshot.all_flags_state(USER, client_side_only=True)
    assert set(client_side.to_values_map()) <= set(snapshot.flag_keys)


def test_len_contains_and_keys(snapshot: Snapshot) -> None:
    assert len(snapshot) == len(snapshot.flag_keys) and "new-checkout" in snapshot and "nope" not in snapshot
    assert list(snapshot.flag_keys) == sorted(snapshot.flag_keys)


def test_threads_share_one_snapshot(snapshot: Snapshot) -> None:
    users = [{"kind": "user", "key": f"user-{i}"} for i in range(2000)]
    expected = [snapshot.variation("payment-provider", u) for u in users]
    results: list[list[Any]] = []

    def run() -> None:
        results.append([snapshot.variation("payment-provider", u) for u in users])

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_evaluates(snapshot: Snapshot) -> None:
    expected = snapshot.variation("payment-provider", USER)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        os.write(write, json.dumps(snapshot.variation("payment-provider", USER)).encode())
        os._exit(0)
    os.close(write)
    answer = os.read(read, 1024)
    os.close(read)
    os.waitpid(pid, 0)
    assert json.loads(answer) == expected


def test_asyncio_refreshes_off_the_event_loop(tmp_path: Any) -> None:
    path = tmp_path / "flags.json"
    path.write_text(TEXT)
    client = FlagClient(file=path)
    loop_threads: set[int] = set()

    class Watching:
        def describe(self) -> str:
            return "watching"

        def load(self, current: Snapshot | None) -> Snapshot:
            loop_threads.add(threading.get_ident())
            return Snapshot.from_json(path.read_bytes())

    async def main() -> Any:
        watched = FlagClient(Watching())
        snapshot = await watched.snapshot_async()
        assert snapshot is not None
        assert threading.get_ident() not in loop_threads
        got = await client.snapshot_async()
        assert got is not None
        return got.variation("new-checkout", USER, None)

    assert asyncio.run(main()) is not None


# A dict passed to several evaluations is converted once; these pin that a
# change to it is never answered from what it held before.
def test_a_dict_changed_between_evaluations_answers_as_it_holds_now() -> None:
    snapshot = Snapshot.from_json(json.dumps({"flags": {"f": {
        "on": True, "variations": ["no", "yes"], "fallthrough": {"variation": 0},
        "rules": [{"id": "r", "clauses": [{"attribute": "n", "op": "in", "values": [1]}], "variation": 1}],
    }}}))
    user: dict[str, Any] = {"kind": "user", "key": "k", "n": 1}
    assert snapshot.variation("f", user, "d") == "yes"
    seen = []
    for change, expected in [
        (lambda: user.update(n=True), "no"),  # a bool is an int in Python, not in JSON
        (lambda: user.update(n=1.0), "yes"),
        (lambda: user.update(n="1"), "no"),
        (lambda: user.update(n=1), "yes"),
        (lambda: user.update(n=2), "no"),
        (lambda: user.pop("n"), "no"),
        (lambda: user.update(m=1), "no"),
        (lambda: user.update(n=1), "yes"),
        (lambda: (user.pop("m"), user.update(key="other")), "yes"),
        (lambda: user.update(kind=""), "d"),
        (lambda: user.update(kind="user", tags=["a"]), "yes"),
    ]:
        change()
        fresh = json.loads(json.dumps(user))
        assert snapshot.variation_detail("f", user, "d") == snapshot.variation_detail("f", fresh, "d"), user
        assert snapshot.variation("f", user, "d") == expected, user
        seen.append(snapshot.variation("f", user, "d"))
    assert "yes" in seen and "no" in seen
    # Renamed: the same values in the same places, under another name.
    renamed: dict[str, Any] = {"kind": "user", "key": "k", "n": 1}
    assert snapshot.variation("f", renamed, "d") == "yes"
    del renamed["n"]
    renamed["o"] = 1
    assert snapshot.variation("f", renamed, "d") == "no"
