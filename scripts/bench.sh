#!/usr/bin/env bash
# Builds the benchmarks in release mode, runs Dateline's benchmarks and its peers' (SQLite FTS5 and Tantivy on the
# same articles and queries, Redis PING), and prints a Markdown report (also saved to Benchmarks/.build/report.md).
# Installs what the peers need when missing: Python's tantivy (PyPI) and redis-server (Debian).
# Usage: scripts/bench.sh [--quick | --scale | --shapes | --cluster]   (a full run also ingests the corpus at 10x its size; --quick skips that;
#        --scale runs only the scale run with 1,000,000 distinct generated articles; --shapes only the per-shape
#        query table against Tantivy, at 1x and 10x; --cluster only the several-nodes section: PostgreSQL log, two
#        ingest nodes, two replicas, failover, on throwaway PostgreSQL servers started by scripts/postgres.sh)
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

# Several nodes on PostgreSQL: ingest rates (file log, one PostgreSQL node, two) and replicas' queries/s on a
# throwaway server, then three failovers, each of a fresh primary to its fresh synchronous standby.
cluster_section() {
  local postgres=../scripts/postgres.sh
  if ! "$postgres" bindir >/dev/null 2>&1; then
    printf '### Several nodes\n\nSkipped: PostgreSQL'"'"'s server programs are not installed (sudo apt-get install postgresql).\n'
    return
  fi
  local dir url primary standby seconds figures=()
  dir="$(mktemp -d /tmp/dateline-bench-postgres.XXXXXX)"
  url="$("$postgres" start "$dir/rates" "$("$postgres" free-port)")"
  DATELINE_BENCH_POSTGRES="$url" .build/release/DatelineBenchmarks --cluster || true
  "$postgres" stop "$dir/rates"
  for round in 1 2 3; do
    primary="$("$postgres" free-port)"
    "$postgres" start "$dir/primary-$round" "$primary" >/dev/null
    standby="$("$postgres" free-port)"
    "$postgres" standby "$primary" "$dir/standby-$round" "$standby" >/dev/null
    "$postgres" synchronous "$dir/primary-$round"
    seconds="$(DATELINE_BENCH_POSTGRES="postgres://dateline@127.0.0.1:$primary,127.0.0.1:$standby/dateline?connect_timeout=2" \
      DATELINE_BENCH_PRIMARY_DIR="$dir/primary-$round" DATELINE_BENCH_STANDBY_DIR="$dir/standby-$round" \
      DATELINE_BENCH_POSTGRES_SCRIPT="$postgres" .build/release/DatelineBenchmarks --cluster-failover || echo "failed")"
    figures+=("$seconds")
    "$postgres" stop "$dir/standby-$round"
    "$postgres" stop "$dir/primary-$round" 2>/dev/null || true  # killed: nothing left to stop
  done
  rm -rf "$dir"
  printf '\nFailover: an ingest node on a primary and its synchronous standby (a host list), single-article batches one after\n'
  printf 'another; after 200 acknowledgements the primary'"'"'s processes are SIGKILLed and the standby promoted (`pg_ctl promote`).\n\n'
  printf '| round | kill to the first acknowledgement of a batch sent after it, promotion included | of which `pg_ctl promote` (PostgreSQL alone) | articles acknowledged | acknowledged but missing |\n|---|---|---|---|---|\n'
  round=0
  for figure in "${figures[@]}"; do
    round=$((round + 1))
    read -r seconds acknowledged lost promotion <<<"$figure"
    printf '| %s | %s s | %s s | %s | %s |\n' "$round" "$seconds" "${promotion:-?}" "${acknowledged:-?}" "${lost:-?}"
  done
  echo
}
for argument in "$@"; do
  if [ "$argument" = "--cluster" ]; then
    cluster_section | tee .build/cluster.md
    exit 0
  fi
done
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
# The per-shape query costs: Dateline's, then Tantivy's on the same corpora and queries at once, so that both are
# timed under the same load (this shared machine's speed drifts over a run's twenty minutes).
shapes_section() {
  .build/release/DatelineBenchmarks --shapes "$@"
  if [ -f .build/peers/shapes.json ]; then python3 peers/peers.py --shapes "$@"; fi
}
for argument in "$@"; do
  if [ "$argument" = "--shapes" ]; then
    quick_flag=()
    for other in "$@"; do [ "$other" = "--quick" ] && quick_flag=(--quick); done
    shapes_section "${quick_flag[@]}" | tee .build/shapes.md
    exit 0
  fi
done
{
  scale=(--scale 10)
  for argument in "$@"; do [ "$argument" = "--quick" ] && scale=(); done
  .build/release/DatelineBenchmarks "$@" "${scale[@]}" --no-shapes
  if [ -f .build/peers/input.json ]; then python3 peers/peers.py "$@" --no-shapes; fi
  quick=0
  for argument in "$@"; do [ "$argument" = "--quick" ] && quick=1; done
  quick_flag=()
  [ "$quick" = 1 ] && quick_flag=(--quick)
  shapes_section "${quick_flag[@]}"
  [ "$quick" = 1 ] || cluster_section
} | tee .build/report.md
