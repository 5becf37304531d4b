#!/usr/bin/env bash
# A three-node Apache Kafka cluster (KRaft; each node broker + controller) on loopback, from
# the same Maven Central jars as infra/kafka/kafka.sh. Idempotent like it.
# Usage: infra/kafka/cluster.sh fetch|start|stop|status|bootstrap
#        infra/kafka/cluster.sh kill N      # kill -9 node N (1..3): a crash, for fault tests
#        infra/kafka/cluster.sh start-node N|stop-node N
#
# Settings (environment):
#   NDXP_CLUSTER_PORT   client port of node 1 (default 9292); node N listens on PORT+N-1, and
#                       its controller on PORT+10+N-1
#   NDXP_VAR            runtime folder (default <repo>/var); data in $NDXP_VAR/cluster-<port>/nodeN
#   NDXP_KAFKA_HEAP     JVM heap per node (default 512m)
#   NDXP_KAFKA_WAIT     seconds to wait for a node to answer (default 90)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
base="${NDXP_CLUSTER_PORT:-9292}"
var="${NDXP_VAR:-$repo/var}"
dir="$var/cluster-$base"
lib="$here/lib"
heap="${NDXP_KAFKA_HEAP:-512m}"
wait_s="${NDXP_KAFKA_WAIT:-90}"
nodes=(1 2 3)

port_of() { echo $((base + $1 - 1)); }
cport_of() { echo $((base + 10 + $1 - 1)); }
pidfile() { echo "$dir/node$1/kafka.pid"; }
logfile() { echo "$dir/node$1/server.log"; }

bootstrap() {
  local out=""
  for n in "${nodes[@]}"; do out="$out${out:+,}127.0.0.1:$(port_of "$n")"; done
  echo "$out"
}

voters() {
  local out=""
  for n in "${nodes[@]}"; do out="$out${out:+,}$n@127.0.0.1:$(cport_of "$n")"; done
  echo "$out"
}

running() { [ -f "$(pidfile "$1")" ] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }

answers() {
  (exec 3<>"/dev/tcp/127.0.0.1/$(port_of "$1")") 2>/dev/null \
    && grep -q "Kafka Server started" "$(logfile "$1")" 2>/dev/null
}

configure() {
  mkdir -p "$dir"
  if [ ! -f "$dir/cluster.id" ]; then
    java -cp "$lib/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1 > "$dir/cluster.id"
  fi
  local id; id="$(cat "$dir/cluster.id")"
  for n in "${nodes[@]}"; do
    local d="$dir/node$n"
    mkdir -p "$d/data"
    sed -e "s#@NODE@#$n#g" -e "s#@PORT@#$(port_of "$n")#g" -e "s#@CPORT@#$(cport_of "$n")#g" \
      -e "s#@VOTERS@#$(voters)#g" -e "s#@DATA@#$d/data#g" \
      "$here/cluster.properties.in" > "$d/server.properties"
    if [ ! -f "$d/data/meta.properties" ]; then
      java -cp "$lib/*" -Dlog4j.configuration="file:$here/log4j.properties" \
        kafka.tools.StorageTool format -t "$id" -c "$d/server.properties" > "$d/format.log" 2>&1 \
        || { cat "$d/format.log"; exit 1; }
    fi
  done
}

launch() {  # node: start its JVM (not waiting)
  local n="$1" d="$dir/node$1"
  if running "$n"; then return 0; fi
  : > "$(logfile "$n")"
  nohup java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -Dlog4j.configuration="file:$here/log4j.properties" \
    -Dkafka.logs.dir="$d" -cp "$lib/*" kafka.Kafka "$d/server.properties" \
    >> "$(logfile "$n")" 2>&1 < /dev/null &
  echo $! > "$(pidfile "$n")"
}

await() {  # node: wait until it answers
  local n="$1" t=0
  until answers "$n"; do
    if ! running "$n"; then
      echo "ndxp: cluster node $n failed to start; last lines of $(logfile "$n"):" >&2
      tail -n 40 "$(logfile "$n")" >&2
      exit 1
    fi
    if [ "$t" -ge "$((wait_s * 4))" ]; then
      echo "ndxp: cluster node $n did not answer within ${wait_s}s; see $(logfile "$n")" >&2
      exit 1
    fi
    sleep 0.25
    t=$((t + 1))
  done
}

start() {
  "$here/kafka.sh" fetch
  configure
  # The controllers need a quorum (2 of 3) before any node's broker starts: launch all first.
  for n in "${nodes[@]}"; do launch "$n"; done
  for n in "${nodes[@]}"; do await "$n"; done
  echo "ndxp: Kafka cluster is up: $(bootstrap) (data $dir)"
}

start_node() {
  configure
  launch "$1"
  await "$1"
  echo "ndxp: cluster node $1 is up on 127.0.0.1:$(port_of "$1")"
}

stop_node() {  # node [signal]
  local n="$1" sig="${2:-TERM}"
  if ! running "$n"; then rm -f "$(pidfile "$n")"; return 0; fi
  local pid; pid="$(cat "$(pidfile "$n")")"
  kill "-$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$(pidfile "$n")"
}

stop() {
  # Brokers first, controllers' quorum last: stopping in reverse keeps a quorum while the
  # others shut down cleanly.
  for n in 3 2 1; do stop_node "$n"; done
  echo "ndxp: Kafka cluster on $(bootstrap) stopped"
}

status() {
  local up=0
  for n in "${nodes[@]}"; do
    if running "$n" && answers "$n"; then
      echo "ndxp: node $n up on 127.0.0.1:$(port_of "$n") (pid $(cat "$(pidfile "$n")"))"
      up=$((up + 1))
    else
      echo "ndxp: node $n down"
    fi
  done
  [ "$up" -eq 3 ]
}

node_arg() {
  case "${1:-}" in 1|2|3) echo "$1" ;; *) echo "usage: $0 $2 1|2|3" >&2; exit 2 ;; esac
}

case "${1:-}" in
  fetch) "$here/kafka.sh" fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  bootstrap) bootstrap ;;
  kill) n="$(node_arg "${2:-}" kill)"
    if ! running "$n"; then echo "ndxp: node $n is not running (data $dir)" >&2; exit 1; fi
    stop_node "$n" KILL; echo "ndxp: node $n killed (SIGKILL)" ;;
  start-node) start_node "$(node_arg "${2:-}" start-node)" ;;
  stop-node) n="$(node_arg "${2:-}" stop-node)"; stop_node "$n"; echo "ndxp: node $n stopped" ;;
  logs) tail -n "${3:-100}" "$(logfile "$(node_arg "${2:-}" logs)")" ;;
  *) echo "usage: $0 fetch|start|stop|status|bootstrap|kill N|start-node N|stop-node N|logs N" >&2; exit 2 ;;
esac
