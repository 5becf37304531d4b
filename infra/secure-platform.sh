#!/usr/bin/env bash
# The secured local platform (`make secure` / `make secure-stop`): the broker with SASL/SCRAM
# and ACLs (infra/kafka/secure.sh), a SCRAM user per connected member plus ndxp-router and
# ndxp-ledger and ndxp-gateway, the ACLs derived from the registry, the topics, and the router,
# the ledger, a provider simulator (the population database, 000.00.01.G01) and the X-Road REST
# gateway (mutual TLS only, on NDXP_SECURE_GATEWAY_PORT) each under its own principal,
# under a supervisord of their own with the crash watch of infra/platform.sh (restarts with
# backoff; exits in $NDXP_VAR/run/secure-restarts.json; logs $NDXP_VAR/log/secure-<service>.log).
# Runs beside `make run` (own port, ports, folders). Idempotent.
# Usage: infra/secure-platform.sh start|stop|status [MINUTES]
#
# Settings (environment): NDXP_SECURE_PORT (9392), NDXP_VAR (<repo>/var; passwords in
# $NDXP_VAR/secrets, the services' runtime folder $NDXP_VAR/secure), NDXP_REGISTRY,
# NDXP_SECURE_ROUTER_WEB_PORT (6076), NDXP_SECURE_LEDGER_WEB_PORT (6077),
# NDXP_SECURE_GATEWAY_PORT (8443). The gateway's platform CA and server certificate are in
# $NDXP_VAR/secure/secrets; a member's client certificate for it:
#   NDXP_VAR=var/secure .venv/bin/ndxp certs issue 000.00.00.H40
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
var="${NDXP_VAR:-$repo/var}"
mkdir -p "$var/log" "$var/run" "$var/secure"
var="$(cd "$var" && pwd)"  # supervisord runs from the repository: an absolute path
ndxp="$repo/.venv/bin/ndxp"
port="${NDXP_SECURE_PORT:-9392}"
bootstrap="127.0.0.1:$port"
secrets="$var/secrets"
router_port="${NDXP_SECURE_ROUTER_WEB_PORT:-6076}"
ledger_port="${NDXP_SECURE_LEDGER_WEB_PORT:-6077}"
gateway_port="${NDXP_SECURE_GATEWAY_PORT:-8443}"
provider="000.00.01.G01"

# the services under their own supervisord (files secure-* in $var/run and $var/log)
sv_prefix="secure-"
# (the gateway's health endpoint wants a client certificate: supervisord's state only)
sv_services=("secure-router=$router_port" "secure-ledger=$ledger_port" secure-simulator
  secure-gateway)
sv_template=secure.conf.in
sv_sed=("s#@ROUTER_PORT@#$router_port#g" "s#@LEDGER_PORT@#$ledger_port#g"
  "s#@PROVIDER@#$provider#g" "s#@BOOTSTRAP@#$bootstrap#g" "s#@GATEWAY_PORT@#$gateway_port#g")
# shellcheck source=supervisor/supervisor.sh
. "$here/supervisor/supervisor.sh"
sv_sed+=("s#@SVAR@#$(sv_esc "$var/secure")#g" "s#@SECRETS@#$(sv_esc "$secrets")#g")

creds() {  # user: the environment that makes ndxp run as that principal (its password file)
  CREDS=(NDXP_BOOTSTRAP="$bootstrap" NDXP_VAR="$var/secure"
    NDXP_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT NDXP_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
    NDXP_KAFKA_USER="$1" NDXP_KAFKA_PASSWORD_FILE="$secrets/$1.password")
}

as_user() {  # user, command...
  creds "$1"; shift
  env "${CREDS[@]}" "$@"
}

halt_legacy() {  # services an older secure-platform.sh started with nohup and a pid file
  local name pid
  for name in secure-simulator secure-router secure-ledger; do
    if [ -f "$var/run/$name.pid" ] && pid="$(cat "$var/run/$name.pid")" && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
      echo "ndxp: $name (started by an older infra/secure-platform.sh, pid $pid) stopped"
    fi
    rm -f "$var/run/$name.pid"
  done
}

start() {
  halt_legacy
  NDXP_SECURE_PORT="$port" NDXP_VAR="$var" "$here/kafka/secure.sh" start
  as_user ndxp-admin "$ndxp" users --secrets "$secrets"
  as_user ndxp-admin "$ndxp" acls apply
  as_user ndxp-admin "$ndxp" quotas
  as_user ndxp-admin "$ndxp" topics
  sv_render
  sv_up
  if ! sv_check; then
    echo "ndxp: the secured platform is NOT healthy (above); supervisord keeps restarting what" >&2
    echo "      died, with backoff: watch with make secure-status, stop with make secure-stop" >&2
    exit 1
  fi
}

stop() {
  sv_down
  halt_legacy
  NDXP_SECURE_PORT="$port" NDXP_VAR="$var" "$here/kafka/secure.sh" stop
}

status() {
  if NDXP_SECURE_PORT="$port" NDXP_VAR="$var" "$here/kafka/secure.sh" status; then
    sv_status --window-min "${1:-10}"
  else
    sv_status --window-min "${1:-10}" --problem "Kafka: not running" || true
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status "${2:-}" ;;
  *) echo "usage: $0 start|stop|status [MINUTES]" >&2; exit 2 ;;
esac
