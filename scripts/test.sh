#!/usr/bin/env bash
# Runs every Dateline test, unit and integration. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=0
if ! command -v swift >/dev/null 2>&1; then
  echo "error: swift is not on PATH. Install a Swift 6.1+ toolchain (https://www.swift.org/install/linux/) and add its usr/bin to PATH." >&2
  missing=1
fi
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists zlib; then
  echo "error: zlib's headers were not found through pkg-config. On Debian or Ubuntu: sudo apt-get install zlib1g-dev pkg-config" >&2
  missing=1
fi
[ "$missing" -eq 0 ] || exit 2
if ! command -v protoc >/dev/null 2>&1; then
  echo "note: protoc not found, so the check that protoc decodes every golden vector is skipped (sudo apt-get install protobuf-compiler)." >&2
fi

swift build --build-tests
swift test --skip-build
