"""The build backend of flagcore's sdist: maturin's, after a check for Rust.

pip builds the sdist only where no wheel fits (wheels cover Linux on x86_64
and aarch64 with glibc 2.17 or later). Building needs a Rust toolchain;
without one, this fails at once and says what to install, instead of
maturin downloading a toolchain into a temporary folder.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
from typing import Any, Mapping

import maturin



def _rust_version() -> str:
    """The workspace's rust-version, from the Cargo.toml beside this backend's sdist."""
    try:
        with open("Cargo.toml", encoding="utf-8") as manifest:
            found = re.search(r'^rust-version\s*=\s*"([^"]+)"', manifest.read(), re.MULTILINE)
    except OSError:
        found = None
    return found.group(1) if found else "stable"


RUST_VERSION = _rust_version()

MESSAGE = f"""
flagcore: no prebuilt wheel fits this platform ({platform.system()} {platform.machine()}, \
Python {platform.python_version()}), so pip is building flagcore from source, and that needs \
Rust {RUST_VERSION} or later with cargo on PATH, which is not installed here.

  Install Rust:       curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
                      (or see https://rustup.rs), then open a new shell and run pip again.
  Or use a wheel:     flagcore has wheels for Linux on x86_64 and aarch64 with glibc 2.17 or later
                      (manylinux2014). To package a Lambda function from another machine:
                      pip install --platform manylinux2014_x86_64 --only-binary=:all: --target package flagcore
"""


def _require_rust() -> None:
    cargo = os.environ.get("CARGO") or shutil.which("cargo")
    if not cargo or not os.path.exists(cargo):
        raise SystemExit(MESSAGE)


def get_requires_for_build_wheel(config_settings: Mapping[str, Any] | None = None) -> list[str]:
    _require_rust()
    return maturin.get_requires_for_build_wheel(config_settings)


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Mapping[str, Any] | None = None) -> str:
    _require_rust()
    return maturin.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def build_wheel(
    wheel_directory: str,
    config_settings: Mapping[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    _require_rust()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


# Making an sdist needs cargo too (maturin lists the crate's files with it).
get_requires_for_build_sdist = maturin.get_requires_for_build_sdist
build_sdist = maturin.build_sdist
