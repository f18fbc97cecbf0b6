#!/usr/bin/env bash
# local-services.sh - install (if missing) and start a throwaway RabbitMQ + PostgreSQL
# on loopback, without systemd and without Docker. Idempotent: a second run while
# they are up only re-checks them and says again where the connection settings are.
#
#   ./local-services.sh            # install if needed, start, print where the connection settings are
#   ./local-services.sh --reset    # wipe the state dir first (fresh broker + cluster)
#   ./local-services.sh --rotate-secrets   # new passwords for every login (then restart UniCode's services)
#   eval "$(./local-services.sh --env)"   # start, then export UNICODE_* variables into the shell
#
# Everything lives under $LOCAL_SERVICES_DIR (default <repo>/.local-services, git-ignored).
# Passwords are generated per installation on the first start (from /dev/urandom) and kept in
# secrets.env and connection.env, both mode 600; PG_PASS, RMQ_PASS, RMQ_CLI_PASS set them instead.
# PostgreSQL asks every login for its password (scram-sha-256) over the socket and loopback; RabbitMQ has
# one user for the services and one for the command line (`unicode submit`/`cancel`), neither an administrator.
# Stop with stop-local-services.sh (same LOCAL_SERVICES_DIR).
set -euo pipefail
umask 077                                    # every file written here is the owner's alone unless chmod'ed

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE_DIR=${LOCAL_SERVICES_DIR:-$REPO_ROOT/.local-services}
RMQ_PORT=${RMQ_PORT:-5672}
RMQ_MGMT_PORT=${RMQ_MGMT_PORT:-15672}
RMQ_DIST_PORT=${RMQ_DIST_PORT:-25672}
RMQ_MANAGEMENT=${RMQ_MANAGEMENT:-0}          # 0 = no rabbitmq_management plugin (start ~1 s, stop ~5 s faster)
RMQ_USER=${RMQ_USER:-unicode}               # the services' broker user: everything inside RMQ_VHOST
RMQ_CLI_USER=${RMQ_CLI_USER:-unicode-cli}   # the command line's: may only send to the orchestrator's command queue
RMQ_VHOST=${RMQ_VHOST:-unicode}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-unicode}
PG_DB=${PG_DB:-unicode}
# Passwords given in the environment win over secrets.env (and are kept there for the next start).
ENV_PG_PASS=${PG_PASS:-}
ENV_RMQ_PASS=${RMQ_PASS:-}
ENV_RMQ_CLI_PASS=${RMQ_CLI_PASS:-}
START_TIMEOUT=${START_TIMEOUT:-120}          # seconds to wait for each service
# RabbitMQ closes a channel whose delivery stays unacknowledged longer than consumer_timeout
# (30 min by default). UniCode's trainers hold their delivery for the whole job (prefetch 1),
# so the broker must allow more than the longest job: 7 days by default here. Users' brokers
# need the same setting (README "Running on your own broker").
RMQ_CONSUMER_TIMEOUT_MS=${RMQ_CONSUMER_TIMEOUT_MS:-604800000}

PRINT_ENV=0
RESET=0
ROTATE=0
for a in "$@"; do
  case "$a" in
    --env) PRINT_ENV=1 ;;
    --reset) RESET=1 ;;
    --rotate-secrets) ROTATE=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
  esac
done

