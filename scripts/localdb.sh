#!/usr/bin/env bash
# Project-local PostGIS cluster under var/ (no system service needed).
#
#   scripts/localdb.sh start   initialise (once) and start the cluster, create the databases
#   scripts/localdb.sh stop    stop it
#   scripts/localdb.sh url     print the DATABASE_URL of the local cluster
#
# PostgreSQL refuses to run as root, so when this runs as root the cluster belongs to the
# Debian 'postgres' system user; otherwise it belongs to the invoking user.
# The port is chosen once (first free port from 54329) and kept in var/pg/port, so two
# clones on one machine do not collide.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR="$ROOT/var"
PGROOT="$VAR/pg"
DATA="$PGROOT/data"
RUNDIR="$PGROOT/run"
LOG="$PGROOT/postgres.log"
BIN=/usr/lib/postgresql/15/bin
DB_NAME=${GRIDMAP_DB_NAME:-gridmap}

die() { echo "localdb: $*" >&2; exit 1; }

[ -x "$BIN/pg_ctl" ] || die "PostgreSQL 15 is not installed ($BIN/pg_ctl missing); run 'make system' first."

if [ "$(id -u)" = 0 ]; then
  OWNER=postgres
  as_owner() { runuser -u postgres -- "$@"; }
else
  OWNER=$(id -un)
  as_owner() { "$@"; }
fi

free_port() {
  local p=${GRIDMAP_PG_PORT:-54329}
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

port() { cat "$PGROOT/port"; }
password() { cat "$PGROOT/password"; }

url() {
  echo "postgis://gridmap:$(password)@127.0.0.1:$(port)/$DB_NAME"
}

ensure_traversable() {
  # The postgres user must be able to reach var/pg; a fresh clone under a 0700 mktemp
  # directory would block it. Open the search (x) bit on the ancestors that lack it.
  [ "$OWNER" = postgres ] || return 0
  local d="$PGROOT"
  while [ "$d" != "/" ]; do
    if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
      echo "localdb: granting search permission on $d so the postgres user can reach var/pg"
      chmod o+x "$d"
    fi
    d=$(dirname "$d")
  done
}

init() {
  mkdir -p "$PGROOT"
  if [ ! -f "$PGROOT/port" ]; then free_port >"$PGROOT/port"; fi
  if [ ! -f "$PGROOT/password" ]; then
    (umask 077; head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$PGROOT/password")
  fi
  if [ ! -s "$DATA/PG_VERSION" ]; then
    echo "localdb: initialising a PostgreSQL 15 cluster in $DATA"
    mkdir -p "$DATA" "$RUNDIR"
    chown -R "$OWNER" "$PGROOT"
    chmod 700 "$DATA"
    ensure_traversable
    local pwfile="$RUNDIR/pwfile"
    password >"$pwfile"; chown "$OWNER" "$pwfile"; chmod 600 "$pwfile"
    as_owner "$BIN/initdb" -D "$DATA" -U gridmap --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$PGROOT/initdb.log" 2>&1 \
      || { cat "$PGROOT/initdb.log" >&2; die "initdb failed"; }
    rm -f "$pwfile"
    cat >>"$DATA/postgresql.conf" <<CONF
# gridmap local cluster
listen_addresses = '127.0.0.1'
port = $(port)
unix_socket_directories = '$RUNDIR'
shared_buffers = 1GB
# Well above what gridmap holds (docs/deployment.md, "Database connections": gunicorn's
# workers x threads + the worker's 7 + management; 20 with the defaults, 32 during a
# graceful reload), with room for the tests' servers and a psql or two.
max_connections = 100
work_mem = 64MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
fsync = on
synchronous_commit = off
CONF
  fi
  ensure_traversable
}

running() { as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

start() {
  init
  if ! running; then
    rm -f "$DATA/postmaster.pid" 2>/dev/null || true
    # Another clone's cluster may have taken our port while ours was stopped: move to a free
    # one (the port is passed on the command line, so postgresql.conf's first choice yields).
    if (exec 3<>"/dev/tcp/127.0.0.1/$(port)") 2>/dev/null; then
      local taken; taken=$(port)
      GRIDMAP_PG_PORT=$((taken + 1)) free_port >"$PGROOT/port"
      echo "localdb: port $taken is taken by another server; using $(port)"
    fi
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 -o "-p $(port)" start >/dev/null \
      || { tail -20 "$LOG" >&2; die "the cluster did not start (log: $LOG)"; }
    echo "localdb: PostgreSQL running on 127.0.0.1:$(port) (data in var/pg/data)"
  fi
  for db in "$DB_NAME"; do
    if ! psql_local -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
      psql_local -qc "CREATE DATABASE $db"
      echo "localdb: created database $db"
    fi
    psql_local -d "$db" -qc "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS btree_gist;"
  done
}

psql_local() { PGOPTIONS="-c client_min_messages=warning" as_owner "$BIN/psql" -h "$RUNDIR" -p "$(port)" -U gridmap -d postgres -v ON_ERROR_STOP=1 "$@"; }

stop() {
  if [ -s "$DATA/PG_VERSION" ] && running; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    echo "localdb: stopped"
  else
    echo "localdb: not running"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) url ;;
  psql) shift; psql_local -d "$DB_NAME" "$@" ;;
  *) die "usage: $0 start|stop|url|psql" ;;
esac
