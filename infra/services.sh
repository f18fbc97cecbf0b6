#!/usr/bin/env bash
# services.sh - start, stop or list UniCode's service processes on this machine, each its own process,
# against the RabbitMQ + PostgreSQL that infra/local-services.sh started (their settings are read from
# .local-services/connection.env unless UNICODE_* are already set).
#
#   infra/services.sh start [SERVICE…]     # default: every service; logs in .local-services/logs/
#                                          # (NAME-N.log; a restart keeps the previous ones as NAME-N.log.1 … .5)
#   infra/services.sh stop  [SERVICE…]     # stops only the processes this script started (pid files)
#   infra/services.sh status               # one line per service: running/stopped + `health` output
#
# Scale out = run more of them, on this or other machines pointed at the same broker and database:
#   UNICODE_INSTANCE=2 infra/services.sh start trainer     # a second trainer sharing the job queue
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
STATE=${LOCAL_SERVICES_DIR:-$REPO/.local-services}
CONFIGURATION=${CONFIGURATION:-Debug}
ALL=(registry preprocessing orchestrator trainer finetuning evaluation)
declare -A PROJECT=(
  [registry]=UniCode.Registry [preprocessing]=UniCode.Preprocessing [orchestrator]=UniCode.Orchestrator
  [trainer]=UniCode.Trainer [finetuning]=UniCode.Finetuning [evaluation]=UniCode.Evaluation)
INSTANCE=${UNICODE_INSTANCE:-1}
log() { echo "[services] $*" >&2; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]; }
if [ -z "${UNICODE_PG:-}" ] && [ -f "$STATE/connection.env" ]; then . "$STATE/connection.env"; fi
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
mkdir -p "$STATE/logs" "$STATE/pids"

dll() {
  local p=${PROJECT[$1]:-}
  [ -n "$p" ] || { log "unknown service '$1' (known: ${ALL[*]})"; exit 2; }
  local d=$REPO/services/$p/bin/$CONFIGURATION/net10.0
  local f
  f=$(ls "$d"/*.dll 2>/dev/null | while read -r x; do n=$(basename "$x" .dll); [ -f "$d/$n.runtimeconfig.json" ] && echo "$x"; done | head -1)
  [ -n "$f" ] || { log "$p is not built ($d): run 'make build'"; exit 1; }
  echo "$f"
}

# The log of a service that is started again (after a crash, say) is kept: NAME.log becomes NAME.log.1, the
# older ones shift up to NAME.log.$LOG_GENERATIONS and the oldest goes. The new process writes a new NAME.log,
# so "Bus started" in it (wait_ready) is always the new process's.
LOG_GENERATIONS=${SERVICE_LOG_GENERATIONS:-5}
rotate_log() {
  local f=$1 i
  [ -s "$f" ] || return 0
  for (( i = LOG_GENERATIONS - 1; i >= 1; i-- )); do
    [ -f "$f.$i" ] && mv -f "$f.$i" "$f.$(( i + 1 ))"
  done
  mv -f "$f" "$f.1"
}

start() {
  local s=$1 pidf=$STATE/pids/$1-$INSTANCE.pid logf=$STATE/logs/$1-$INSTANCE.log
  if alive "$(cat "$pidf" 2>/dev/null || true)"; then log "$s #$INSTANCE already running (pid $(cat "$pidf"))"; return; fi
  local d; d=$(dll "$s")
  rotate_log "$logf"
  setsid nohup dotnet "$d" >"$logf" 2>&1 </dev/null &
  echo $! >"$pidf"
  log "$s #$INSTANCE started (pid $!, log $STATE/logs/$s-$INSTANCE.log)"
}

# A service is ready once its bus has started (its queues exist): messages sent before that could find
# no queue bound to their exchange.
wait_ready() {
  local s=$1 logf=$STATE/logs/$1-$INSTANCE.log pid deadline=$(( $(date +%s) + ${SERVICE_START_TIMEOUT:-180} ))
  pid=$(cat "$STATE/pids/$s-$INSTANCE.pid")
  until grep -q '"Bus started' "$logf" 2>/dev/null; do
    alive "$pid" || { tail -20 "$logf" >&2; log "$s #$INSTANCE exited during start-up"; exit 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { log "$s #$INSTANCE not ready after ${SERVICE_START_TIMEOUT:-180}s (log $logf)"; exit 1; }
    sleep 0.5
  done
  log "$s #$INSTANCE ready"
}

stop() {
  local s=$1
  for pidf in "$STATE"/pids/"$s"-*.pid; do
    [ -f "$pidf" ] || continue
    local pid; pid=$(cat "$pidf")
    if alive "$pid"; then
      kill -TERM "$pid"
      for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
      alive "$pid" && kill -KILL "$pid"
      log "$(basename "$pidf" .pid) stopped"
    fi
    rm -f "$pidf"
  done
}

cmd=${1:-status}; shift || true
services=("$@"); [ ${#services[@]} -gt 0 ] || services=("${ALL[@]}")
case "$cmd" in
  start)
    for s in "${services[@]}"; do start "$s"; done
    for s in "${services[@]}"; do wait_ready "$s"; done ;;
  stop) for s in "${services[@]}"; do stop "$s"; done ;;
  status)
    for s in "${services[@]}"; do
      state=stopped
      for pidf in "$STATE"/pids/"$s"-*.pid; do [ -f "$pidf" ] && alive "$(cat "$pidf")" && state="running (pid $(cat "$pidf"))"; done
      health=$(timeout 30 dotnet "$(dll "$s")" health 2>/dev/null | tail -1 || true)
      printf '%-14s %-22s %s\n' "$s" "$state" "$health"
    done ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
