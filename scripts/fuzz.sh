#!/usr/bin/env bash
# Builds Dateline's libFuzzer targets (the Fuzz/ package, instrumented with -sanitize=fuzzer,address) and runs
# each for a time or a number of executions, starting from its seed corpus in Fuzz/Corpus/<target>/.
#
# Usage: scripts/fuzz.sh [--seconds N | --runs N] [--no-build] [--keep-going] [--no-asan] [--list] [TARGET...]
#   (one run at a time per scratch directory, Fuzz/.build-fuzz or FUZZ_SCRATCH; a second one stops with an error)
#   --seconds N   fuzz each target for N seconds (default: 20)
#   --runs N      fuzz each target for N executions (with --seconds too: whichever comes first)
#   --no-build    use the fuzzers already built
#   --keep-going  libFuzzer's fork mode: go on after a crash (collecting every crash input) until the time or
#                 runs are used up; the default stops a target at its first crash
#   --no-asan     build with -sanitize=fuzzer alone (into <scratch>/no-asan): several times the executions per
#                 second for long campaigns; Swift's own checks (bounds, overflow, unwrap) still trap, but memory
#                 errors in unsafe code (zlib buffers, mmap) are caught only by the default ASan build
#   --list        print the targets and exit
#   TARGET        frame-decoder payload-decoder decompression article-plaintext article-json article-jsonl
#                 article-reuters query-parser article-extraction (default: all)
#
# Before fuzzing, each target replays its reproducers in Fuzz/Regressions/<target>/ (each must now pass).
# Prints per target the executions done, exec/s, corpus size and findings; exits 1 when anything crashed,
# hung, ran out of memory or tripped a sanitizer (the input that did is named: Fuzz/.build-fuzz/artifacts/).
# The working corpus grows in Fuzz/.build-fuzz/corpus/<target>/ (never committed); logs are beside it.
# Run it under `nice -n 19` on a shared machine.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/scripts/common.sh"
FUZZ="$ROOT/Fuzz"
SCRATCH="${FUZZ_SCRATCH:-$FUZZ/.build-fuzz}"  # FUZZ_SCRATCH: build somewhere else (e.g. a clean build)
ALL_TARGETS=(frame-decoder payload-decoder decompression article-plaintext article-json article-jsonl article-reuters query-parser article-extraction)

seconds=""
runs=""
build=1
keep_going=0
sanitizers="fuzzer,address"
build_path="$SCRATCH"
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep-going) keep_going=1; shift ;;
    --no-asan) sanitizers="fuzzer"; build_path="$SCRATCH/no-asan"; shift ;;
    --list) printf '%s\n' "${ALL_TARGETS[@]}"; exit 0 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    *)
      if [[ " ${ALL_TARGETS[*]} " != *" $1 "* ]]; then
        echo "error: unknown target $1; targets: ${ALL_TARGETS[*]}" >&2
        exit 2
      fi
      targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
[ -n "$seconds" ] || [ -n "$runs" ] || seconds=20

# One run per scratch directory: two would rebuild the binaries under each other and share logs and artifacts.
mkdir -p "$SCRATCH"
exec 9>"$SCRATCH/.fuzz.lock"
if command -v flock >/dev/null 2>&1 && ! flock -n 9; then
  echo "error: another scripts/fuzz.sh is using $SCRATCH; wait for it, or give this one its own FUZZ_SCRATCH=DIR" >&2
  exit 2
fi

BUILD_FLAGS=(-c release --package-path "$FUZZ" --scratch-path "$build_path" -Xswiftc "-sanitize=$sanitizers" -Xswiftc -parse-as-library)
if [ "$build" -eq 1 ]; then
  check_prerequisites
  started=$(date +%s)
  for target in "${targets[@]}"; do
    echo "== building $target" >&2
    # The build's own status, kept apart from the filter's (with `|| true` after the pipe, a failed build
    # would read as a success and stale binaries would be fuzzed).
    status=0
    swift build "${BUILD_FLAGS[@]}" --product "$target" >"$SCRATCH/build-$target.log" 2>&1 || status=$?
    grep -Ev '^\[[0-9]+/[0-9]+\] |warning: |^ *[0-9]* *\||^ *`-|^$' "$SCRATCH/build-$target.log" >&2 || true
    [ "$status" -eq 0 ] || { echo "error: building $target failed (log: $SCRATCH/build-$target.log)" >&2; exit 2; }
  done
  echo "== built in $(( $(date +%s) - started )) s" >&2
fi
BIN="$build_path/release"
# Swift's own crash backtracer would race ASan's report (and trip it); libFuzzer prints the stack instead.
export SWIFT_BACKTRACE=enable=no

# libFuzzer's options: -timeout flags a single input running over 10 s as a hang; -rss_limit_mb an input
# using 2 GiB as a memory blow-up; -print_final_stats gives the figures parsed below.
libfuzzer_flags() {
  local target="$1"
  local flags=(-print_final_stats=1 -timeout=10 -rss_limit_mb=2048 "-artifact_prefix=$SCRATCH/artifacts/$target/")
  [ -n "$seconds" ] && flags+=("-max_total_time=$seconds")
  [ -n "$runs" ] && flags+=("-runs=$runs")
  # FUZZ_SEED: a fixed seed, so that a pass with --runs is the same pass every time (CI's).
  [ -n "${FUZZ_SEED:-}" ] && flags+=("-seed=$FUZZ_SEED")
  [ -f "$FUZZ/Dictionaries/$target.dict" ] && flags+=("-dict=$FUZZ/Dictionaries/$target.dict")
  [ "$keep_going" -eq 1 ] && flags+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  printf '%s\n' "${flags[@]}"
}

