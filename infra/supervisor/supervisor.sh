# supervisord for infra/platform.sh and infra/secure-platform.sh (sourced, not run).
# The caller sets: repo, var (absolute), sv_prefix ("" or "secure-": file names below),
# sv_services (array: NAME or NAME=HEALTH_PORT, the order of the reports), sv_template
# (the services' config file in infra/supervisor/), sv_sed (array of extra sed expressions).
# Files: $var/run/${sv_prefix}supervisord.{conf,sock,pid}, $var/run/${sv_prefix}restarts.json,
# $var/log/${sv_prefix}supervisord.log, $var/log/${sv_prefix}crashwatch.log, and each service's
# log where its template says ($var/log/<service>.log).

sv_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sv_bin="$repo/.venv/bin"
sv_conf="$var/run/${sv_prefix}supervisord.conf"
sv_sock="$var/run/${sv_prefix}supervisord.sock"
sv_pidfile="$var/run/${sv_prefix}supervisord.pid"
sv_restarts="$var/run/${sv_prefix}restarts.json"

sv_esc() {  # a value for the right side of a sed s### and for supervisord's %-expansion
  local v="${1//\\/\\\\}"
  v="${v//#/\\#}"; v="${v//&/\\&}"; v="${v//%/%%}"
  printf '%s' "$v"
}

sv_names() { local s; for s in "${sv_services[@]}"; do printf '%s ' "${s%%=*}"; done; }

sv_args() {  # --service NAME[=PORT] ... for python -m ndxp.supervise, and the crash watch
  local s; for s in "${sv_services[@]}"; do printf -- '--service %s ' "$s"; done
  printf -- '--service %scrashwatch' "$sv_prefix"  # without it nothing restarts the others
}

sv_render() {
  mkdir -p "$var/run" "$var/log"
  if [ "${#sv_sock}" -gt 100 ]; then
    echo "ndxp: $sv_sock is too long for a UNIX socket (108 bytes): set a shorter NDXP_VAR" >&2
    exit 1
  fi
  local names="" s
  for s in "${sv_services[@]}"; do names="$names --service ${s%%=*}"; done
  cat "$sv_dir/supervisord.conf.in" "$sv_dir/$sv_template" | sed \
    -e "s#@REPO@#$(sv_esc "$repo")#g" -e "s#@RUN@#$(sv_esc "$var/run")#g" \
    -e "s#@LOG@#$(sv_esc "$var/log")#g" -e "s#@PY@#$(sv_esc "$sv_bin/python")#g" \
    -e "s#@NDXP@#$(sv_esc "$sv_bin/ndxp")#g" -e "s#@P@#$sv_prefix#g" \
    -e "s#@SERVICES@#$names#g" "${sv_sed[@]/#/-e}" > "$sv_conf.tmp"
  mv "$sv_conf.tmp" "$sv_conf"
}

sv_running() { [ -f "$sv_pidfile" ] && kill -0 "$(cat "$sv_pidfile")" 2>/dev/null; }

sv_ctl() { "$sv_bin/supervisorctl" -c "$sv_conf" "$@"; }

sv_up() {  # start supervisord (it starts the services), or start what is stopped
  if sv_running; then
    echo "ndxp: supervisord already running (pid $(cat "$sv_pidfile")); its services keep the" \
      "environment it was started with (stop first to change it)"
    sv_ctl update > /dev/null
    sv_ctl start all > /dev/null 2>&1 || true  # "already started" is not an error here
    return 0
  fi
  # the exits of an earlier run are kept beside, not counted against this one
  if [ -f "$sv_restarts" ]; then mv -f "$sv_restarts" "${sv_restarts%.json}.prev.json"; fi
  rm -f "$sv_sock"
  "$sv_bin/supervisord" -c "$sv_conf"
  for _ in $(seq 1 100); do
    sv_ctl pid > /dev/null 2>&1 && break
    sleep 0.1
  done
  echo "ndxp: supervisord started (pid $(cat "$sv_pidfile")): $(sv_names)— logs in $var/log," \
    "exits in $sv_restarts"
}

sv_orphans() {  # processes a dead supervisord left: their environment names its socket
  local f
  for f in /proc/[0-9]*/environ; do
    if { tr '\0' '\n' < "$f"; } 2>/dev/null | grep -qxF "SUPERVISOR_SERVER_URL=unix://$sv_sock"; then
      f="${f#/proc/}"; echo "${f%/environ}"
    fi
  done
}

sv_down() {  # stop the services, then supervisord
  if sv_running; then
    local pid; pid="$(cat "$sv_pidfile")"
    sv_ctl shutdown > /dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 240); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    echo "ndxp: $(sv_names)and supervisord stopped"
  fi
  local left; left="$(sv_orphans)"
  if [ -n "$left" ]; then
    echo "ndxp: stopping processes left by a supervisord that died: $(echo $left)"
    kill $left 2>/dev/null || true
    sleep 2
    kill -9 $left 2>/dev/null || true
  fi
  rm -f "$sv_pidfile" "$sv_sock"
}

sv_check() {  # after sv_up: healthy, and still so a few seconds later (exit 1 otherwise)
  # shellcheck disable=SC2046
  "$sv_bin/python" -m ndxp.supervise check --socket "$sv_sock" --restarts "$sv_restarts" \
    $(sv_args) "$@"
}

sv_status() {  # the services' table and one loud line when anything is unhealthy
  # shellcheck disable=SC2046
  "$sv_bin/python" -m ndxp.supervise status --socket "$sv_sock" --restarts "$sv_restarts" \
    --log-dir "$var/log" $(sv_args) "$@"
}
