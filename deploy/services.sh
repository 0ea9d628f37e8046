#!/usr/bin/env bash
# The four services as separate processes on Kafka and PostgreSQL (settings from ICB_* env).
#   deploy/services.sh start|stop|status
set -euo pipefail

DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$DEPLOY")
RUN_DIR=${ICB_RUN_DIR:-$REPO/.run}
ICB=${ICB:-$REPO/.venv/bin/icb}
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
S=$RUN_DIR/services
declare -A PORTS=([ingest]=${ICB_INGEST_PORT:-8101} [mapping]=${ICB_MAPPING_PORT:-8102}
                  [invoicing]=${ICB_INVOICING_PORT:-8103} [gateway]=${ICB_GATEWAY_PORT:-8000})
ORDER=(ingest mapping invoicing gateway)

say() { echo "services: $*" >&2; }
running() { local pid; pid=$(cat "$S/$1.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; }

wait_ready() {
  local url=$1 name=$2
  for _ in $(seq 1 120); do
    if "$PYTHON" - "$url" <<'PY' 2>/dev/null; then return 0; fi
import sys, httpx
sys.exit(0 if httpx.get(sys.argv[1], timeout=2).status_code == 200 else 1)
PY
    running "$name" || { say "$name exited; see $S/$name.log"; tail -n 20 "$S/$name.log" >&2; return 1; }
    sleep 0.5
  done
  say "$name not ready at $url"; return 1
}

start() {
  mkdir -p "$S"
  "$ICB" migrate
  export ICB_INGEST_URL=http://127.0.0.1:${PORTS[ingest]}
  export ICB_MAPPING_URL=http://127.0.0.1:${PORTS[mapping]}
  export ICB_INVOICING_URL=http://127.0.0.1:${PORTS[invoicing]}
  for name in "${ORDER[@]}"; do
    if running "$name"; then say "$name already runs"; continue; fi
    nohup "$ICB" serve "$name" --port "${PORTS[$name]}" >"$S/$name.log" 2>&1 &
    echo $! >"$S/$name.pid"
  done
  for name in "${ORDER[@]}"; do
    wait_ready "http://127.0.0.1:${PORTS[$name]}/readyz" "$name"
    say "$name ready on 127.0.0.1:${PORTS[$name]}"
  done
  say "API: http://127.0.0.1:${PORTS[gateway]}  (create a tenant: $ICB tenant create NAME)"
}

stop() {
  for name in gateway invoicing mapping ingest; do
    local pid
    pid=$(cat "$S/$name.pid" 2>/dev/null) || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
      say "$name stopped"
    fi
    rm -f "$S/$name.pid"
  done
}

status() {
  for name in "${ORDER[@]}"; do
    if running "$name"; then say "$name runs (pid $(cat "$S/$name.pid"))"; else say "$name stopped"; fi
  done
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
