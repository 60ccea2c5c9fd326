#!/usr/bin/env bash
# Stops dateline-query and dateline-ingest gracefully (SIGTERM: drain, GoAway, sync, exit).
set -euo pipefail
source "$(dirname "$0")/common.sh"

for name in dateline-query dateline-ingest; do
  pidfile="$DATELINE_HOME/$name.pid"
  if ! pid_alive "$pidfile"; then
    echo "$name is not running"
    rm -f "$pidfile"
    continue
  fi
  pid="$(cat "$pidfile")"
  kill -TERM "$pid"
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name did not stop within 15 s; sending SIGKILL"
    kill -KILL "$pid" || true
  fi
  rm -f "$pidfile"
  echo "stopped $name"
done