# The first line of a crash report that says what happened: a Swift fatal error or runtime failure, else the
# sanitizer's or libFuzzer's own summary.
describe_crash() {
  local reason where
  reason=$(grep -m1 -E 'Fatal error: |in Swift runtime failure: ' "$1" | sed -E 's/^ *#[0-9]+ 0x[0-9a-f]+ in //; s| /<compiler-generated>$||' || true)
  [ -n "$reason" ] || reason=$(grep -m1 -E '^==[0-9]+== ?ERROR: ' "$1" | sed -E 's/^==[0-9]+== ?//' || true)
  [ -n "$reason" ] || reason=$(grep -m1 -E '^SUMMARY: ' "$1" || true)
  # The innermost frame in the project's sources (not the fuzzer's), e.g. Sources/DatelineSearch/SearchIndex.swift:553
  where=$(grep -E '^ *#[0-9]+ 0x' "$1" | grep -oE '/Sources/Dateline[A-Za-z]+/[A-Za-z+]+\.swift:[0-9]+' | head -1 || true)
  echo "${reason:0:160}${where:+ at ${where#/}}"
}

failed=0
summary=()
for target in "${targets[@]}"; do
  binary="$BIN/$target"
  [ -x "$binary" ] || { echo "error: $binary is not built (run without --no-build)" >&2; exit 2; }
  corpus="$SCRATCH/corpus/$target"
  logs="$SCRATCH/logs"
  mkdir -p "$corpus" "$logs" "$SCRATCH/artifacts/$target"
  findings=()

  # Reproducers of earlier findings: each must pass now.
  regressions=("$FUZZ/Regressions/$target"/*)
  if [ -e "${regressions[0]}" ]; then
    for input in "${regressions[@]}"; do
      if ! "$binary" -timeout=10 -rss_limit_mb=2048 "$input" >"$logs/$target-regression.log" 2>&1; then
        findings+=("regression fails again: $input: $(describe_crash "$logs/$target-regression.log")")
      fi
    done
  fi

  echo "== fuzzing $target${seconds:+ for ${seconds}s}${runs:+ (at most $runs runs)}" >&2
  mapfile -t flags < <(libfuzzer_flags "$target")
  before=$(find "$SCRATCH/artifacts/$target" -type f | sort)
  started=$(date +%s)
  set +e
  # In fork mode libFuzzer does its own bookkeeping in a temporary directory; it always runs from $SCRATCH.
  (cd "$SCRATCH" && "$binary" "${flags[@]}" "$corpus" "$FUZZ/Corpus/$target") >"$logs/$target.log" 2>&1
  status=$?
  set -e
  elapsed=$(( $(date +%s) - started ))
  log="$logs/$target.log"
  if [ "$keep_going" -eq 1 ]; then
    # Fork mode: "#N: cov: C ft: F corp: K exec/s: E oom/timeout/crash: a/b/c time: Ts job: J ..."
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
    executions=$(sed -nE 's/^#([0-9]+): .*/\1/p' <<<"$last")
    rate=$(( ${executions:-0} / (elapsed > 0 ? elapsed : 1) ))  # the lines give the last job's rate only
    corpus_size=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$last")
  else
    executions=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p' "$log" | tail -1)
    rate=$(sed -nE 's/^stat::average_exec_per_sec: +([0-9]+)/\1/p' "$log" | tail -1)
    corpus_size=$(grep -E '^#[0-9]+' "$log" | sed -nE 's/.* corp: ([0-9]+)\/([0-9]+[a-zA-Z]*).*/\1 (\2)/p' | tail -1)
  fi
  coverage=$(grep -E '^#[0-9]+' "$log" | sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+).*/\1 edges, \2 features/p' | tail -1)
  # Each new crash input, replayed for what it trips; inputs that trip the same thing are listed once.
  declare -A seen=()
  while IFS= read -r artifact; do
    [ -n "$artifact" ] || continue
    "$binary" -timeout=10 -rss_limit_mb=2048 "$artifact" >"$logs/$target-replay.log" 2>&1 && reason="passes when replayed" || reason=$(describe_crash "$logs/$target-replay.log")
    key="${reason//0x[0-9a-f]*/}"
    seen[$key]=$(( ${seen[$key]:-0} + 1 ))
    [ "${seen[$key]}" -eq 1 ] && findings+=("$artifact: $reason")
  done < <(comm -13 <(echo "$before") <(find "$SCRATCH/artifacts/$target" -type f | sort))
  for key in "${!seen[@]}"; do
    [ "${seen[$key]}" -gt 1 ] && findings+=("(and $(( seen[$key] - 1 )) more inputs tripping the same)")
  done
  unset seen
  if [ "$status" -ne 0 ] && [ ${#findings[@]} -eq 0 ]; then findings+=("libFuzzer exited with status $status (log: $log)"); fi
  line="$target: ${executions:-?} executions in ${elapsed}s (${rate:-?} exec/s), corpus ${corpus_size:-?}, coverage ${coverage:-?}"
  if [ ${#findings[@]} -gt 0 ]; then
    failed=1
    line+=", FOUND ${#findings[@]}:"
    for finding in "${findings[@]}"; do line+=$'\n    '"$finding"; done
    line+=$'\n    '"log: $log"
  else
    line+=", no findings"
  fi
  summary+=("$line")
  echo "$line" >&2
done

echo
echo "Fuzzing summary:"
for line in "${summary[@]}"; do echo "  $line"; done
if [ "$failed" -ne 0 ]; then
  echo "Reproduce a finding with: $BIN/<target> <input>   (see Fuzz/README.md)"
  exit 1
fi
