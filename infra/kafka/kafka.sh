#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft, combined broker+controller) on loopback, built from
# Maven Central jars. Idempotent: `start` on a running broker and `stop` on a stopped one
# succeed. Usage: infra/kafka/kafka.sh fetch|start|stop|status|logs
#
# Settings (environment):
#   NDXP_KAFKA_PORT        client port on 127.0.0.1 (default 9092); the controller uses PORT+1
#   NDXP_VAR               runtime folder (default <repo>/var); data in $NDXP_VAR/kafka-<port>
#   NDXP_KAFKA_HEAP        JVM heap (default 768m)
#   NDXP_KAFKA_WAIT        seconds to wait for the broker to answer (default 90)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
port="${NDXP_KAFKA_PORT:-9092}"
cport="$((port + 1))"
var="${NDXP_VAR:-$repo/var}"
dir="$var/kafka-$port"
lib="$here/lib"
heap="${NDXP_KAFKA_HEAP:-768m}"
wait_s="${NDXP_KAFKA_WAIT:-90}"
pidfile="$dir/kafka.pid"
log="$dir/server.log"

fetch() {
  if [ -f "$lib/.complete" ]; then return 0; fi
  echo "ndxp: fetching Apache Kafka jars from Maven Central into infra/kafka/lib ..."
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies
  touch "$lib/.complete"
}

running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

answers() {
  # The broker answers when a TCP connection to its client port succeeds and it has
  # written its "started" line (the socket opens slightly before the broker is ready).
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && grep -q "Kafka Server started" "$log" 2>/dev/null
}

configure() {
  mkdir -p "$dir/data"
  sed -e "s#@PORT@#$port#g" -e "s#@CPORT@#$cport#g" -e "s#@DATA@#$dir/data#g" \
    "$here/server.properties.in" > "$dir/server.properties"
  if [ ! -f "$dir/data/meta.properties" ]; then
    local id
    id="$(java -cp "$lib/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    echo "ndxp: formatting KRaft storage in $dir/data (cluster $id)"
    java -cp "$lib/*" -Dlog4j.configuration="file:$here/log4j.properties" \
      kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" > "$dir/format.log" 2>&1 \
      || { cat "$dir/format.log"; exit 1; }
  fi
}

start() {
  fetch
  if running; then
    echo "ndxp: Kafka already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"
    return 0
  fi
  configure
  : > "$log"
  echo "ndxp: starting Kafka on 127.0.0.1:$port (data $dir)"
  nohup java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -Dlog4j.configuration="file:$here/log4j.properties" \
    -Dkafka.logs.dir="$dir" -cp "$lib/*" kafka.Kafka "$dir/server.properties" \
    >> "$log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  local t=0
  until answers; do
    if ! running; then
      echo "ndxp: Kafka failed to start; last lines of $log:" >&2
      tail -n 40 "$log" >&2
      rm -f "$pidfile"
      exit 1
    fi
    if [ "$t" -ge "$((wait_s * 4))" ]; then
      echo "ndxp: Kafka did not answer within ${wait_s}s; last lines of $log:" >&2
      tail -n 40 "$log" >&2
      stop
      exit 1
    fi
    sleep 0.25
    t=$((t + 1))
  done
  echo "ndxp: Kafka is up on 127.0.0.1:$port"
}

stop() {
  if ! running; then
    rm -f "$pidfile"
    echo "ndxp: Kafka on port $port is not running"
    return 0
  fi
  local pid
  pid="$(cat "$pidfile")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "ndxp: Kafka on port $port stopped"
}

status() {
  if running && answers; then
    echo "ndxp: Kafka running on 127.0.0.1:$port (pid $(cat "$pidfile"))"
  else
    echo "ndxp: Kafka not running on port $port"
    return 1
  fi
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  logs) tail -n "${2:-100}" "$log" ;;
  *) echo "usage: $0 fetch|start|stop|status|logs [N]" >&2; exit 2 ;;
esac
