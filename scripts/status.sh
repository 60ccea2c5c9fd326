#!/usr/bin/env bash
# Shows both services' health and figures.
set -uo pipefail
source "$(dirname "$0")/common.sh"
BIN="$(release_bin)"
if [ ! -x "$BIN/dateline" ]; then
  echo "Dateline is not built yet: run scripts/start.sh" >&2
  exit 1
fi
"$BIN/dateline" health
status=$?
echo
"$BIN/dateline" stats
exit $status
