# Shared by the scripts: settings, prerequisite checks, and where things live.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATELINE_HOME="${DATELINE_HOME:-$ROOT/.dateline}"
DATELINE_INGEST="${DATELINE_INGEST:-127.0.0.1:7400}"
DATELINE_QUERY="${DATELINE_QUERY:-127.0.0.1:7401}"
export DATELINE_INGEST DATELINE_QUERY
TLS_DIR="$DATELINE_HOME/tls"
# Services started by `scripts/start.sh --tls` serve TLS: the CLI in these scripts trusts their CA.
if [ -f "$TLS_DIR/active" ] && [ -z "${DATELINE_TLS_CA:-}" ]; then
  export DATELINE_TLS_CA="$TLS_DIR/ca.pem"
fi

check_prerequisites() {
  local missing=0
  if ! command -v swift >/dev/null 2>&1; then
    echo "error: swift is not on PATH. Install a Swift 6.1+ toolchain (https://www.swift.org/install/linux/) and add its usr/bin to PATH." >&2
    missing=1
  fi
  if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists zlib; then
    echo "error: zlib's headers were not found through pkg-config. On Debian or Ubuntu: sudo apt-get install zlib1g-dev pkg-config" >&2
    missing=1
  fi
  [ "$missing" -eq 0 ] || exit 2
}

release_bin() {
  (cd "$ROOT" && swift build -c release --show-bin-path)
}

pid_alive() {
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# start_service NAME PIDFILE LOGFILE PROGRAM ARGS...: starts PROGRAM in the background unless the process in
# PIDFILE still runs; its output is appended to LOGFILE.
start_service() {
  local name="$1" pidfile="$2" logfile="$3"; shift 3
  if pid_alive "$pidfile"; then
    echo "$name is already running (pid $(cat "$pidfile"))"
    return
  fi
  nohup "$@" >>"$logfile" 2>&1 &
  echo $! >"$pidfile"
  echo "started $name (pid $!)"
}

# make_tls_material DIR: a local CA (DIR/ca.pem) and a certificate it signed for this machine's loopback names
# and the hosts of DATELINE_INGEST and DATELINE_QUERY (DIR/node.pem, DIR/node.key), unless they exist.
make_tls_material() {
  local dir="$1"
  [ -f "$dir/ca.pem" ] && [ -f "$dir/node.pem" ] && [ -f "$dir/node.key" ] && return
  if ! command -v openssl >/dev/null 2>&1; then
    echo "error: --tls needs openssl to make a local CA and certificates. On Debian or Ubuntu: sudo apt-get install openssl" >&2
    exit 2
  fi
  mkdir -p "$dir"
  chmod 700 "$dir"
  local names="IP:127.0.0.1,DNS:localhost" host
  for host in "${DATELINE_INGEST%:*}" "${DATELINE_QUERY%:*}"; do
    case "$host" in
      127.0.0.1 | localhost | 0.0.0.0) ;;
      *[!0-9.]*) names="$names,DNS:$host" ;;
      *) names="$names,IP:$host" ;;
    esac
  done
  (
    cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
      -subj "/CN=Dateline local CA" -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=dateline" \
      -keyout node.key -out node.csr 2>/dev/null
    printf 'subjectAltName=%s\n' "$names" >node.ext
    openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -extfile node.ext -out node.pem 2>/dev/null
    rm -f node.csr node.ext
    chmod 600 ca.key node.key
  )
  echo "made a local CA and a certificate for $names in $dir"
}
