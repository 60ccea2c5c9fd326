#!/usr/bin/env bash
# Builds the benchmarks in release mode, runs Dateline's benchmarks and its peers' (SQLite FTS5 and Tantivy on the
# same articles and queries, Redis PING), and prints a Markdown report (also saved to Benchmarks/.build/report.md).
# Installs what the peers need when missing: Python's tantivy (PyPI) and redis-server (Debian).
# Usage: scripts/bench.sh [--quick | --scale | --shapes]   (a full run also ingests the corpus at 10x its size; --quick skips that;
#        --scale runs only the scale run with 1,000,000 distinct generated articles; --shapes only the per-shape
#        query table against Tantivy, at 1x and 10x)
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists zlib; then
  echo "error: zlib's headers were not found. On Debian or Ubuntu: sudo apt-get install zlib1g-dev pkg-config" >&2
  exit 2
fi
if ! python3 -c "import tantivy" >/dev/null 2>&1; then
  echo "installing the tantivy Python package (a peer)..." >&2
  python3 -m pip install --quiet tantivy || echo "warning: could not install tantivy; its figures will be missing" >&2
fi
if ! command -v redis-benchmark >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing redis-server (a peer)..." >&2
    (apt-get install -y redis-server >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y redis-server >/dev/null 2>&1)) \
      || echo "warning: could not install redis-server; its figures will be missing" >&2
  else
    echo "warning: redis-benchmark not found (sudo apt-get install redis-server); its figures will be missing" >&2
  fi
fi
swift build -c release --product DatelineBenchmarks
# The real executables, for the resources section (built beside the benchmark).
for product in dateline-ingest dateline-query dateline; do swift build -c release --product "$product"; done
mkdir -p .build
# --scale: only the scale run, real processes with a generated corpus of distinct articles (1,000,000 unless
# DATELINE_SCALE_ARTICLES says otherwise; DATELINE_SCALE_EXTRACTION=off leaves extraction off).
for argument in "$@"; do
  if [ "$argument" = "--scale" ]; then
    extra=()
    [ "${DATELINE_SCALE_EXTRACTION:-on}" = off ] && extra=(--extraction-off)
    .build/release/DatelineBenchmarks --scale-articles "${DATELINE_SCALE_ARTICLES:-1000000}" "${extra[@]}" | tee .build/scale.md
    exit 0
  fi
done
{
  scale=(--scale 10)
  for argument in "$@"; do [ "$argument" = "--quick" ] && scale=(); done
  .build/release/DatelineBenchmarks "$@" "${scale[@]}"
  if [ -f .build/peers/input.json ] || [ -f .build/peers/shapes.json ]; then python3 peers/peers.py "$@"; fi
} | tee .build/report.md
