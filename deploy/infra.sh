#!/usr/bin/env bash
# Local infrastructure for the services and the tests: Kafka (KRaft) + PostgreSQL on 127.0.0.1.
#   deploy/infra.sh up|down|status
# `up` reuses whatever already answers. Progress goes to stderr; stdout carries only the
# settings the services read, e.g.:  set -a; eval "$(deploy/infra.sh up)"; set +a
# Env: ICB_KAFKA_PORT, ICB_KAFKA_CONTROLLER_PORT, ICB_PG_PORT, ICB_RUN_DIR, PYTHON (see kafka.sh, postgres.sh).
set -euo pipefail

DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

settings() {
  echo "ICB_DATABASE_URL=postgresql+asyncpg://icb:icb@127.0.0.1:${ICB_PG_PORT:-5433}/icb"
  echo "ICB_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${ICB_KAFKA_PORT:-9092}"
}

case ${1:-} in
  up)
    "$DEPLOY/postgres.sh" install
    "$DEPLOY/kafka.sh" install
    "$DEPLOY/postgres.sh" start
    "$DEPLOY/kafka.sh" start
    settings
    ;;
  down)
    "$DEPLOY/kafka.sh" stop
    "$DEPLOY/postgres.sh" stop
    ;;
  status)
    rc=0
    "$DEPLOY/postgres.sh" status || rc=1
    "$DEPLOY/kafka.sh" status || rc=1
    settings
    exit "$rc"
    ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
