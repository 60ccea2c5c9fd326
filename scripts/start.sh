#!/usr/bin/env bash
# Builds Dateline (release) if needed, starts dateline-ingest and dateline-query in the background with their
# data under $DATELINE_HOME (default: .dateline in the checkout), loads samples/ into a new store, and answers
# a query. Running it again is harmless: running services are left alone.
#
#   scripts/start.sh [--tls]
#
# --tls: both services serve TLS only, with a local CA and a certificate made by openssl in $DATELINE_HOME/tls
# (kept for later runs); dateline-query follows dateline-ingest over TLS; the scripts' CLI trusts that CA
# (for your own shell: export DATELINE_TLS_CA=$DATELINE_HOME/tls/ca.pem).
set -euo pipefail
source "$(dirname "$0")/common.sh"
check_prerequisites
tls=0
for argument in "$@"; do
  case "$argument" in
    --tls) tls=1 ;;
    *) echo "usage: scripts/start.sh [--tls]" >&2; exit 2 ;;
  esac
done

echo "building (release)..."
(cd "$ROOT" && swift build -c release 2>&1 | tail -n 1)
BIN="$(release_bin)"
mkdir -p "$DATELINE_HOME/logs"
# Two malloc arenas instead of one per allocating thread: freed memory is returned rather than scattered over
# arenas (dateline-query's RssAnon after indexing Reuters-21578: 72 MB instead of 116 MB). Set it to override.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"

start() {
  local name="$1"; shift
  start_service "$name" "$DATELINE_HOME/$name.pid" "$DATELINE_HOME/logs/$name.log" "$BIN/$name" "$@"
}

ingest_tls=()
query_tls=()
if pid_alive "$DATELINE_HOME/dateline-ingest.pid" || pid_alive "$DATELINE_HOME/dateline-query.pid"; then
  # Running services keep what they were started with.
  if [ "$tls" = 1 ] && [ ! -f "$TLS_DIR/active" ]; then
    echo "note: the services run without TLS; scripts/stop.sh first to restart them with --tls" >&2
  fi
elif [ "$tls" = 1 ]; then
  make_tls_material "$TLS_DIR"
  touch "$TLS_DIR/active"
  export DATELINE_TLS_CA="$TLS_DIR/ca.pem"
else
  rm -f "$TLS_DIR/active"
  unset DATELINE_TLS_CA
fi
if [ -f "$TLS_DIR/active" ]; then
  ingest_tls=(--tls-cert "$TLS_DIR/node.pem" --tls-key "$TLS_DIR/node.key")
  query_tls=("${ingest_tls[@]}" --ingest-tls-ca "$TLS_DIR/ca.pem")
fi

start dateline-ingest --host "${DATELINE_INGEST%:*}" --port "${DATELINE_INGEST##*:}" --data-dir "$DATELINE_HOME/ingest" "${ingest_tls[@]}"
start dateline-query --host "${DATELINE_QUERY%:*}" --port "${DATELINE_QUERY##*:}" --ingest "$DATELINE_INGEST" --data-dir "$DATELINE_HOME/query" "${query_tls[@]}"

for _ in $(seq 1 100); do
  if "$BIN/dateline" health >/dev/null 2>&1; then break; fi
  sleep 0.2
done
if ! "$BIN/dateline" health >/dev/null 2>&1; then
  "$BIN/dateline" health || true
  echo "error: the services did not become healthy; see $DATELINE_HOME/logs/" >&2
  exit 1
fi

# The ingest service's article count (the first "articleCount" of the sorted JSON document).
articles="$("$BIN/dateline" stats -o json 2>/dev/null | grep -m 1 -o '"articleCount" : [0-9]*' | grep -o '[0-9]*$' || echo 0)"
if [ "$articles" = "0" ]; then
  echo "loading the sample articles..."
  "$BIN/dateline" ingest "$ROOT/samples" --wait
fi

echo
"$BIN/dateline" health
echo
echo "logs:    $DATELINE_HOME/logs/"
echo "data:    $DATELINE_HOME/"
echo "CLI:     $BIN/dateline   (stop with scripts/stop.sh)"
if [ -f "$TLS_DIR/active" ]; then
  echo "TLS:     on; for the CLI: export DATELINE_TLS_CA=$TLS_DIR/ca.pem"
fi
echo
echo "$ dateline search '\"rare earth\" OR counterterrorism'"
"$BIN/dateline" search '"rare earth" OR counterterrorism'
echo
echo "$ dateline timeline Rubio Dar"
"$BIN/dateline" timeline Rubio Dar
