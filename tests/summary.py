#!/usr/bin/env python3
"""The table that closes `make test`: one line per suite (runtime, suite,
passed, failed, seconds), then `N passed, M failed` over them all.

    summary.py run RUNTIME SUITE [--cwd DIR] -- COMMAND...   runs COMMAND, its output
        shown as it comes, and records the suite's counts, read from what it
        printed (cargo's, node --test's and pytest's summaries, or a runner's
        own `N passed, M failed`); a command that prints no count is one
        check, passed when it exits 0. Exits as COMMAND does.
    summary.py reset                                          starts a new table
    summary.py report                                         prints the table

The table is target/test-summary.tsv.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

TABLE = Path(__file__).resolve().parents[1] / "target" / "test-summary.tsv"


def counts(output: str, code: int) -> tuple[int, int]:
    cargo = re.findall(r"^test result: \w+\. (\d+) passed; (\d+) failed", output, re.M)
    if cargo:
        return sum(int(p) for p, _ in cargo), sum(int(f) for _, f in cargo)
    node_pass = re.findall(r"^(?:#|ℹ) pass (\d+)$", output, re.M)
    if node_pass:
        node_fail = re.findall(r"^(?:#|ℹ) fail (\d+)$", output, re.M)
        return sum(map(int, node_pass)), sum(map(int, node_fail))
    pytest = re.findall(r"^=*\s*((?:\d+ \w+(?: \w+)?, )*\d+ \w+(?: \w+)?) in [\d.]+s", output, re.M)
    if pytest:
        last = pytest[-1]
        passed = sum(int(n) for n in re.findall(r"(\d+) passed", last))
        failed = sum(int(n) for n in re.findall(r"(\d+) (?:failed|errors?)\b", last))
        return passed, failed
    fuzz = re.findall(r"^fuzz \w+: \d+ executions, no crash$", output, re.M)
    if fuzz:
        return len(fuzz), 0 if code == 0 else 1
    own = re.findall(r"(\d[\d,]*) passed, (\d[\d,]*) failed", output)
    if own:
        passed, failed = own[-1]
        return int(passed.replace(",", "")), int(failed.replace(",", ""))
    return (1, 0) if code == 0 else (0, 1)


def run(runtime: str, suite: str, cwd: str | None, command: list[str]) -> int:
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    seen = []
    for raw in iter(process.stdout.readline, b""):
        sys.stdout.buffer.write(raw)
        sys.stdout.flush()
        seen.append(raw.decode("utf-8", "replace"))
    code = process.wait()
    passed, failed = counts("".join(seen), code)
    if code != 0 and failed == 0:
        failed = 1  # it failed where no count says so: a build, a setup, a crash
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    with TABLE.open("a") as table:
        table.write(f"{runtime}\t{suite}\t{passed}\t{failed}\t{time.monotonic() - started:.0f}\n")
    return code


def report() -> int:
    rows = [line.split("\t") for line in TABLE.read_text().splitlines()] if TABLE.exists() else []
    if not rows:
        print("no suite ran")
        return 1
    width = max(len("runtime"), *(len(r[0]) for r in rows)), max(len("all suites, 00 min 00 s"), *(len(r[1]) for r in rows))
    print()
    print(f"{'runtime':<{width[0]}}  {'suite':<{width[1]}}  {'passed':>7}  {'failed':>6}  {'seconds':>7}")
    for runtime, suite, passed, failed, seconds in rows:
        print(f"{runtime:<{width[0]}}  {suite:<{width[1]}}  {int(passed):>7,}  {int(failed):>6,}  {int(seconds):>7,}")
    passed, failed = sum(int(r[2]) for r in rows), sum(int(r[3]) for r in rows)
    seconds = sum(int(r[4]) for r in rows)
    print(f"{'':<{width[0]}}  {'all suites, ' + format(seconds // 60) + ' min ' + format(seconds % 60) + ' s':<{width[1]}}")
    print(f"{passed:,} passed, {failed:,} failed")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["reset"]:
        TABLE.unlink(missing_ok=True)
        return 0
    if argv[:1] == ["report"]:
        return report()
    if argv[:1] == ["run"] and "--" in argv:
        split = argv.index("--")
        head, command = argv[1:split], argv[split + 1 :]
        cwd = None
        if "--cwd" in head:
            i = head.index("--cwd")
            cwd = head[i + 1]
            del head[i : i + 2]
        if len(head) == 2 and command:
            return run(head[0], head[1], cwd, command)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
