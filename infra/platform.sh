#!/usr/bin/env bash
# Starts and stops the local platform: Kafka broker, topics, and under supervisord the router,
# the ledger, a provider simulator, the simulated receiving agencies of documents (ndxp
# simulate --documents), the X-Road REST gateway, and the REST providers of the sample registry
# (ndxp simulate --http on :9300) with the adapter that calls them (ndxp provide).
# Idempotent. Usage: infra/platform.sh start|stop|status [MIN]
#
# supervisord (infra/supervisor/) runs the seven services; its crash watch restarts one that
# dies after 1 s, 2, 4 ... up to 60 s when it keeps dying, and records every exit (time, exit
# status, uptime) in $NDXP_VAR/run/restarts.json. Logs: $NDXP_VAR/log/<service>.log (and
# supervisord.log, crashwatch.log). `start` waits until the router and the ledger answer on
# their health endpoints and checks 5 s later that nothing died or restarted; otherwise it
# names the service, its exit, its restarts and the end of its log, and exits 1. `status`:
# Kafka, each service's state, uptime, exits in the last MIN minutes (10), last exit, health;
# exit 1 and one loud line when anything is unhealthy.
#
# Kafka stays outside supervisord, with infra/kafka/kafka.sh (cluster.sh): those scripts format
# the storage and wait until the broker answers, the integration tests start brokers with them,
# and the fault suite kills brokers on purpose and starts them again itself (a supervisor
# restarting them would defeat it). Deployments run Kafka under systemd (infra/systemd/).
#
# NDXP_CLUSTER=1: on the three-node cluster of infra/kafka/cluster.sh instead of one broker,
# topics replicated 3 times (min.insync.replicas 2), runtime files in var/cluster-mode.
# Settings: NDXP_VAR, NDXP_KAFKA_PORT, NDXP_BOOTSTRAP, NDXP_ROUTER_WEB_PORT (6066),
# NDXP_LEDGER_WEB_PORT (6067), NDXP_GATEWAY_PORT (8080), NDXP_HTTP_SIMULATOR_PORT (9300: the
# REST providers the sample registry's HTTP endpoints name; a registry of other URLs goes with
# another port); every NDXP_* exported reaches the services.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
ndxp="$repo/.venv/bin/ndxp"
if [ "${NDXP_CLUSTER:-0}" = "1" ]; then
  var="${NDXP_VAR:-$repo/var/cluster-mode}"
  kafka="$here/kafka/cluster.sh"
  export NDXP_BOOTSTRAP="${NDXP_BOOTSTRAP:-$("$kafka" bootstrap)}"
  export NDXP_REPLICATION="${NDXP_REPLICATION:-3}"
else
  var="${NDXP_VAR:-$repo/var}"
  kafka="$here/kafka/kafka.sh"
  export NDXP_BOOTSTRAP="${NDXP_BOOTSTRAP:-127.0.0.1:${NDXP_KAFKA_PORT:-9092}}"
fi
mkdir -p "$var/log" "$var/run"
var="$(cd "$var" && pwd)"  # supervisord runs from the repository: an absolute path
export NDXP_VAR="$var"
router_port="${NDXP_ROUTER_WEB_PORT:-6066}"
ledger_port="${NDXP_LEDGER_WEB_PORT:-6067}"
gateway_port="${NDXP_GATEWAY_PORT:-8080}"
http_simulator_port="${NDXP_HTTP_SIMULATOR_PORT:-9300}"
export NDXP_ROUTER_WEB_PORT="$router_port" NDXP_LEDGER_WEB_PORT="$ledger_port"
export NDXP_GATEWAY_PORT="$gateway_port" NDXP_HTTP_SIMULATOR_PORT="$http_simulator_port"

sv_prefix=""
sv_services=(
  "router=$router_port" "ledger=$ledger_port" simulator "gateway=$gateway_port"
  http-simulator provider doc-agencies
)
sv_template=platform.conf.in
sv_sed=(
  "s#@ROUTER_PORT@#$router_port#g" "s#@LEDGER_PORT@#$ledger_port#g"
  "s#@GATEWAY_PORT@#$gateway_port#g" "s#@HTTP_SIMULATOR_PORT@#$http_simulator_port#g"
)
# shellcheck source=supervisor/supervisor.sh
. "$here/supervisor/supervisor.sh"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

halt_legacy() {  # services an older platform.sh started with nohup and a pid file
  local name pid
  for name in simulator router ledger; do
    if [ -f "$var/run/$name.pid" ] && pid="$(cat "$var/run/$name.pid")" && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
      echo "ndxp: $name (started by an older infra/platform.sh, pid $pid) stopped"
    fi
    rm -f "$var/run/$name.pid"
  done
}

start() {
  halt_legacy
  if ! sv_running; then
    for pair in "router:$router_port" "ledger:$ledger_port" "gateway:$gateway_port" \
      "HTTP simulator:$http_simulator_port"; do
      local name="${pair%%:*}" port="${pair##*:}"
      if listening "$port"; then
        echo "ndxp: port $port (the $name's) is taken by another process: is another" >&2
        echo "      platform running (make stop, make cluster-stop, make secure-stop)? Or set" >&2
        echo "      NDXP_ROUTER_WEB_PORT / NDXP_LEDGER_WEB_PORT / NDXP_GATEWAY_PORT /" >&2
        echo "      NDXP_HTTP_SIMULATOR_PORT (with a registry naming it: NDXP_REGISTRY)." >&2
        exit 1
      fi
    done
  fi
  "$kafka" start
  "$ndxp" topics
  sv_render
  sv_up
  if ! sv_check; then
    echo "ndxp: the platform is NOT healthy (above); supervisord keeps restarting what died," >&2
    echo "      with backoff: watch with make status, stop with make stop" >&2
    exit 1
  fi
}

stop() {
  sv_down
  halt_legacy
  "$kafka" stop
}

status() {
  local kafka_ok=1 rc=0
  "$kafka" status || kafka_ok=0
  if [ "$kafka_ok" = 1 ]; then
    sv_status --window-min "${1:-10}" || rc=$?
  else
    sv_status --window-min "${1:-10}" --problem "Kafka: not running" || rc=$?
    rc=1
  fi
  return "$rc"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status "${2:-}" ;;
  *) echo "usage: $0 start|stop|status [MINUTES]" >&2; exit 2 ;;
esac
