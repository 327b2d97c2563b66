#!/usr/bin/env python3
"""The size of each artifact of `make dist`, as the README's table shows
them: the npm tarballs, the wheels and the sdist, the Lambda layers, and
the native module each holds unpacked.

    python3 tests/dist/sizes.py dist
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path


def unpacked(path: Path) -> int:
    if path.parent.name == "cli":
        return path.stat().st_size
    if path.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(path) as archive:
            return sum(i.file_size for i in archive.infolist())
    with tarfile.open(path) as archive:
        return sum(m.size for m in archive.getmembers() if m.isfile())


def main(dist: str) -> int:
    rows = []
    for pattern in ("npm/*.tgz", "wheels/*.whl", "wheels/*.tar.gz", "layers/*.zip", "cli/flagcore-*"):
        for path in sorted(Path(dist).glob(pattern)):
            rows.append((path.name, path.stat().st_size, unpacked(path)))
    if not rows:
        print(f"no artifacts in {dist}: make dist builds them", file=sys.stderr)
        return 1
    print("| artifact | packed | unpacked |\n|---|---:|---:|")
    for name, size, full in rows:
        print(f"| `{name}` | {size / 1e6:.2f} MB | {full / 1e6:.2f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist"))
