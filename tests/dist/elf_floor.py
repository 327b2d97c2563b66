#!/usr/bin/env python3
"""Checks that every shipped ELF file loads on a manylinux2014 system (glibc
2.17, Amazon Linux 2's glibc 2.26 included): no GLIBC_ symbol version above
2.17, and no library outside the manylinux2014 allow-list. Takes .node and .so
files, wheels and Lambda layers (zip), and npm tarballs: the ELF files inside
are checked; an archive with none fails (the flagcore-wasm tarball is left out). Prints one line per
file and `N passed, M failed`; exits 1 on any failure.

    python3 tests/dist/elf_floor.py dist/npm/flagcore-linux-*.tgz dist/wheels/*.whl dist/layers/*.zip
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

FLOOR = (2, 17)
# PEP 599's manylinux2014 libraries, and the dynamic linkers of the two
# architectures Lambda runs.
ALLOWED = {
    "libgcc_s.so.1", "libstdc++.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libc.so.6",
    "libnsl.so.1", "libutil.so.1", "libpthread.so.0", "libresolv.so.2", "libX11.so.6",
    "libXext.so.6", "libXrender.so.1", "libICE.so.6", "libSM.so.6", "libGL.so.1",
    "libgobject-2.0.so.0", "libgthread-2.0.so.0", "libglib-2.0.so.0",
    "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
}


def tool(name: str, args: list[str]) -> str:
    return subprocess.run([name, *args], check=True, capture_output=True, text=True).stdout


def problems(path: Path) -> list[str]:
    found = []
    versions = {tuple(int(p) for p in v.split(".")) for v in re.findall(r"GLIBC_([0-9.]+)", tool("objdump", ["-T", str(path)]))}
    newest = max(versions, default=(0,))
    if newest > FLOOR:
        found.append(f"needs GLIBC_{'.'.join(map(str, newest))} (floor {'.'.join(map(str, FLOOR))})")
    for library in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", tool("readelf", ["-d", str(path)])):
        if library not in ALLOWED:
            found.append(f"links {library}, outside the manylinux2014 allow-list")
    return found


def is_elf(name: str) -> bool:
    return name.endswith((".so", ".node")) or ".so." in name


def elf_files(path: Path, scratch: Path) -> list[tuple[str, Path]]:
    """The ELF files of a file, a wheel or layer (zip), or an npm tarball."""
    if path.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(path) as archive:
            out = [(f"{path.name}:{n}", Path(archive.extract(n, scratch / path.name))) for n in archive.namelist() if is_elf(n)]
    elif path.name.endswith(".tgz"):
        with tarfile.open(path) as archive:
            members = [m for m in archive.getmembers() if m.isfile() and is_elf(m.name)]
            archive.extractall(scratch / path.name, members=members, filter="data")
            out = [(f"{path.name}:{m.name}", scratch / path.name / m.name) for m in members]
    else:
        return [(str(path), path)]
    return out or [(f"{path.name}: no shared object inside", path)]


def main(paths: list[str]) -> int:
    passed = failed = 0
    with tempfile.TemporaryDirectory() as scratch:
        for given in paths:
            for label, path in elf_files(Path(given), Path(scratch)):
                elf = is_elf(path.name) or (path.is_file() and path.read_bytes()[:4] == b"\x7fELF")
                found = problems(path) if elf else ["not an ELF file"]
                if found:
                    failed += 1
                    print(f"FAIL {label}: {'; '.join(found)}")
                else:
                    passed += 1
                    print(f"ok   {label}")
    print(f"elf floor: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
