#!/usr/bin/env bash
# A throwaway local PostgreSQL for Dateline: its own data directory, its own port, loopback only.
#
#   scripts/postgres.sh start DIR PORT     initdb DIR if it is new, start the server on 127.0.0.1:PORT (unless it
#                                          runs already), create the database "dateline"; prints the connection URL
#   scripts/postgres.sh stop DIR           stop the server whose data directory is DIR
#   scripts/postgres.sh standby PRIMARY_PORT DIR PORT
#                                          a streaming-replication standby of the server on PRIMARY_PORT
#                                          (pg_basebackup into DIR), started on PORT
#   scripts/postgres.sh synchronous DIR    make the primary in DIR commit only once its standby has the commit
#   scripts/postgres.sh promote DIR        promote the standby in DIR to primary
#   scripts/postgres.sh kill DIR           SIGKILL the server in DIR and all its processes at once (a lost machine)
#   scripts/postgres.sh bindir             where PostgreSQL's server programs are (fails when they are missing)
#   scripts/postgres.sh free-port          a TCP port nothing listens on, outside the kernel's range for outgoing
#                                          connections' local ports (so that none can hold it when a server binds)
#
# PostgreSQL refuses to run as root: invoked as root, the server runs as the unprivileged user "postgres"
# (created by Debian's package), which then owns DIR. Authentication is "trust" on loopback: this is a
# server for tests and local clusters, not for a shared machine.
set -euo pipefail

find_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  echo "error: PostgreSQL's server programs (initdb, pg_ctl) were not found. On Debian or Ubuntu: sudo apt-get install postgresql" >&2
  exit 2
}

BINDIR="$(find_bindir)"

# Runs a server program as the user that may run it.
as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

prepare_dir() {
  mkdir -p "$1"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$1"
    # The server user must be able to reach the directory through its parents.
    local parent
    parent="$(dirname "$1")"
    while [ "$parent" != "/" ]; do
      chmod o+x "$parent" 2>/dev/null || true
      parent="$(dirname "$parent")"
    done
  fi
  chmod 700 "$1"
}

start_server() {
  local dir="$1" port="$2"
  if as_server_user "$BINDIR/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    return 0  # already running: starting again is harmless
  fi
  if ! as_server_user "$BINDIR/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k /tmp -c fsync=on -c synchronous_commit=on" start >/dev/null; then
    echo "error: the server in $dir did not start on port $port; the end of its log:" >&2
    tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
    exit 1
  fi
}

command="${1:-}"
case "$command" in
  bindir)
    echo "$BINDIR"
    ;;
  free-port)
    # An outgoing connection takes its local port from ip_local_port_range (32768-60999 by default); a port
    # there that nothing listens on may still be held by one, and a server binding it then fails. Search below.
    read -r ephemeral_low ephemeral_high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || { ephemeral_low=32768; ephemeral_high=60999; }
    for port in $(seq 25400 25999) $(seq 61000 61499); do
      if [ "$port" -ge "$ephemeral_low" ] && [ "$port" -le "$ephemeral_high" ]; then
        continue
      fi
      if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "$port"
        exit 0
      fi
    done
    echo "error: no free port in 25400-25999 or 61000-61499 outside the ephemeral range $ephemeral_low-$ephemeral_high" >&2
    exit 1
    ;;
  start)
    dir="$(realpath -m "${2:?usage: postgres.sh start DIR PORT}")"
    port="${3:?usage: postgres.sh start DIR PORT}"
    if [ ! -f "$dir/PG_VERSION" ]; then
      prepare_dir "$dir"
      as_server_user "$BINDIR/initdb" -D "$dir" -U dateline --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 || {
        cat "$dir.initdb.log" >&2
        exit 1
      }
      {
        echo "wal_level = replica"
        echo "max_wal_senders = 8"
        echo "hot_standby = on"
      } >>"$dir/postgresql.conf"
      echo "host replication dateline 127.0.0.1/32 trust" >>"$dir/pg_hba.conf"
    fi
    start_server "$dir" "$port"
    if ! as_server_user "$BINDIR/psql" -h 127.0.0.1 -p "$port" -U dateline -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'dateline'" | grep -q 1; then
      as_server_user "$BINDIR/createdb" -h 127.0.0.1 -p "$port" -U dateline dateline
    fi
    echo "postgres://dateline@127.0.0.1:$port/dateline"
    ;;
  standby)
    primary_port="${2:?usage: postgres.sh standby PRIMARY_PORT DIR PORT}"
    dir="$(realpath -m "${3:?usage: postgres.sh standby PRIMARY_PORT DIR PORT}")"
    port="${4:?usage: postgres.sh standby PRIMARY_PORT DIR PORT}"
    if [ ! -f "$dir/PG_VERSION" ]; then
      prepare_dir "$dir"
      as_server_user "$BINDIR/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U dateline -D "$dir" -R -X stream -c fast >/dev/null || {
        echo "error: pg_basebackup from the server on port $primary_port into $dir failed" >&2
        exit 1
      }
      # Named, so that the primary can wait for it (synchronous replication, see 'synchronous').
      echo "primary_conninfo = 'host=127.0.0.1 port=$primary_port user=dateline application_name=dateline_standby'" >>"$dir/postgresql.auto.conf"
    fi
    start_server "$dir" "$port"
    echo "postgres://dateline@127.0.0.1:$port/dateline"
    ;;
  synchronous)
    # Commits on the primary in DIR wait until the standby named dateline_standby has them: no acknowledged
    # article is lost when the primary's machine is.
    dir="$(realpath -m "${2:?usage: postgres.sh synchronous DIR}")"
    port="$(sed -n 4p "$dir/postmaster.pid")"
    as_server_user "$BINDIR/psql" -h 127.0.0.1 -p "$port" -U dateline -d postgres -qc "ALTER SYSTEM SET synchronous_standby_names = 'dateline_standby'"
    as_server_user "$BINDIR/pg_ctl" -D "$dir" reload >/dev/null
    ;;
  kill)
    # As the loss of the server's machine: SIGKILL the postmaster and every process it started, at once. (Each
    # child is its own process group, so killing the postmaster's group would leave them to finish what they
    # were doing; the postmaster is stopped first, so that it forks nothing while they are listed.)
    dir="$(realpath -m "${2:?usage: postgres.sh kill DIR}")"
    pid="$(head -n 1 "$dir/postmaster.pid" 2>/dev/null || true)"
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
      echo "error: no running server in $dir" >&2
      exit 1
    fi
    kill -STOP "$pid"
    # shellcheck disable=SC2046
    kill -KILL "$pid" $(ps -o pid= --ppid "$pid") 2>/dev/null || true
    ;;
  promote)
    dir="$(realpath -m "${2:?usage: postgres.sh promote DIR}")"
    as_server_user "$BINDIR/pg_ctl" -D "$dir" -w promote >/dev/null
    ;;
  stop)
    dir="$(realpath -m "${2:?usage: postgres.sh stop DIR}")"
    if [ -f "$dir/postmaster.pid" ]; then
      as_server_user "$BINDIR/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
    fi
    ;;
  *)
    echo "usage: postgres.sh start DIR PORT | stop DIR | standby PRIMARY_PORT DIR PORT | synchronous DIR | promote DIR | kill DIR | bindir | free-port" >&2
    exit 2
    ;;
esac
