"""make test-dist: the wheel as `pip install --platform ... --target` put it
(FLAGCORE_INSTALLED, for x86_64 and, under qemu, aarch64), and the sdist
(FLAGCORE_DIST): it builds where Rust is installed and, where it is not,
fails with a message that says what to install."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT

INSTALLED = os.environ.get("FLAGCORE_INSTALLED")
DIST = os.environ.get("FLAGCORE_DIST")
installed_only = pytest.mark.skipif(not INSTALLED, reason="runs on an installed wheel: make test-dist")
sdist_only = pytest.mark.skipif(not DIST, reason="runs on the sdist of make dist: make test-dist")


def run_handler(python: str, path: list[Path], cwd: Path) -> dict[str, object]:
    """The README's handler, run with only `path` on the module path, as a Lambda function runs it."""
    shutil.copy(EXAMPLES / "python" / "handler.py", cwd / "handler.py")
    script = (
        "import json, flagcore, handler\n"
        "print(json.dumps({'file': flagcore.__file__,"
        " 'alice': handler.handler({'userId': 'qa-alice', 'email': 'alice@shop.test'}, None),"
        " 'beta': handler.handler({'userId': 'user-1002', 'email': 'b@shop.test'}, None)}))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "FLAGS_FILE": str(EXAMPLES / "snapshot.json"),
           "PYTHONPATH": os.pathsep.join([str(cwd), *map(str, path)])}
    done = subprocess.run([python, "-s", "-c", script], capture_output=True, text=True, cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout)
    assert answer["alice"] == {"statusCode": 200, "body": json.dumps({"checkout": "v2", "theme": "classic"})}
    assert json.loads(answer["beta"]["body"])["theme"] == "midnight"  # type: ignore[index]
    return answer


@installed_only
def test_the_tests_run_on_the_installed_wheel() -> None:
    import flagcore

    assert Path(flagcore.__file__).resolve().is_relative_to(Path(str(INSTALLED)).resolve()), flagcore.__file__


@installed_only
def test_the_readme_handler_runs_on_the_installed_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    # In this process, so that it runs under qemu too (make test-dist runs
    # the handler with nothing else on the module path from the layers).
    import importlib.util

    monkeypatch.setenv("FLAGS_FILE", str(EXAMPLES / "snapshot.json"))
    spec = importlib.util.spec_from_file_location("readme_handler", EXAMPLES / "python" / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.handler({"userId": "qa-alice", "email": "alice@shop.test"}, None) == {
        "statusCode": 200, "body": json.dumps({"checkout": "v2", "theme": "classic"})}
    assert json.loads(module.handler({"userId": "user-1002"}, None)["body"])["theme"] == "midnight"


def sdist() -> Path:
    found = sorted(Path(str(DIST)).glob("wheels/flagcore-*.tar.gz"))
    assert len(found) == 1, f"one sdist in {DIST}/wheels, found {found}"
    return found[0]


def pip_wheel(env: dict[str, str], out: Path) -> subprocess.CompletedProcess[str]:
    # The build backend's own requirement (maturin) is the one this
    # environment has, so that the test needs no index.
    # No cache: pip keys wheels built from a local sdist by its path, and
    # would hand back the wheel of an older sdist.
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
               "--no-build-isolation", "--no-index", "--no-cache-dir", "-w", str(out), str(sdist())]
    return subprocess.run(command, capture_output=True, text=True, env=env)


@sdist_only
def test_the_sdist_without_rust_says_what_to_install(tmp_path: Path) -> None:
    # A PATH with Python and the basic tools but no cargo, and no maturin
    # toolchain download to fall back on.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "uname", "cc", "gcc"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    done = pip_wheel(env, tmp_path / "out")
    assert done.returncode != 0
    message = done.stdout + done.stderr
    assert "so pip is building flagcore from source, and that needs" in message, message
    assert "Rust 1.88 or later" in message and "https://rustup.rs" in message, message
    assert "manylinux2014" in message, message
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


@sdist_only
def test_the_sdist_builds_where_rust_is_installed(tmp_path: Path) -> None:
    # A debug build (the test is about the sdist being whole, not about the
    # optimizer) into a target folder kept for this sdist only: its files
    # carry the sdist's fixed times, so cargo would take a build of an
    # older sdist, unpacked to another folder, for a fresh one.
    digest = hashlib.sha256(sdist().read_bytes()).hexdigest()[:16]
    builds = ROOT / "target" / "sdist"
    for old in builds.glob("*") if builds.is_dir() else []:
        if old.name != digest:
            shutil.rmtree(old, ignore_errors=True)
    # maturin's command is beside this environment's python.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "MATURIN_PEP517_ARGS": "--profile dev", "CARGO_TARGET_DIR": str(builds / digest)}
    done = pip_wheel(env, tmp_path / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = (tmp_path / "out").glob("flagcore-*.whl")
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-index", "--target", str(target), str(built)], check=True)
    run_handler(sys.executable, [target], tmp_path)
