#!/usr/bin/env bash
# stop-local-services.sh - stop what local-services.sh started (same LOCAL_SERVICES_DIR).
# Idempotent: says "not running" and exits 0 when there is nothing to stop.
#   ./stop-local-services.sh           # stop both, keep data
#   ./stop-local-services.sh --purge   # stop both and delete the state dir
set -uo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE_DIR=${LOCAL_SERVICES_DIR:-$REPO_ROOT/.local-services}
PURGE=0; [ "${1:-}" = --purge ] && PURGE=1
log() { echo "[stop-local-services] $*" >&2; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]; }   # zombies count as gone
wait_gone() { local pid=$1 n=$2; while alive "$pid" && [ "$n" -gt 0 ]; do sleep 0.2; n=$((n-1)); done; ! alive "$pid"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
[ -d "$STATE_DIR" ] || { log "nothing to stop ($STATE_DIR does not exist)"; exit 0; }
RMQ_NODE=rabbit@localhost
[ -f "$STATE_DIR/settings.env" ] && . "$STATE_DIR/settings.env"
RMQ_DIR=$STATE_DIR/rabbitmq
PG_DIR=${PG_DIR:-$STATE_DIR/postgres}
T0=$(now)

# ---- rabbitmq: SIGTERM to beam.smp is a graceful stop (log: "SIGTERM received - shutting down",
#      listeners closed, message stores flushed) and takes ~1.3 s; 'rabbitmqctl stop' does the same
#      in ~7.5 s because the Erlang CLI itself needs seconds to boot. KILL only as a last resort.
beam=$(cat "$RMQ_DIR/rabbit.pid" 2>/dev/null || true)
shpid=$(cat "$RMQ_DIR/server.shpid" 2>/dev/null || true)
if alive "$beam"; then
  t=$(now)
  kill -TERM "$beam" 2>/dev/null
  if ! wait_gone "$beam" 150; then
    log "beam pid $beam still alive 30 s after TERM: sending KILL"; kill -9 "$beam" 2>/dev/null; wait_gone "$beam" 25
  fi
  log "rabbitmq (beam pid $beam) stopped in $(elapsed "$t") s"
else
  log "rabbitmq not running"
fi
alive "$shpid" && kill "$shpid" 2>/dev/null
rm -f "$RMQ_DIR/rabbit.pid" "$RMQ_DIR/server.shpid"
# ---- epmd: only the ones local-services.sh started, and only when no other node uses them. Found by
#      epmd.pid, and by what they are when that file is gone: an epmd process whose environment has this
#      state dir's RABBITMQ_MNESIA_BASE (local-services.sh sets it for the broker and every epmd it starts).
is_epmd() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = epmd ]; }
ours=()
p=$(cat "$RMQ_DIR/epmd.pid" 2>/dev/null || true)
if [ -n "$p" ] && alive "$p" && is_epmd "$p"; then ours+=("$p"); fi
for p in $(pgrep -x epmd || true); do
  [ "${ours[0]:-}" = "$p" ] && continue
  if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -xF "RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia" >/dev/null; then ours+=("$p"); fi
done
for epmd in "${ours[@]}"; do
  if /usr/bin/epmd -names 2>/dev/null | grep '^name ' >/dev/null; then
    log "epmd pid $epmd still has registered nodes: left running"
  else
    kill "$epmd" 2>/dev/null; wait_gone "$epmd" 25 || kill -9 "$epmd" 2>/dev/null
    log "epmd (pid $epmd) stopped"
  fi
done
alive "$(cat "$RMQ_DIR/epmd.pid" 2>/dev/null || true)" || rm -f "$RMQ_DIR/epmd.pid"

# ---- postgresql: pg_ctl stop -m fast as the cluster owner
as_pg_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
if [ -s "$PG_DIR/data/postmaster.pid" ] && [ -n "$bindir" ]; then
  t=$(now)
  pgpid=$(head -1 "$PG_DIR/data/postmaster.pid")
  if as_pg_owner "$bindir/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1; then
    log "postgresql stopped in $(elapsed "$t") s"
  elif alive "$pgpid"; then
    kill -INT "$pgpid"; wait_gone "$pgpid" 100 || kill -9 "$pgpid"; log "postgresql pid $pgpid stopped by signal"
  else
    log "postgresql not running (stale pid file)"
  fi
else
  log "postgresql not running"
fi
[ $PURGE = 1 ] && { rm -rf "$STATE_DIR" "$PG_DIR"; log "removed $STATE_DIR and $PG_DIR"; }
log "done in $(elapsed "$T0") s"
exit 0
