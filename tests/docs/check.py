#!/usr/bin/env python3
"""Every code block of README.md and docs/*.md, checked: the line before each
opening fence says what makes the block true.

  <!-- doctest: file PATH -->      the block is PATH, as it is (tests run PATH)
  <!-- doctest: run -->            run from the repository's root with the
                                   debug `flagcore` on PATH: `$ ` lines are
                                   commands, the lines after one its output
                                   (stdout and stderr), where a line `...`
                                   stands for any lines; a block without `$ `
                                   lines runs as one script and must succeed
  <!-- doctest: beside-dist -->    run as one script after `make dist`, in an
                                   empty folder holding the clone as ./flagcore
  <!-- doctest: skip REASON -->    not run, and why

Usage: check.py [--run] [--beside-dist]. Without options it checks the markers
and the `file` blocks alone. It prints each failure, then `N passed, M failed`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- doctest: (file|run|beside-dist|skip)(?: (.*?))? -->$")
FENCE = re.compile(r"^(`{3,})(\S*)\s*$")


@dataclass
class Block:
    page: Path
    line: int  # of the opening fence, from 1
    lang: str
    kind: str | None
    arg: str
    text: str

    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(page: Path) -> list[Block]:
    lines = page.read_text().split("\n")
    found, i = [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, lang = opening.groups()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].rstrip() == fence), None)
        if end is None:
            raise SystemExit(f"{page.relative_to(ROOT)}:{i + 1}: a code block that never closes")
        marker = MARKER.match(lines[i - 1].strip()) if i > 0 else None
        text = "\n".join(lines[i + 1 : end]) + "\n"
        found.append(Block(page, i + 1, lang, marker and marker.group(1), (marker and marker.group(2)) or "", text))
        i = end + 1
    return found


def expected_pattern(lines: list[str]) -> re.Pattern[str]:
    parts = []
    for line in lines:
        parts.append(r"(?:[^\n]*\n)*?" if line.strip() == "..." else re.escape(line.rstrip()) + r"[ \t]*\n")
    return re.compile("".join(parts))


def transcript(text: str) -> list[tuple[str, list[str]]]:
    """`$ ` commands (with their `\\` continuations) and the lines after each."""
    steps: list[tuple[str, list[str]]] = []
    lines = text.rstrip("\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1].rstrip() + " " + lines[i].strip()
            steps.append((command, []))
        elif steps:
            steps[-1][1].append(line)
        i += 1
    return steps


def environment(home: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if home is not None:
        # A block's `~` is the scratch folder's, so that it installs nothing
        # into the home of whoever runs the tests.
        home.mkdir()
        env["HOME"] = str(home)
    paths = [ROOT / "target" / "debug", ROOT / ".venv" / "bin"]
    env["PATH"] = os.pathsep.join([*map(str, paths), env.get("PATH", "")])
    return env


def expected_exit(block: Block, command: str) -> int:
    """0, or what the block's marker gives for its commands: `run exit=N` for a
    block that shows a command failing as it should (each of its commands then
    exits N, unless it is the last of a pipeline that succeeds)."""
    found = re.search(r"\bexit=(\d+)\b", block.arg)
    return int(found.group(1)) if found else 0


def run_block(block: Block, cwd: Path, home: Path | None = None) -> str | None:
    """None when the block holds, or what went wrong."""
    env = environment(home)
    steps = transcript(block.text)
    if not steps:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.text], cwd=cwd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            return f"exit {done.returncode}\n{done.stdout}{done.stderr}"
        return None
    for command, expected in steps:
        done = subprocess.run(["bash", "-o", "pipefail", "-c", command + " 2>&1"], cwd=cwd, env=env, capture_output=True, text=True)
        actual = "".join(line.rstrip() + "\n" for line in done.stdout.rstrip("\n").split("\n")) if done.stdout.strip() else ""
        while expected and not expected[-1].strip():
            expected.pop()
        if not expected_pattern(expected).fullmatch(actual):
            return f"$ {command}\nprinted:\n{actual}expected:\n" + "\n".join(expected)
        if done.returncode != expected_exit(block, command):
            return f"$ {command}\nexited {done.returncode}, where the docs expect {expected_exit(block, command)}\n{actual}"
    return None


def main(argv: list[str]) -> int:
    run, beside = "--run" in argv, "--beside-dist" in argv
    passed, skipped, failures = 0, 0, []
    for page in pages():
        for block in blocks(page):
            if beside and block.kind != "beside-dist":
                continue  # the run without --beside-dist checks the rest
            if block.kind is None:
                failures.append(f"{block.where()}: a code block with no `<!-- doctest: ... -->` line before it")
            elif block.kind == "skip":
                if not block.arg.strip():
                    failures.append(f"{block.where()}: `doctest: skip` needs its reason")
                else:
                    skipped += 1
            elif block.kind == "file":
                path = ROOT / block.arg
                if not path.is_file():
                    failures.append(f"{block.where()}: {block.arg} does not exist")
                elif path.read_text() != block.text:
                    failures.append(f"{block.where()}: the block is not {block.arg} as it is")
                else:
                    passed += 1
            elif block.kind == "run" and run:
                problem = run_block(block, ROOT)
                if problem:
                    failures.append(f"{block.where()}: {problem}")
                else:
                    passed += 1
            elif block.kind == "beside-dist" and beside:
                scratch = Path(tempfile.mkdtemp(prefix="flagcore-docs-"))
                try:
                    (scratch / "flagcore").symlink_to(ROOT)
                    problem = run_block(block, scratch, home=scratch / "home")
                finally:
                    shutil.rmtree(scratch, ignore_errors=True)
                if problem:
                    failures.append(f"{block.where()}: {problem}")
                else:
                    passed += 1
    for failure in failures:
        print(f"FAIL {failure}\n")
    what = "installs from dist/" if beside else "markers and files" + (", commands" if run else "")
    print(f"docs ({what}): {passed} passed, {len(failures)} failed, {skipped} not run, each with its reason")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
