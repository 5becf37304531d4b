#!/usr/bin/env bash
# The secured local platform (`make secure` / `make secure-stop`): the broker with SASL/SCRAM
# and ACLs (infra/kafka/secure.sh), a SCRAM user per connected member plus ndxp-router and
# ndxp-ledger, the ACLs derived from the registry, the topics, and the router, the ledger and
# a provider simulator (the population database, 000.00.01.G01) each under its own principal.
# Runs beside `make run` (own port, ports, folders). Idempotent.
# Usage: infra/secure-platform.sh start|stop|status
#
# Settings (environment): NDXP_SECURE_PORT (9392), NDXP_VAR (<repo>/var; passwords in
# $NDXP_VAR/secrets, the services' runtime folder $NDXP_VAR/secure), NDXP_REGISTRY,
# NDXP_SECURE_ROUTER_WEB_PORT (6076), NDXP_SECURE_LEDGER_WEB_PORT (6077).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
var="${NDXP_VAR:-$repo/var}"
ndxp="$repo/.venv/bin/ndxp"
port="${NDXP_SECURE_PORT:-9392}"
bootstrap="127.0.0.1:$port"
secrets="$var/secrets"
router_port="${NDXP_SECURE_ROUTER_WEB_PORT:-6076}"
ledger_port="${NDXP_SECURE_LEDGER_WEB_PORT:-6077}"
provider="000.00.01.G01"
mkdir -p "$var/log" "$var/run" "$var/secure"

creds() {  # user: the environment that makes ndxp run as that principal (its password file)
  CREDS=(NDXP_BOOTSTRAP="$bootstrap" NDXP_VAR="$var/secure"
    NDXP_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT NDXP_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
    NDXP_KAFKA_USER="$1" NDXP_KAFKA_PASSWORD_FILE="$secrets/$1.password")
}

as_user() {  # user, command...
  creds "$1"; shift
  env "${CREDS[@]}" "$@"
}

alive() { [ -f "$var/run/$1.pid" ] && kill -0 "$(cat "$var/run/$1.pid")" 2>/dev/null; }

spawn() {  # name, user, command...
  local name="$1" user="$2"; shift 2
  if alive "$name"; then echo "ndxp: $name already running (pid $(cat "$var/run/$name.pid"))"; return 0; fi
  creds "$user"
  nohup env "${CREDS[@]}" "$@" >> "$var/log/$name.log" 2>&1 < /dev/null &  # $! is the service
  echo $! > "$var/run/$name.pid"
  echo "ndxp: $name started as $user (pid $!, log $var/log/$name.log)"
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

wait_healthy() {  # name, port
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

start() {
  NDXP_SECURE_PORT="$port" NDXP_VAR="$var" "$here/kafka/secure.sh" start
  as_user ndxp-admin "$ndxp" users --secrets "$secrets"
  as_user ndxp-admin "$ndxp" acls apply
  as_user ndxp-admin "$ndxp" topics
  spawn secure-router ndxp-router "$ndxp" router --web-port "$router_port"
  spawn secure-ledger ndxp-ledger "$ndxp" ledger run --web-port "$ledger_port"
  spawn secure-simulator "$provider" "$ndxp" simulate "$provider" \
    --group "$provider.simulator" --service-time-ms 5
  wait_healthy secure-router "$router_port"
  wait_healthy secure-ledger "$ledger_port"
}

stop() {
  halt secure-simulator
  halt secure-router
  halt secure-ledger
  NDXP_SECURE_PORT="$port" NDXP_VAR="$var" "$here/kafka/secure.sh" stop
}

status() {
  NDXP_SECURE_PORT="$port" NDXP_VAR="$var" "$here/kafka/secure.sh" status || true
  for n in secure-router secure-ledger secure-simulator; do
    if alive "$n"; then echo "ndxp: $n running (pid $(cat "$var/run/$n.pid"))"; else echo "ndxp: $n not running"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
