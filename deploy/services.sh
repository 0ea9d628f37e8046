#!/usr/bin/env bash
# The four services as separate processes on Kafka and PostgreSQL (settings from ICB_* env).
#   deploy/services.sh start|stop|status
# ICB_REPLICAS="mapping=2 invoicing=2" starts more replicas of a service (NAME-2 ... on the
# service's port + 10, + 20 ...); they share its consumer groups and its database.
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
declare -A REPLICAS=()
for spec in ${ICB_REPLICAS:-}; do REPLICAS[${spec%%=*}]=${spec#*=}; done

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
  local -a names=()
  for name in "${ORDER[@]}"; do
    names+=("$name:$name:${PORTS[$name]}")
    for ((i = 2; i <= ${REPLICAS[$name]:-1}; i++)); do
      names+=("$name-$i:$name:$((PORTS[$name] + 10 * (i - 1)))")
    done
  done
  for entry in "${names[@]}"; do
    IFS=: read -r name service port <<<"$entry"
    if running "$name"; then say "$name already runs"; continue; fi
    nohup "$ICB" serve "$service" --port "$port" >"$S/$name.log" 2>&1 &
    echo $! >"$S/$name.pid"
  done
  for entry in "${names[@]}"; do
    IFS=: read -r name service port <<<"$entry"
    wait_ready "http://127.0.0.1:$port/readyz" "$name"
    say "$name ready on 127.0.0.1:$port"
  done
  say "API: http://127.0.0.1:${PORTS[gateway]}  (create a tenant: $ICB tenant create NAME)"
}

stop() {
  local pid_file name pid
  for name in gateway invoicing mapping ingest; do
    for pid_file in "$S/$name".pid "$S/$name"-*.pid; do
      [[ -f $pid_file ]] || continue
      pid=$(cat "$pid_file")
      if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -9 "$pid" 2>/dev/null || true
        say "$(basename "$pid_file" .pid) stopped"
      fi
      rm -f "$pid_file"
    done
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