log() { echo "[local-services] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]; }   # zombies count as gone

RMQ_DIR=$STATE_DIR/rabbitmq
PG_DIR=$STATE_DIR/postgres
# PostgreSQL refuses to run as root and runs as 'postgres', which must be able to reach its data
# directory. If a parent of the repository is not traversable (a checkout under /root, say), the
# cluster goes to /var/tmp instead, under a name derived from the state dir; settings.env records it.
pg_dir_reachable() { [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$(dirname "$1")" 2>/dev/null; }
if [ -f "$STATE_DIR/settings.env" ] && grep -q '^PG_DIR=' "$STATE_DIR/settings.env"; then
  PG_DIR=$(sed -n 's/^PG_DIR=//p' "$STATE_DIR/settings.env")
elif [ -d "$STATE_DIR" ] || mkdir -p "$STATE_DIR" 2>/dev/null; then
  chmod 755 "$STATE_DIR"
  if ! pg_dir_reachable "$PG_DIR"; then
    PG_DIR=/var/tmp/unicode-postgres-$(echo "$STATE_DIR" | sha256sum | cut -c1-12)
  fi
fi
RMQ_NODE=rabbit@localhost

# ---------------------------------------------------------------- install
pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$d" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && echo "$d"
}

install_missing() {
  local pkgs=()
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || pkgs+=(rabbitmq-server)
  pg_bindir >/dev/null || pkgs+=(postgresql)
  if [ "$RMQ_MANAGEMENT" = 1 ] && ! command -v curl >/dev/null; then pkgs+=(curl); fi
  [ ${#pkgs[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "need root to apt-get install ${pkgs[*]}"
  local t0; t0=$(now)
  # Keep the packages' maintainer scripts from starting system-wide daemons
  # (rabbitmq on 5672, the 'main' PostgreSQL cluster on 5432) where there is no systemd.
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
  fi
  log "installing: ${pkgs[*]}"
  local rc=0
  { apt-get -o DPkg::Lock::Timeout=600 update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends "${pkgs[@]}"; } >"$STATE_DIR/apt-install.log" 2>&1 || rc=$?
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ $rc = 0 ] || { tail -20 "$STATE_DIR/apt-install.log" >&2; die "apt-get failed (rc=$rc)"; }
  log "installed in $(elapsed "$t0") s"
}

# ---------------------------------------------------------------- rabbitmq
rmq_env() {
  export HOME="$RMQ_DIR"                         # .erlang.cookie lives here
  export RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"   # ignore /etc/rabbitmq/rabbitmq-env.conf
  export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq"              # -> rabbitmq.conf
  export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
  export RABBITMQ_NODENAME="$RMQ_NODE"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$RMQ_PORT"
  export RABBITMQ_DIST_PORT="$RMQ_DIST_PORT"
  export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
  export RABBITMQ_LOG_BASE="$RMQ_DIR/log"
  export RABBITMQ_PID_FILE="$RMQ_DIR/rabbit.pid"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
  export ERL_EPMD_ADDRESS=127.0.0.1
}

# The pid of the epmd this state dir started: the one in epmd.pid when it is still an epmd, else an epmd
# process whose environment has this state dir's RABBITMQ_MNESIA_BASE (rmq_env: every epmd started from here,
# ours or one erl spawned, by this version or an earlier one). Fails when there is none.
is_epmd() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = epmd ]; }
our_epmd() {
  local p
  p=$(cat "$RMQ_DIR/epmd.pid" 2>/dev/null || true)
  if [ -n "$p" ] && alive "$p" && is_epmd "$p"; then echo "$p"; return 0; fi
  for p in $(pgrep -x epmd || true); do
    if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -xF "RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia" >/dev/null; then
      echo "$p"; return 0
    fi
  done
  return 1
}

amqp_ready() {   # the broker answers the AMQP 0-9-1 protocol header with a Connection.Start frame (0x01)
  local b
  b=$(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$RMQ_PORT; printf 'AMQP\x00\x00\x09\x01' >&3; head -c 1 <&3" 2>/dev/null | od -An -tx1 | tr -d ' \n') || true
  [ "$b" = 01 ]
}

mgmt_ready() {   # the API answers the services' user (tag management: /api/vhosts/NAME would need administrator)
  [ "$(curl -s -o /dev/null -w '%{http_code}' -m 3 -u "$RMQ_USER:$RMQ_PASS" \
        "http://127.0.0.1:$RMQ_MGMT_PORT/api/whoami")" = 200 ]
}

# What the command line's broker user may touch (configure, write and read alike): the orchestrator's
# command queue and its exchange, which PipelineCommands.SendToOrchestrator declares and binds (with or without
# a UNICODE_BUS_PREFIX) for `unicode submit` and `unicode cancel`. Nothing else: no service queue, no error
# queue, no job command, no event exchange. A CLI command that needs more must widen this (and say so).
RMQ_CLI_RESOURCES='^([A-Za-z0-9_.-]+-)?orchestrator-chain-command$'

# The broker's users, vhost and permissions, imported at every boot (load_definitions) and into a running
# broker when they change. Users not named here (none by default: no guest) are left alone.
write_rabbitmq_definitions() {
  local tags=""
  [ "$RMQ_MANAGEMENT" = 1 ] && tags=management   # the management UI and mgmt_ready; never administrator
  cat > "$RMQ_DIR/definitions.json" <<EOF
{
  "users": [
    {"name": "$RMQ_USER", "password": "$RMQ_PASS", "tags": "$tags"},
    {"name": "$RMQ_CLI_USER", "password": "$RMQ_CLI_PASS", "tags": ""}
  ],
  "vhosts": [{"name": "$RMQ_VHOST"}],
  "permissions": [
    {"user": "$RMQ_USER", "vhost": "$RMQ_VHOST", "configure": ".*", "write": ".*", "read": ".*"},
    {"user": "$RMQ_CLI_USER", "vhost": "$RMQ_VHOST", "configure": "$RMQ_CLI_RESOURCES", "write": "$RMQ_CLI_RESOURCES", "read": "$RMQ_CLI_RESOURCES"}
  ]
}
EOF
  chmod 600 "$RMQ_DIR/definitions.json"
}

write_rabbitmq_config() {
  : > "$RMQ_DIR/rabbitmq-env.conf"
  cat > "$RMQ_DIR/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$RMQ_PORT
loopback_users = none
load_definitions = $RMQ_DIR/definitions.json
consumer_timeout = $RMQ_CONSUMER_TIMEOUT_MS
management.tcp.ip = 127.0.0.1
management.tcp.port = $RMQ_MGMT_PORT
log.file.level = info
EOF
  if [ "$RMQ_MANAGEMENT" = 1 ]; then echo '[rabbitmq_management].' ; else echo '[].'; fi > "$RMQ_DIR/enabled_plugins"
  chmod 600 "$RMQ_DIR/rabbitmq.conf" "$RMQ_DIR/rabbitmq-env.conf" "$RMQ_DIR/enabled_plugins"
}

start_rabbitmq() {
  local t0; t0=$(now)
  local pid; pid=$(cat "$RMQ_DIR/rabbit.pid" 2>/dev/null || true)
  mkdir -p "$RMQ_DIR/log" "$RMQ_DIR/mnesia"
  chmod 700 "$RMQ_DIR"
  write_rabbitmq_definitions
  write_rabbitmq_config
  # creds: a fingerprint of the users and passwords the broker has (an earlier version kept them in clear)
  local want; want=$(sha256sum < "$RMQ_DIR/definitions.json" | cut -c1-64)
  if alive "$pid" && amqp_ready; then
    if [ "$(cat "$RMQ_DIR/creds" 2>/dev/null)" != "$want" ]; then
      # new passwords (first start of this version, --rotate-secrets, RMQ_*PASS): into the running broker
      rmq_env
      /usr/lib/rabbitmq/bin/rabbitmqctl -q -n "$RMQ_NODE" import_definitions "$RMQ_DIR/definitions.json" >"$RMQ_DIR/log/import.out" 2>&1 9>&- ||
        { cat "$RMQ_DIR/log/import.out" >&2; die "rabbitmqctl import_definitions failed"; }
      echo "$want" | write_private "$RMQ_DIR/creds"
      log "rabbitmq users $RMQ_USER and $RMQ_CLI_USER updated in the running broker in $(elapsed "$t0") s (beam pid $pid)"
      return 0
    fi
    log "rabbitmq already running (beam pid $pid)"; return 0
  fi
  alive "$pid" && die "rabbitmq pid $pid exists but does not answer AMQP on $RMQ_PORT; run stop-local-services.sh"
  for p in "$RMQ_PORT" "$RMQ_DIST_PORT"; do
    port_open "$p" && die "127.0.0.1:$p is already in use by another process (set RMQ_PORT/RMQ_DIST_PORT)"
  done
  [ "$RMQ_MANAGEMENT" = 1 ] && port_open "$RMQ_MGMT_PORT" && die "127.0.0.1:$RMQ_MGMT_PORT already in use (set RMQ_MGMT_PORT or RMQ_MANAGEMENT=0)"
  echo "$want" | write_private "$RMQ_DIR/creds"   # the broker imports definitions.json as it boots

  rmq_env
  # epmd (Erlang port mapper, 4369) outlives the broker if erl starts it as a daemon;
  # start our own foreground copy so the stop script can end it by PID (or, should epmd.pid be gone, find it
  # by its environment: our_epmd). An epmd already running keeps its pid file when it is ours (the broker
  # alone is restarted); someone else's is shared, never stopped.
  local epmd
  if ! port_open 4369; then
    setsid nohup /usr/bin/epmd -address 127.0.0.1 >"$RMQ_DIR/log/epmd.out" 2>&1 </dev/null 9>&- &
    echo $! > "$RMQ_DIR/epmd.pid"
    for _ in $(seq 1 50); do port_open 4369 && break; sleep 0.1; done
  elif epmd=$(our_epmd); then
    echo "$epmd" > "$RMQ_DIR/epmd.pid"
  else
    rm -f "$RMQ_DIR/epmd.pid"
  fi
  rm -f "$RMQ_DIR/rabbit.pid"
  # run the broker directly (not /usr/sbin/rabbitmq-server, which su's to the 'rabbitmq' user
  # and uses /var/lib/rabbitmq); works as root or as any user that owns $RMQ_DIR
  setsid nohup /usr/lib/rabbitmq/bin/rabbitmq-server >"$RMQ_DIR/log/server.out" 2>&1 </dev/null 9>&- &
  echo $! > "$RMQ_DIR/server.shpid"
  local shpid=$!
  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  until amqp_ready; do
    if ! alive "$shpid"; then tail -30 "$RMQ_DIR/log/server.out" >&2; die "rabbitmq exited during startup"; fi
    [ "$(date +%s)" -lt "$deadline" ] || { tail -30 "$RMQ_DIR/log/server.out" >&2; die "rabbitmq not ready after ${START_TIMEOUT}s"; }
    sleep 0.25
  done
  log "rabbitmq AMQP ready on 127.0.0.1:$RMQ_PORT after $(elapsed "$t0") s (beam pid $(cat "$RMQ_DIR/rabbit.pid" 2>/dev/null))"
  if [ "$RMQ_MANAGEMENT" = 1 ]; then
    until mgmt_ready; do
      [ "$(date +%s)" -lt "$deadline" ] || die "rabbitmq management API not ready after ${START_TIMEOUT}s"
      sleep 0.25
    done
    log "rabbitmq management API ready on http://127.0.0.1:$RMQ_MGMT_PORT after $(elapsed "$t0") s"
  fi
}

# ---------------------------------------------------------------- postgresql
as_pg_owner() {   # run a command as the cluster owner: 'postgres' when we are root, else ourselves
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Who may log in how (rewritten at every start; an earlier version had `local all all trust`): every login
# gives its password (scram-sha-256) over the socket and over loopback. The one exception is the superuser
# 'postgres' through the socket for the OS account that owns the cluster (and root, which can become it
# anyway): peer authentication, as PostgreSQL's Debian packages set it up; this script creates roles that
# way, and docs/sql/README.md's "Who creates the role" uses it. Returns 1 when a file changed.
write_pg_hba() {
  local data=$1 hba ident changed=0
  hba="# written by infra/local-services.sh at every start; edit that script, not this file
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       postgres                 peer map=owner
local   all       all                      scram-sha-256
host    all       all       127.0.0.1/32   scram-sha-256
host    all       all       ::1/128        scram-sha-256"
  if [ "$(id -u)" = 0 ]; then
    ident="owner   postgres   postgres
owner   root       postgres"
  else
    ident="owner   $(id -un)   postgres"
  fi
  ident="# written by infra/local-services.sh: the OS accounts that may log in as the superuser through the socket
# MAPNAME SYSTEM-USERNAME PG-USERNAME
$ident"
  if [ "$(cat "$data/pg_hba.conf" 2>/dev/null)" != "$hba" ]; then
    printf '%s\n' "$hba" | as_pg_owner tee "$data/pg_hba.conf" >/dev/null; changed=1
  fi
  if [ "$(cat "$data/pg_ident.conf" 2>/dev/null)" != "$ident" ]; then
    printf '%s\n' "$ident" | as_pg_owner tee "$data/pg_ident.conf" >/dev/null; changed=1
  fi
  return $changed
}

start_postgres() {
  local t0; t0=$(now)
  local bindir; bindir=$(pg_bindir) || die "PostgreSQL binaries not found under /usr/lib/postgresql"
  local data="$PG_DIR/data"
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$PG_DIR"
    runuser -u postgres -- test -w "$PG_DIR" ||
      die "user 'postgres' cannot reach $PG_DIR (a parent directory is not o+x); pick another LOCAL_SERVICES_DIR"
  fi
  if [ ! -s "$data/PG_VERSION" ]; then
    as_pg_owner "$bindir/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    # throwaway cluster: trade durability for speed
    cat >> "$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
    log "initdb done in $(elapsed "$t0") s"
  fi
  local hba_changed=0
  write_pg_hba "$data" || hba_changed=1
  if as_pg_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "postgresql already running (pid $(head -1 "$data/postmaster.pid"))"
    if [ $hba_changed = 1 ]; then
      as_pg_owner "$bindir/pg_ctl" -D "$data" reload >/dev/null 9>&- || die "pg_ctl reload failed"
      log "postgresql: pg_hba.conf replaced (passwords required) and reloaded"
    fi
  else
    port_open "$PG_PORT" && die "127.0.0.1:$PG_PORT is already in use by another process (set PG_PORT)"
    as_pg_owner "$bindir/pg_ctl" -D "$data" -l "$PG_DIR/server.log" -w -t "$START_TIMEOUT" \
      -o "-p $PG_PORT" start >/dev/null 9>&- || { tail -30 "$PG_DIR/server.log" >&2; die "pg_ctl start failed"; }
    log "postgresql ready on 127.0.0.1:$PG_PORT after $(elapsed "$t0") s (pid $(head -1 "$data/postmaster.pid"))"
  fi
  # idempotent role + database (password re-set every time, so changing PG_PASS just works). The password
  # goes through the environment (\getenv), never the command line that `ps` shows.
  local psql=(psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres)
  local hba_errors
  hba_errors=$(as_pg_owner "${psql[@]}" -tA -c "SELECT string_agg('line ' || line_number || ': ' || error, '; ') FROM pg_hba_file_rules WHERE error IS NOT NULL") ||
    die "cannot log in to PostgreSQL as the superuser through the socket $PG_DIR (pg_hba.conf / pg_ident.conf)"
  [ -z "$hba_errors" ] || die "$data/pg_hba.conf: $hba_errors"
  UNICODE_PG_NEW_PASS="$PG_PASS" as_pg_owner "${psql[@]}" -v u="$PG_USER" -v db="$PG_DB" <<'SQL'
\getenv p UNICODE_PG_NEW_PASS
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'u') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'u') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN CREATEDB PASSWORD %L', :'u', :'p') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'u') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
-- the read-only role of the results database's analysts (docs/sql/README.md); the app login may SET ROLE to it
SELECT 'CREATE ROLE unicode_analyst NOLOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'unicode_analyst') \gexec
SELECT format('GRANT unicode_analyst TO %I', :'u') \gexec
SQL
}

# ---------------------------------------------------------------- secrets
SECRETS=$STATE_DIR/secrets.env
new_secret() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }   # 192 bits, hex: safe in URIs and connection strings
secret_from_file() { [ -f "$SECRETS" ] || return 0; sed -n "s/^$1=//p" "$SECRETS" | tail -n1; }
# Passwords: from the environment (PG_PASS, RMQ_PASS, RMQ_CLI_PASS), else secrets.env, else new ones (first
# start of an installation; --rotate-secrets makes new ones always). An installation of an earlier version has
# no secrets.env: it gets new passwords here, which replace the fixed 'unicode' of that version below (ALTER
# ROLE; the broker's users are re-imported). The file is written again every time, mode 600.
load_secrets() {
  local name given value old changed=0 first=0
  [ -f "$SECRETS" ] || first=1
  for name in PG_PASS RMQ_PASS RMQ_CLI_PASS; do
    old=$(secret_from_file "$name")
    given=ENV_$name; value=${!given}
    if [ -z "$value" ]; then
      if [ $ROTATE = 1 ] || [ -z "$old" ]; then value=$(new_secret); else value=$old; fi
    fi
    [[ "$value" =~ ^[A-Za-z0-9._~-]+$ ]] ||
      die "$name: use letters, digits and . _ ~ - only (it goes unescaped into URIs and connection strings)"
    [ "$value" = "$old" ] || changed=1
    printf -v "$name" '%s' "$value"
  done
  for name in RMQ_USER RMQ_CLI_USER RMQ_VHOST PG_USER PG_DB; do
    [[ "${!name}" =~ ^[A-Za-z0-9._-]+$ ]] || die "$name: use letters, digits and . _ - only"
  done
  [ "$RMQ_USER" != "$RMQ_CLI_USER" ] || die "RMQ_USER and RMQ_CLI_USER must differ"
  [ $changed = 1 ] || { chmod 600 "$SECRETS"; return 0; }
  write_private "$SECRETS" <<EOF
# Passwords of this installation's local servers, written by infra/local-services.sh (mode 600).
# Rotate: infra/local-services.sh --rotate-secrets, then restart UniCode's services (infra/services.sh stop; … start).
PG_PASS=$PG_PASS
RMQ_PASS=$RMQ_PASS
RMQ_CLI_PASS=$RMQ_CLI_PASS
EOF
  if [ $first = 1 ] && { [ -f "$STATE_DIR/rabbitmq/creds" ] || [ -s "$PG_DIR/data/PG_VERSION" ]; }; then
    log "this installation had the fixed password of an earlier version: new passwords generated into $SECRETS"
  elif [ $first = 1 ]; then
    log "passwords generated for this installation into $SECRETS (mode 600)"
  else
    log "passwords changed (--rotate-secrets or PG_PASS/RMQ_PASS/RMQ_CLI_PASS): $SECRETS"
  fi
  SECRETS_CHANGED=1
}
SECRETS_CHANGED=0

# Writes stdin to $1 atomically with mode 600 (a file that was world-readable is replaced, not chmod'ed late).
write_private() {
  local tmp; tmp=$(mktemp "$1.XXXXXX")
  chmod 600 "$tmp"
  cat > "$tmp"
  mv -f "$tmp" "$1"
}

# ---------------------------------------------------------------- main
T0=$(now)
if [ $RESET = 1 ] && [ -d "$STATE_DIR" ]; then
  "$(dirname "$0")/stop-local-services.sh" --purge >&2 || true
fi
mkdir -p "$STATE_DIR"
chmod 755 "$STATE_DIR"
# fd 9 = lock; every long-lived child below is started with 9>&- so it does not inherit the lock
exec 9>"$STATE_DIR/.lock"
flock -w 120 9 || die "another local-services.sh holds $STATE_DIR/.lock"
( umask 022; install_missing )     # packages' files and maintainer scripts get the usual modes
load_secrets
# keep the two pieces' settings where the stop script finds them
cat > "$STATE_DIR/settings.env" <<EOF
RMQ_PORT=$RMQ_PORT
RMQ_NODE=$RMQ_NODE
PG_PORT=$PG_PORT
PG_DIR=$PG_DIR
EOF
start_postgres
start_rabbitmq

AMQP_URI="amqp://$RMQ_USER:$RMQ_PASS@127.0.0.1:$RMQ_PORT/$RMQ_VHOST"
PG_CS="Host=127.0.0.1;Port=$PG_PORT;Database=$PG_DB;Username=$PG_USER;Password=$PG_PASS"
PG_URI="postgresql://$PG_USER:$PG_PASS@127.0.0.1:$PG_PORT/$PG_DB"
write_private "$STATE_DIR/connection.env" <<EOF
# The local servers' settings and passwords (infra/local-services.sh; mode 600: source it, never share it).
# UNICODE_RABBITMQ_USER/_PASS: the services' broker user; _CLI_USER/_CLI_PASS: the command line's (submit, cancel).
export UNICODE_RABBITMQ_HOST=127.0.0.1
export UNICODE_RABBITMQ_PORT=$RMQ_PORT
export UNICODE_RABBITMQ_VHOST=$RMQ_VHOST
export UNICODE_RABBITMQ_USER=$RMQ_USER
export UNICODE_RABBITMQ_PASS=$RMQ_PASS
export UNICODE_RABBITMQ_CLI_USER=$RMQ_CLI_USER
export UNICODE_RABBITMQ_CLI_PASS=$RMQ_CLI_PASS
export UNICODE_RABBITMQ_URI='$AMQP_URI'
export UNICODE_RABBITMQ_MGMT='http://127.0.0.1:$RMQ_MGMT_PORT'
export UNICODE_PG='$PG_CS'
export UNICODE_PG_URI='$PG_URI'
export UNICODE_PG_ADMIN_HOST='$PG_DIR'
EOF
log "all services ready in $(elapsed "$T0") s; state in $STATE_DIR"
if [ $SECRETS_CHANGED = 1 ]; then
  for f in "$STATE_DIR"/pids/*.pid; do
    if [ -f "$f" ] && alive "$(cat "$f")"; then
      log "WARNING: UniCode services started with the old passwords are running: restart them" \
          "(infra/services.sh stop; source $STATE_DIR/connection.env; infra/services.sh start)"
      break
    fi
  done
fi
if [ $PRINT_ENV = 1 ]; then
  cat "$STATE_DIR/connection.env"
else
  cat <<EOF
RabbitMQ AMQP : amqp://$RMQ_USER@127.0.0.1:$RMQ_PORT/$RMQ_VHOST (services), user $RMQ_CLI_USER (command line)
RabbitMQ mgmt : http://127.0.0.1:$RMQ_MGMT_PORT  (user $RMQ_USER)  [RMQ_MANAGEMENT=$RMQ_MANAGEMENT]
PostgreSQL    : Host=127.0.0.1;Port=$PG_PORT;Database=$PG_DB;Username=$PG_USER;Password=…
psql          : source $STATE_DIR/connection.env && psql "\$UNICODE_PG_URI"
rabbitmqctl   : HOME=$RMQ_DIR /usr/lib/rabbitmq/bin/rabbitmqctl -n $RMQ_NODE status
env file      : source $STATE_DIR/connection.env   (passwords: there and in $SECRETS, both mode 600)
rotate        : $0 --rotate-secrets, then restart UniCode's services
EOF
fi
