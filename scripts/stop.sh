#!/usr/bin/env bash
# Stops what scripts/start.sh and scripts/cluster.sh started: dateline-query before dateline-ingest (SIGTERM:
# drain, GoAway, sync, exit), then the cluster's PostgreSQL server.
set -euo pipefail
source "$(dirname "$0")/common.sh"

stop_process() {
  local name="$1" pidfile="$2"
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile"
    return 1
  fi
  local pid
  pid="$(cat "$pidfile")"
  kill -TERM "$pid"
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name did not stop within 15 s; sending SIGKILL"
    kill -KILL "$pid" || true
  fi
  rm -f "$pidfile"
  echo "stopped $name"
}

for name in dateline-query dateline-ingest; do
  stop_process "$name" "$DATELINE_HOME/$name.pid" || echo "$name is not running"
done

cluster="$DATELINE_HOME/cluster"
if [ -d "$cluster" ]; then
  for name in query-0 query-1 ingest-0 ingest-1; do
    stop_process "cluster $name" "$cluster/$name.pid" || true
  done
  if [ -f "$cluster/postgres/postmaster.pid" ]; then
    "$ROOT/scripts/postgres.sh" stop "$cluster/postgres"
    echo "stopped the cluster's PostgreSQL"
  fi
fi
