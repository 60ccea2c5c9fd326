#!/usr/bin/env bash
# Runs every Dateline test, unit and integration. `.ci/run` calls exactly this.
set -euo pipefail
source "$(dirname "$0")/common.sh"
check_prerequisites
if ! command -v protoc >/dev/null 2>&1; then
  echo "note: protoc not found, so the check that protoc decodes every golden vector is skipped (sudo apt-get install protobuf-compiler)." >&2
fi
if ! command -v openssl >/dev/null 2>&1; then
  echo "note: openssl not found, so the TLS tests (which make their certificates with it) are skipped (sudo apt-get install openssl)." >&2
fi

cd "$ROOT"
swift build --build-tests
# First a short, deterministic fuzzing pass (fixed seed, fixed executions): every reproducer in Fuzz/Regressions/
# replays and each target runs from its seed corpus, instrumented with AddressSanitizer (scripts/fuzz.sh).
FUZZ_SEED=1 scripts/fuzz.sh --runs 20000
# A throwaway PostgreSQL for the shared-log tests (scripts/postgres.sh), stopped when the tests end. Without
# PostgreSQL's server programs those tests are skipped, and say so.
if [ -z "${DATELINE_TEST_POSTGRES:-}" ]; then
  if scripts/postgres.sh bindir >/dev/null 2>&1; then
    pg_dir="$(mktemp -d /tmp/dateline-test-postgres.XXXXXX)"
    trap 'scripts/postgres.sh stop "$pg_dir/data"; rm -rf "$pg_dir"' EXIT
    DATELINE_TEST_POSTGRES="$(scripts/postgres.sh start "$pg_dir/data" "$(scripts/postgres.sh free-port)")"
    export DATELINE_TEST_POSTGRES
    echo "PostgreSQL for the tests: $DATELINE_TEST_POSTGRES"
  else
    echo "note: PostgreSQL's server programs were not found, so the tests of the PostgreSQL log are skipped (sudo apt-get install postgresql)." >&2
  fi
fi
# Serially: the suite has CPU-heavy corpus tests and timing-bound service tests; on 2 cores they must not compete.
swift test --skip-build --no-parallel
