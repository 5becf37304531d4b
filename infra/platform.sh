#!/usr/bin/env bash
# Starts and stops the local platform: Kafka broker, topics, router, ledger, provider simulator.
# Idempotent. Usage: infra/platform.sh start|stop|status
# NDXP_CLUSTER=1: on the three-node cluster of infra/kafka/cluster.sh instead of one broker,
# topics replicated 3 times (min.insync.replicas 2), runtime files in var/cluster-mode.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
ndxp="$repo/.venv/bin/ndxp"
web_port="${NDXP_ROUTER_WEB_PORT:-6066}"
if [ "${NDXP_CLUSTER:-0}" = "1" ]; then
  var="${NDXP_VAR:-$repo/var/cluster-mode}"
  export NDXP_VAR="$var"
  kafka="$here/kafka/cluster.sh"
  export NDXP_BOOTSTRAP="${NDXP_BOOTSTRAP:-$("$kafka" bootstrap)}"
  export NDXP_REPLICATION="${NDXP_REPLICATION:-3}"
else
  var="${NDXP_VAR:-$repo/var}"
  kafka="$here/kafka/kafka.sh"
  export NDXP_BOOTSTRAP="${NDXP_BOOTSTRAP:-127.0.0.1:${NDXP_KAFKA_PORT:-9092}}"
fi
mkdir -p "$var/log" "$var/run"

alive() { [ -f "$var/run/$1.pid" ] && kill -0 "$(cat "$var/run/$1.pid")" 2>/dev/null; }

spawn() {  # name, command...
  local name="$1"; shift
  if alive "$name"; then echo "ndxp: $name already running (pid $(cat "$var/run/$name.pid"))"; return 0; fi
  nohup "$@" >> "$var/log/$name.log" 2>&1 < /dev/null &
  echo $! > "$var/run/$name.pid"
  echo "ndxp: $name started (pid $!, log $var/log/$name.log)"
}

halt() {
  local name="$1"
  if alive "$name"; then
    local pid; pid="$(cat "$var/run/$name.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    echo "ndxp: $name stopped"
  fi
  rm -f "$var/run/$name.pid"
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  local ledger_port="${NDXP_LEDGER_WEB_PORT:-6067}"
  for pair in "router:$web_port" "ledger:$ledger_port"; do
    local name="${pair%%:*}" port="${pair##*:}"
    if ! alive "$name" && listening "$port"; then
      echo "ndxp: port $port (the $name's health endpoint) is taken by another process: is another" >&2
      echo "      platform running (make stop, make cluster-stop, make secure-stop)? Or set" >&2
      echo "      NDXP_ROUTER_WEB_PORT / NDXP_LEDGER_WEB_PORT." >&2
      exit 1
    fi
  done
  "$kafka" start
  "$ndxp" topics
  spawn router "$ndxp" router
  spawn ledger "$ndxp" ledger run
  spawn simulator "$ndxp" simulate --service-time-ms 5
  wait_healthy router "$web_port"
  wait_healthy ledger "${NDXP_LEDGER_WEB_PORT:-6067}"
}

wait_healthy() {  # name, port: wait until its health endpoint answers, or show why not
  local name="$1" port="$2"
  for _ in $(seq 1 240); do
    if curl -fs "http://127.0.0.1:$port/health" > /dev/null 2>&1; then
      echo "ndxp: $name ready — health: http://127.0.0.1:$port/health"
      return 0
    fi
    if ! alive "$name"; then
      echo "ndxp: $name exited; last lines of $var/log/$name.log:" >&2
      tail -n 30 "$var/log/$name.log" >&2
      exit 1
    fi
    sleep 0.25
  done
  echo "ndxp: $name not ready after 60s; see $var/log/$name.log" >&2
  exit 1
}

stop() {
  halt simulator
  halt router
  halt ledger
  "$kafka" stop
}

status() {
  "$kafka" status || true
  for n in router ledger simulator; do
    if alive "$n"; then echo "ndxp: $n running (pid $(cat "$var/run/$n.pid"))"; else echo "ndxp: $n not running"; fi
  done
  curl -fs "http://127.0.0.1:$web_port/health" && echo || true
  curl -fs "http://127.0.0.1:${NDXP_LEDGER_WEB_PORT:-6067}/health" && echo || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
