#!/usr/bin/env bash
# ndxp's secured mode: a single-node Apache Kafka (KRaft, combined broker+controller) on
# loopback that authenticates every client with SASL/SCRAM-SHA-512 and authorizes every
# request with Kafka's StandardAuthorizer (no ACL = no access). Same jars as kafka.sh, its
# own port and data folder. Idempotent like kafka.sh. Usage: infra/kafka/secure.sh
# start|stop|status|logs [N]
#
# At the first start it generates random passwords (never printed) into $NDXP_VAR/secrets/,
# one file per principal, mode 0600: ndxp-admin (super user, for operators and `ndxp users` /
# `ndxp acls apply`), ndxp-broker (inter-broker) and ndxp-controller (controller listener).
# Agencies, the router and the ledger get their users from `ndxp users` (see
# infra/secure-platform.sh, `make secure`).
#
# Settings (environment):
#   NDXP_SECURE_PORT       client port on 127.0.0.1 (default 9392); the controller uses PORT+1
#   NDXP_VAR               runtime folder (default <repo>/var); data in
#                          $NDXP_VAR/kafka-secure-<port>, passwords in $NDXP_VAR/secrets
#   NDXP_KAFKA_HEAP        JVM heap (default 768m)
#   NDXP_KAFKA_WAIT        seconds to wait for the broker to answer (default 90)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
port="${NDXP_SECURE_PORT:-9392}"
cport="$((port + 1))"
var="${NDXP_VAR:-$repo/var}"
dir="$var/kafka-secure-$port"
secrets="$var/secrets"
lib="$here/lib"
heap="${NDXP_KAFKA_HEAP:-768m}"
wait_s="${NDXP_KAFKA_WAIT:-90}"
pidfile="$dir/kafka.pid"
log="$dir/server.log"

running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

answers() {
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && grep -q "Kafka Server started" "$log" 2>/dev/null
}

secret() {  # user: the path of its password file, created (random, mode 0600) if missing
  local file="$secrets/$1.password"
  if [ ! -s "$file" ]; then
    (umask 077 && mkdir -p "$secrets" && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' > "$file")
  fi
  echo "$file"
}

configure() {
  (umask 077 && mkdir -p "$dir/data" "$secrets")
  chmod 700 "$secrets"
  if [ -f "$dir/data/meta.properties" ] && [ ! -s "$secrets/ndxp-admin.password" ]; then
    echo "ndxp: $dir was formatted with passwords that are no longer in $secrets;" \
      "remove $dir to start afresh" >&2
    exit 1
  fi
  local admin broker controller
  admin="$(cat "$(secret ndxp-admin)")"
  broker="$(cat "$(secret ndxp-broker)")"
  controller="$(cat "$(secret ndxp-controller)")"
  (umask 077 && sed -e "s#@PORT@#$port#g" -e "s#@CPORT@#$cport#g" -e "s#@DATA@#$dir/data#g" \
    -e "s#@BROKER_PASSWORD@#$broker#g" -e "s#@CONTROLLER_PASSWORD@#$controller#g" \
    "$here/secure.properties.in" > "$dir/server.properties")
  chmod 600 "$dir/server.properties"
  if [ ! -f "$dir/data/meta.properties" ]; then
    local id args
    id="$(java -cp "$lib/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    echo "ndxp: formatting KRaft storage in $dir/data (cluster $id) with SCRAM users ndxp-admin, ndxp-broker"
    # The passwords go to the tool through a java @argument file (mode 0600, removed at once),
    # never on a command line that `ps` would show.
    args="$dir/format.args"
    (umask 077 && printf '%s\n' kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" \
      --add-scram "SCRAM-SHA-512=[name=ndxp-admin,password=$admin]" \
      --add-scram "SCRAM-SHA-512=[name=ndxp-broker,password=$broker]" > "$args")
    if ! java -cp "$lib/*" -Dlog4j.configuration="file:$here/log4j.properties" "@$args" \
      > "$dir/format.log" 2>&1; then
      rm -f "$args"
      cat "$dir/format.log"
      exit 1
    fi
    rm -f "$args"
  fi
}

start() {
  "$here/kafka.sh" fetch
  if running; then
    echo "ndxp: secured Kafka already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"
    return 0
  fi
  configure
  : > "$log"
  echo "ndxp: starting secured Kafka (SASL/SCRAM-SHA-512, ACLs) on 127.0.0.1:$port (data $dir)"
  nohup java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -Dlog4j.configuration="file:$here/log4j.properties" \
    -Dkafka.logs.dir="$dir" -cp "$lib/*" kafka.Kafka "$dir/server.properties" \
    >> "$log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  local t=0
  until answers; do
    if ! running; then
      echo "ndxp: secured Kafka failed to start; last lines of $log:" >&2
      tail -n 40 "$log" >&2
      rm -f "$pidfile"
      exit 1
    fi
    if [ "$t" -ge "$((wait_s * 4))" ]; then
      echo "ndxp: secured Kafka did not answer within ${wait_s}s; last lines of $log:" >&2
      tail -n 40 "$log" >&2
      stop
      exit 1
    fi
    sleep 0.25
    t=$((t + 1))
  done
  echo "ndxp: secured Kafka is up on 127.0.0.1:$port (passwords in $secrets)"
}

stop() {
  if ! running; then
    rm -f "$pidfile"
    echo "ndxp: secured Kafka on port $port is not running"
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
  echo "ndxp: secured Kafka on port $port stopped"
}

status() {
  if running && answers; then
    echo "ndxp: secured Kafka running on 127.0.0.1:$port (pid $(cat "$pidfile"))"
  else
    echo "ndxp: secured Kafka not running on port $port"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  logs) tail -n "${2:-100}" "$log" ;;
  *) echo "usage: $0 start|stop|status|logs [N]" >&2; exit 2 ;;
esac
