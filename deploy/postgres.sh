#!/usr/bin/env bash
# Private PostgreSQL 15 cluster on 127.0.0.1 (initdb/pg_ctl; the system cluster is left alone).
#   deploy/postgres.sh install|start|stop|status
# Env: ICB_PG_PORT (5433), ICB_RUN_DIR (<repo>/.run). Role and database: icb / password icb.
set -euo pipefail

DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN_DIR=${ICB_RUN_DIR:-$(dirname "$DEPLOY")/.run}
PORT=${ICB_PG_PORT:-5433}
PG_BIN=/usr/lib/postgresql/15/bin

say() { echo "postgres: $*" >&2; }
# initdb refuses root: as root, run the server tools as the postgres OS user
as_pg() { if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

# Cluster area: <run>/pg, or a fixed folder in /tmp when the postgres user cannot reach the run
# dir (e.g. a clone under /root) or the socket path would exceed its 107-byte limit.
# An existing cluster in either place wins, so stop/status find what start created.
set_root() {
  ROOT=$RUN_DIR/pg
  local tmp
  tmp=/tmp/icb-pg-$(printf %s "$RUN_DIR" | md5sum | cut -c1-8)
  if [[ ! -f $ROOT/data/PG_VERSION ]]; then
    if [[ -f $tmp/data/PG_VERSION ]] || ((${#ROOT} > 80)) ||
      { ((EUID == 0)) && ! (cd / && runuser -u postgres -- test -x "$RUN_DIR") 2>/dev/null; }; then
      ROOT=$tmp
    fi
  fi
  DATA=$ROOT/data SOCK=$ROOT/socket LOG=$ROOT/postgres.log
}

answers() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 3; }
# our postmaster runs (a killed one can linger as a zombie, which pg_ctl would take for alive)
ours() {
  local pid st
  pid=$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null) && st=$(cat "/proc/$pid/stat" 2>/dev/null) \
    && [[ $st == "$pid (postgres) "[!Z]* ]]
}

install() {
  if [[ -x $PG_BIN/postgres && -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]]; then
    say "PostgreSQL 15 binaries present"
    return
  fi
  say "installing PostgreSQL 15 from Debian"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
}

init_cluster() {
  as_pg mkdir -p -m 700 "$SOCK"
  if [[ ! -f $DATA/PG_VERSION ]]; then
    rm -rf "$DATA"  # leftovers of an interrupted initdb
    say "initdb in $DATA"
    # text compares byte by byte (C): the keys' indexes are all text, and C.UTF-8 orders
    # the same (by code point) through the slower strcoll; character classes stay UTF-8
    as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 --lc-collate=C \
      --auth-local=trust --auth-host=scram-sha-256 >"$ROOT/initdb.log" 2>&1 \
      || { tail -n 20 "$ROOT/initdb.log" >&2; exit 1; }
  fi
  # our settings live in icb.conf, rewritten on every start (the port may change)
  as_pg tee "$DATA/icb.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
max_connections = 200
shared_buffers = 256MB
fsync = on
CONF
  grep -q "^include_if_exists = 'icb.conf'" "$DATA/postgresql.conf" \
    || echo "include_if_exists = 'icb.conf'" | as_pg tee -a "$DATA/postgresql.conf" >/dev/null
}

ensure_db() {
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres -d postgres <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'icb') THEN
    CREATE ROLE icb LOGIN SUPERUSER PASSWORD 'icb';
  END IF;
END $$;
SELECT 'CREATE DATABASE icb OWNER icb' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'icb') \gexec
SQL
}

# a cluster made by an earlier version of this script, before initdb took --lc-collate=C,
# keeps its collation: it works, only slower
note_collation() {
  local collate
  collate=$(as_pg "$PG_BIN/psql" -X -q -At -h "$SOCK" -p "$PORT" -U postgres -d postgres \
    -c "SELECT datcollate FROM pg_database WHERE datname = 'template1'")
  [[ $collate == C ]] || say "this cluster collates text by $collate, not C: remove $DATA" \
    "for a new cluster, which compares keys faster"
}

start() {
  [[ -x $PG_BIN/pg_ctl ]] || install
  mkdir -p "$RUN_DIR"
  set_root
  mkdir -p "$ROOT"
  if ((EUID == 0)); then chown postgres:postgres "$ROOT"; fi
  exec 9>"$ROOT/.lock"
  flock 9  # one start at a time per cluster (initdb, role and database creation)
  if answers; then
    say "a server already answers on 127.0.0.1:$PORT, reusing it"
  else
    init_cluster
    ours || rm -f "$DATA/postmaster.pid" "$SOCK"/.s.PGSQL.*  # stale locks of a killed server
    say "starting cluster $DATA on 127.0.0.1:$PORT, log $LOG"
    # -w returns early if the postmaster dies; pg_isready then confirms TCP on our port
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null 9>&- \
      || { say "failed; last lines of $LOG:"; tail -n 20 "$LOG" >&2; exit 1; }
    local deadline=$((SECONDS + 30))
    until answers; do
      ((SECONDS < deadline)) || { say "no answer on 127.0.0.1:$PORT; see $LOG"; exit 1; }
      sleep 0.3
    done
  fi
  if ours; then ensure_db; note_collation; fi
  PGPASSWORD=icb "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U icb -d icb -c 'SELECT 1' >/dev/null \
    || { say "the server on 127.0.0.1:$PORT does not accept icb/icb; stop it or set ICB_PG_PORT"; exit 1; }
  say "ready on 127.0.0.1:$PORT (database icb, role icb)"
}

stop() {
  set_root
  if ours; then
    say "stopping cluster $DATA"
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" stop -m fast -w -t 60 >/dev/null
  else
    say "no cluster of ours is running ($DATA)"
  fi
}

status() {
  local note=""
  set_root
  ours && note=" (our cluster, $DATA)"
  if answers; then echo "postgres: answers on 127.0.0.1:$PORT$note"
  else echo "postgres: not answering on 127.0.0.1:$PORT$note"; return 1; fi
}

case ${1:-} in
  install | start | stop | status) "$1" ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
