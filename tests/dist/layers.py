#!/usr/bin/env python3
"""Tests the Lambda layers of `make dist` as Lambda uses them: each zip is
unpacked into an empty folder laid out as /opt, and the README's handlers
run with only that folder on the module path (NODE_PATH=<opt>/nodejs/node_modules,
PYTHONPATH=<opt>/python), on the native engine. The arm64 layers run under
qemu-user (QEMU and ARM64_BIN, from the Makefile). No layer may be larger
than 5 MB zipped. Prints `N passed, M failed`; exits 1 on any failure.

    QEMU=... ARM64_BIN=... python3 tests/dist/layers.py dist/layers
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
LIMIT = 5_000_000
ARCHES = ("x86_64", "arm64")
# What each layer holds at its top, and nothing else.
CONTENTS = {
    "nodejs": {"nodejs/node_modules/flagcore", "nodejs/node_modules/flagcore-wasm", "nodejs/node_modules/flagcore-linux-{cpu}-gnu"},
    "python": {"python/flagcore", "python/flagcore-{version}.dist-info"},
}
CPU = {"x86_64": "x64", "arm64": "arm64"}

NODE_SCRIPT = """
const { handler } = require('./handler.cjs')
const flagcore = require('flagcore')
Promise.all([handler({ userId: 'qa-alice', email: 'alice@shop.test' }), handler({ userId: 'user-1002' })])
  .then(([alice, beta]) => console.log(JSON.stringify({ file: require.resolve('flagcore'), engine: flagcore.engine, alice, beta })))
"""
PYTHON_SCRIPT = """
import json, flagcore, handler
print(json.dumps({"file": flagcore.__file__, "engine": "native",
    "alice": handler.handler({"userId": "qa-alice", "email": "alice@shop.test"}, None),
    "beta": handler.handler({"userId": "user-1002"}, None)}))
"""
HANDLERS = {"nodejs": EXAMPLES / "node" / "handler.cjs", "python": EXAMPLES / "python" / "handler.py"}


def version() -> str:
    for line in (ROOT / "Cargo.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split('"')[1]
    raise SystemExit("no version in Cargo.toml")


def command(runtime: str, arch: str) -> list[str]:
    if arch == "x86_64":
        return ["node", "-e", NODE_SCRIPT] if runtime == "nodejs" else ["python3", "-s", "-c", PYTHON_SCRIPT]
    qemu, bin_dir = os.environ.get("QEMU"), os.environ.get("ARM64_BIN")
    if not qemu or not bin_dir:
        raise SystemExit("QEMU and ARM64_BIN must say how to run arm64 programs (make test-dist sets them)")
    program = ["node", "-e", NODE_SCRIPT] if runtime == "nodejs" else ["python3.11", "-s", "-c", PYTHON_SCRIPT]
    return [*shlex.split(qemu), str(Path(bin_dir) / program[0]), *program[1:]]


def check(layer: Path, runtime: str, arch: str, scratch: Path) -> list[str]:
    problems = []
    size = layer.stat().st_size
    if size > LIMIT:
        problems.append(f"{size:,} bytes zipped, over the {LIMIT:,} limit")
    opt, task = scratch / "opt", scratch / "task"
    opt.mkdir()
    task.mkdir()
    with zipfile.ZipFile(layer) as archive:
        archive.extractall(opt)
    tops = {str(p.relative_to(opt)) for p in opt.glob(f"{runtime}/*/*" if runtime == "nodejs" else f"{runtime}/*")}
    want = {t.format(cpu=CPU[arch], version=version()) for t in CONTENTS[runtime]}
    if tops != want:
        problems.append(f"holds {sorted(tops)}, not {sorted(want)}")
    shutil.copy(HANDLERS[runtime], task / HANDLERS[runtime].name)
    env = {"PATH": os.environ.get("PATH", ""), "FLAGS_FILE": str(EXAMPLES / "snapshot.json")}
    if runtime == "nodejs":
        env["NODE_PATH"] = str(opt / "nodejs" / "node_modules")
    else:
        env["PYTHONPATH"] = f"{opt / 'python'}{os.pathsep}{task}"
    done = subprocess.run(command(runtime, arch), cwd=task, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        return [*problems, f"the handler failed: {done.stderr.strip()[-600:]}"]
    answer = json.loads(done.stdout)
    if not Path(answer["file"]).resolve().is_relative_to(opt.resolve()):
        problems.append(f"flagcore came from {answer['file']}, not the layer")
    if answer["engine"] != "native":
        problems.append(f"ran on the {answer['engine']} engine, not the native one")
    if answer["alice"] != {"statusCode": 200, "body": json.dumps({"checkout": "v2", "theme": "classic"}, separators=(",", ":") if runtime == "nodejs" else None)}:
        problems.append(f"answered {answer['alice']} for qa-alice")
    if json.loads(answer["beta"]["body"])["theme"] != "midnight":
        problems.append(f"answered {answer['beta']} for user-1002")
    return problems


def main(folder: str) -> int:
    passed = failed = 0
    for runtime in ("nodejs", "python"):
        for arch in ARCHES:
            layer = Path(folder) / f"flagcore-{runtime}-{arch}.zip"
            with tempfile.TemporaryDirectory() as scratch:
                problems = check(layer, runtime, arch, Path(scratch)) if layer.exists() else ["missing"]
            if problems:
                failed += 1
                print(f"FAIL {layer.name}: {'; '.join(problems)}")
            else:
                passed += 1
                print(f"ok   {layer.name}: {layer.stat().st_size:,} bytes, the README's {runtime} handler answers from /opt alone")
    print(f"layers: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist/layers"))
