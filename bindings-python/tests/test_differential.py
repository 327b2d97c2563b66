"""flagcore against LaunchDarkly's own Python SDK (file data source, no
network): generated snapshots with rollouts (seeds of 0 included),
experiments, rules, segments and prerequisites, 10,000 contexts each; every
variation_detail must be equal, value, index and reason.

The snapshots and contexts come from tests/generate/random-flags.js, the
generator the Node package's differential test uses, so both runtimes are
compared on the same cases."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path
from typing import Any

from conftest import ROOT
from flagcore import Context, Snapshot

SNAPSHOTS = int(os.environ.get("FLAGCORE_DIFF_SNAPSHOTS", "20"))
CONTEXTS = int(os.environ.get("FLAGCORE_DIFF_CONTEXTS", "10000"))
SEED = int(os.environ.get("FLAGCORE_DIFF_SEED", "20261127"))


def launchdarkly_client(path: Path) -> Any:
    """LaunchDarkly's client on one snapshot file. (Its file data source
    parses JSON with PyYAML's slow loader when PyYAML is installed; the test
    environment does not install it.)"""
    from ldclient.client import LDClient
    from ldclient.config import Config
    from ldclient.integrations import Files

    config = Config(
        "sdk-key-unused",
        update_processor_class=Files.new_data_source(paths=[str(path)]),
        send_events=False,
        diagnostic_opt_out=True,
    )
    client = LDClient(config=config, start_wait=30)
    assert client.is_initialized(), "LaunchDarkly's file data source did not load"
    return client


def test_every_detail_equals_launchdarklys(tmp_path: Path) -> None:
    from ldclient import Context as LDContext

    logging.getLogger("ldclient").setLevel(logging.ERROR)
    generator = subprocess.Popen(
        ["node", str(ROOT / "tests" / "generate" / "random-flags.js"), "--seed", str(SEED), "--snapshots", str(SNAPSHOTS), "--contexts", str(CONTEXTS)],
        stdout=subprocess.PIPE,
    )
    assert generator.stdout is not None
    compared = 0
    seed_zero_rollouts = 0
    for index, line in enumerate(generator.stdout):
        case = json.loads(line)
        data = case["snapshot"]
        path = tmp_path / f"snapshot-{index}.json"
        path.write_text(json.dumps(data))
        seed_zero_rollouts += json.dumps(data).count('"seed": 0')
        ours = Snapshot.from_json(path.read_bytes())
        theirs = launchdarkly_client(path)
        try:
            for number, raw in enumerate(case["contexts"]):
                context = LDContext.from_dict(raw)
                prepared = Context(raw)
                for key in ours.flag_keys:
                    mine = ours.variation_detail(key, prepared if number % 2 else raw, None)
                    detail = theirs.variation_detail(key, context, None)
                    compared += 1
                    same = (
                        mine.variation_index == detail.variation_index
                        and mine.reason == detail.reason
                        and json.dumps(mine.value) == json.dumps(detail.value)
                    )
                    assert same, (
                        f"snapshot {index} (seed {case['seed']}), flag {key}, context {raw}:\n"
                        f" flagcore     {mine}\n LaunchDarkly {detail.value!r} {detail.variation_index} {detail.reason}\n"
                        f" flag {json.dumps(data['flags'][key])}"
                    )
        finally:
            theirs.close()
    assert generator.wait() == 0
    assert compared > 0 and index + 1 == SNAPSHOTS
    assert seed_zero_rollouts > 0, "no rollout with a seed of 0 was compared"
    print(f"{compared} evaluations compared with LaunchDarkly's Python SDK, all equal")
