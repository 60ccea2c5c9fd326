#!/usr/bin/env bash
# A local cluster on loopback: a PostgreSQL server holding the shared ingest log (its data directory under
# $DATELINE_HOME/cluster/postgres; run as the unprivileged user "postgres" when invoked as root), two
# dateline-ingest nodes on it and two dateline-query replicas following them. Loads samples/ through both
# ingest nodes and answers a query through both replicas. Running it again is harmless: what runs is left
# alone. scripts/stop.sh stops all of it.
#
# Ports (DATELINE_CLUSTER_PORT, default 7410): ingest nodes BASE and BASE+1, query replicas BASE+10 and
# BASE+11, PostgreSQL BASE+20.
set -euo pipefail
source "$(dirname "$0")/common.sh"
check_prerequisites

base="${DATELINE_CLUSTER_PORT:-7410}"
cluster="$DATELINE_HOME/cluster"
ingest_nodes="127.0.0.1:$base,127.0.0.1:$((base + 1))"
query_replicas="127.0.0.1:$((base + 10)),127.0.0.1:$((base + 11))"
pg_port=$((base + 20))

echo "building (release)..."
(cd "$ROOT" && swift build -c release 2>&1 | tail -n 1)
BIN="$(release_bin)"
mkdir -p "$cluster/logs"
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"

log_url="$("$ROOT/scripts/postgres.sh" start "$cluster/postgres" "$pg_port")"
echo "PostgreSQL: $log_url (data in $cluster/postgres)"

start() {
  local name="$1" binary="$2"; shift 2
  start_service "$name" "$cluster/$name.pid" "$cluster/logs/$name.log" "$BIN/$binary" "$@"
}

for node in 0 1; do
  start "ingest-$node" dateline-ingest --host 127.0.0.1 --port $((base + node)) \
    --data-dir "$cluster/ingest-$node" --log "$log_url"
done
for replica in 0 1; do
  start "query-$replica" dateline-query --host 127.0.0.1 --port $((base + 10 + replica)) \
    --ingest "$ingest_nodes" --data-dir "$cluster/query-$replica"
done

export DATELINE_INGEST="$ingest_nodes" DATELINE_QUERY="$query_replicas"
# Every node must answer on its own: the CLI with one address at a time.
healthy() {
  local node
  for node in ${ingest_nodes//,/ }; do "$BIN/dateline" health --ingest "$node" --query "${query_replicas%%,*}" >/dev/null 2>&1 || return 1; done
  for node in ${query_replicas//,/ }; do "$BIN/dateline" health --ingest "${ingest_nodes%%,*}" --query "$node" >/dev/null 2>&1 || return 1; done
}
for _ in $(seq 1 150); do
  if healthy; then break; fi
  sleep 0.2
done
if ! healthy; then
  "$BIN/dateline" health || true
  echo "error: the cluster did not become healthy; see $cluster/logs/" >&2
  exit 1
fi

articles="$("$BIN/dateline" stats -o json 2>/dev/null | grep -m 1 -o '"articleCount" : [0-9]*' | grep -o '[0-9]*$' || echo 0)"
if [ "$articles" = "0" ]; then
  echo "loading the sample articles through both ingest nodes..."
  "$BIN/dateline" ingest "$ROOT/samples" --wait
fi

echo
echo "ingest nodes:   $ingest_nodes"
echo "query replicas: $query_replicas"
echo "logs:           $cluster/logs/"
echo "CLI:            DATELINE_INGEST=$ingest_nodes DATELINE_QUERY=$query_replicas $BIN/dateline ..."
echo "                (stop with scripts/stop.sh)"
for replica in ${query_replicas//,/ }; do
  echo
  echo "$ dateline search --query $replica '\"rare earth\" OR counterterrorism'"
  "$BIN/dateline" search --query "$replica" '"rare earth" OR counterterrorism'
done
