"""The package as users get it: the wheel installs into an empty virtual
environment with nothing else and works there; the types check with
`mypy --strict` and match the built module (`mypy.stubtest`)."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT

PACKAGE = ROOT / "bindings-python"


def wheel() -> Path:
    given = os.environ.get("FLAGCORE_WHEEL")
    if given:
        return Path(given)
    wheels = sorted((ROOT / "target" / "wheels").glob("flagcore-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        pytest.fail("no wheel in target/wheels: `make python` builds it")
    return wheels[-1]


def run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_works_in_an_empty_virtual_environment(tmp_path: Path) -> None:
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--no-index", wheel())
    installed = run(python, "-m", "pip", "list", "--format=freeze")
    assert {line.split("==")[0] for line in installed.split()} <= {"flagcore", "pip", "setuptools"}
    script = (
        "import sys, flagcore\n"
        f"s = flagcore.Snapshot.from_json(open({str(EXAMPLES / 'snapshot.json')!r}, 'rb').read())\n"
        "d = s.variation_detail('new-checkout', {'kind': 'user', 'key': 'user-1'}, False)\n"
        "assert d.reason['kind'] in ('FALLTHROUGH', 'RULE_MATCH', 'TARGET_MATCH'), d\n"
        "heavy = sorted(m for m in ('typing', 'logging', 'json', 'urllib.request', 'asyncio', 'boto3') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    # Importing flagcore loads nothing a cold start does not need.
    assert run(python, "-I", "-c", script, cwd=tmp_path).strip() == "[]"


def test_the_example_and_the_api_check_with_mypy_strict() -> None:
    files = [EXAMPLES / "python" / "handler.py", PACKAGE / "tests" / "types_check.py"]
    out = run(sys.executable, "-m", "mypy", "--strict", "--no-incremental", *files, cwd=PACKAGE)
    assert "Success" in out
    out = run(sys.executable, "-m", "mypy", "--strict", "--no-incremental", "-p", "flagcore", cwd=ROOT)
    assert "Success" in out


def test_a_wrong_type_fails_the_check(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.py"
    wrong.write_text("from flagcore import Snapshot\ns = Snapshot.from_json('{}')\nn: str = s.int_variation('f', {'key': 'k'}, 0)\n")
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(wrong)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1 and "Incompatible types in assignment" in done.stdout


def test_the_stub_matches_the_built_module(tmp_path: Path) -> None:
    allowlist = PACKAGE / "stubtest-allowlist.txt"
    out = run(sys.executable, "-m", "mypy.stubtest", "flagcore", "--allowlist", allowlist, cwd=tmp_path)
    assert "Success" in out
