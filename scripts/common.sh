# Shared by the scripts: settings, prerequisite checks, and where things live.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATELINE_HOME="${DATELINE_HOME:-$ROOT/.dateline}"
DATELINE_INGEST="${DATELINE_INGEST:-127.0.0.1:7400}"
DATELINE_QUERY="${DATELINE_QUERY:-127.0.0.1:7401}"
export DATELINE_INGEST DATELINE_QUERY

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
