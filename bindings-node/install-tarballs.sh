#!/usr/bin/env bash
# An app folder with flagcore installed from tarballs, as a user's install
# gives it: install-tarballs.sh <folder> <tarball>... (offline, so that no optional
# platform package comes from a registry; --force, so that npm installs a
# platform package for another CPU, as a build for an arm64 Lambda does).
set -euo pipefail
dir=$1; shift
tarballs=(); for t in "$@"; do tarballs+=("$(realpath "$t")"); done
rm -rf "$dir" && mkdir -p "$dir"
echo '{"name": "flagcore-installed", "private": true}' > "$dir/package.json"
(cd "$dir" && npm install --offline --force --no-audit --no-fund --loglevel=error "${tarballs[@]}" >/dev/null)
ls "$dir/node_modules"
