#!/usr/bin/env bash
# Single-node Apache Kafka 3.9.1 (KRaft) on 127.0.0.1, jars from Maven Central.
#   deploy/kafka.sh install|start|stop|status
# Env: ICB_KAFKA_PORT (9092), ICB_KAFKA_CONTROLLER_PORT (9093), ICB_RUN_DIR (<repo>/.run),
#      PYTHON (<repo>/.venv/bin/python, needs aiokafka), KAFKA_HEAP_OPTS (-Xms256m -Xmx1g).
set -euo pipefail

DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$DEPLOY")
RUN_DIR=${ICB_RUN_DIR:-$REPO/.run}
PORT=${ICB_KAFKA_PORT:-9092}
CPORT=${ICB_KAFKA_CONTROLLER_PORT:-9093}
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
HEAP=${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}
K=$RUN_DIR/kafka
LIBS=$K/libs DATA=$K/data CONF=$K/server.properties LOG=$K/kafka.log PIDFILE=$K/kafka.pid

say() { echo "kafka: $*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
alive() { local st; st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) && [[ $st != Z ]]; }  # zombies count as gone
answers() { port_open "$PORT" && "$PYTHON" "$DEPLOY/wait_kafka.py" --bootstrap "127.0.0.1:$PORT" --timeout 5 --quiet; }
# pid of the broker we started, if it still runs (guards against a recycled pid)
our_pid() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' && echo "$pid"
}
lock() { mkdir -p "$K"; exec 9>"$K/.lock"; flock 9; }

install() {
  lock
  if [[ -f $LIBS/.complete ]]; then say "jars present in $LIBS"; return; fi
  say "fetching Kafka jars with Maven (Maven Central, cached in ~/.m2) into $LIBS"
  rm -rf "$LIBS" "$LIBS.tmp"
  mvn -q -B -f "$DEPLOY/kafka/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$LIBS.tmp" >"$K/mvn.log" 2>&1 || { tail -n 30 "$K/mvn.log" >&2; exit 1; }
  touch "$LIBS.tmp/.complete"
  mv "$LIBS.tmp" "$LIBS"
}

write_config() {
  cat >"$CONF" <<CONF
# written by deploy/kafka.sh on every start
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$DATA
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
CONF
}

start() {
  [[ -x $PYTHON ]] || { say "no python with aiokafka at $PYTHON (set PYTHON)"; exit 1; }
  if answers; then say "a broker already answers on 127.0.0.1:$PORT, reusing it"; return; fi
  [[ -f $LIBS/.complete ]] || install
  lock
  local pid
  if pid=$(our_pid); then
    say "broker (pid $pid) is running but not answering yet, waiting for it"
  else
    for p in "$PORT" "$CPORT"; do
      if port_open "$p"; then say "port $p is taken by something that is not our broker"; exit 1; fi
    done
    mkdir -p "$DATA"
    write_config
    if [[ ! -f $DATA/meta.properties ]]; then
      local id=-
      # 16 random bytes, base64url, no padding; like Kafka's own ids, never starting with "-"
      while [[ $id == -* ]]; do id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='); done
      say "formatting storage in $DATA (cluster id $id)"
      java -cp "$LIBS/*" -Dlog4j.configuration="file:$DEPLOY/kafka/log4j.properties" \
        kafka.tools.StorageTool format -t "$id" -c "$CONF" --ignore-formatted >>"$LOG" 2>&1 \
        || { tail -n 20 "$LOG" >&2; exit 1; }
    fi
    say "starting broker on 127.0.0.1:$PORT (controller $CPORT), log $LOG"
    # shellcheck disable=SC2086  # HEAP holds several options
    nohup setsid java $HEAP -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
      -Dlog4j.configuration="file:$DEPLOY/kafka/log4j.properties" -Dkafka.logs.dir="$K" \
      -cp "$LIBS/*" kafka.Kafka "$CONF" >>"$LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$PIDFILE"
  fi
  "$PYTHON" "$DEPLOY/wait_kafka.py" --bootstrap "127.0.0.1:$PORT" --timeout 120 --log "$LOG" --pid "$pid" >&2
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$PIDFILE"
    say "no broker of ours is running"
    return
  fi
  say "stopping broker (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 60); do alive "$pid" || break; sleep 0.5; done
  if alive "$pid"; then
    say "still alive after 30s, SIGKILL"
    kill -KILL "$pid"
    while alive "$pid"; do sleep 0.2; done
  fi
  rm -f "$PIDFILE"
}

status() {
  local pid note=""
  pid=$(our_pid) && note=" (our broker, pid $pid)"
  if answers; then echo "kafka: answers on 127.0.0.1:$PORT$note"
  else echo "kafka: not answering on 127.0.0.1:$PORT$note"; return 1; fi
}

case ${1:-} in
  install | start | stop | status) "$1" ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
