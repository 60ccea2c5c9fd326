#!/usr/bin/env bash
# Runs every Dateline test, unit and integration. `.ci/run` calls exactly this.
set -euo pipefail
source "$(dirname "$0")/common.sh"
check_prerequisites
if ! command -v protoc >/dev/null 2>&1; then
  echo "note: protoc not found, so the check that protoc decodes every golden vector is skipped (sudo apt-get install protobuf-compiler)." >&2
fi

cd "$ROOT"
swift build --build-tests
# First a short, deterministic fuzzing pass (fixed seed, fixed executions): every reproducer in Fuzz/Regressions/
# replays and each target runs from its seed corpus, instrumented with AddressSanitizer (scripts/fuzz.sh).
FUZZ_SEED=1 scripts/fuzz.sh --runs 20000
# Serially: the suite has CPU-heavy corpus tests and timing-bound service tests; on 2 cores they must not compete.
swift test --skip-build --no-parallel
