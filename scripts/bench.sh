#!/usr/bin/env bash
# Builds the benchmarks in release mode and prints a Markdown report (also saved to Benchmarks/.build/report.md).
# Usage: scripts/bench.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists zlib; then
  echo "error: zlib's headers were not found. On Debian or Ubuntu: sudo apt-get install zlib1g-dev pkg-config" >&2
  exit 2
fi
swift build -c release --product DatelineBenchmarks
mkdir -p .build
.build/release/DatelineBenchmarks "$@" | tee .build/report.md
