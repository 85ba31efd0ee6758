#!/usr/bin/env bash
# Starts the PostgreSQL servers the tests use, on loopback only, and prints the environment the
# tests read. Idempotent: servers already running are left alone.
#
#   eval "$(scripts/test-postgres.sh start)"   # start (installing PostgreSQL if needed) and export
#   scripts/test-postgres.sh stop               # stop both servers
#
# Two servers: "main" (REGISTRAR_TEST_POSTGRES_URL) for the store and end-to-end tests, and
# "outage" (REGISTRAR_TEST_POSTGRES_OUTAGE_URL) that the outage test stops and starts through
# REGISTRAR_TEST_POSTGRES_OUTAGE_CTL without disturbing the tests running on "main".
set -euo pipefail

ROOT=${REGISTRAR_TEST_POSTGRES_ROOT:-/tmp/registrar-test-postgres}
MAIN_PORT=${REGISTRAR_TEST_POSTGRES_PORT:-55432}
OUTAGE_PORT=$((MAIN_PORT + 1))
USER_NAME=registrar
PASSWORD=registrar

find_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ] && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  [ -n "$dir" ] || { echo "PostgreSQL server binaries not found" >&2; exit 1; }
  echo "$dir"
}

as_owner() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_one() {
  local name=$1 port=$2 bin=$3 dir="$ROOT/$1"
  mkdir -p "$ROOT"
  if [ "$(id -u)" = "0" ]; then chown postgres:postgres "$ROOT"; fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust --no-sync >/dev/null
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $port"
      echo "unix_socket_directories = '$ROOT'"
      echo "max_connections = 200"
      echo "fsync = on"
    } >>"$dir/postgresql.conf"
  fi
  # pg_isready: 0 accepting, 1 starting up, 2 no answer. No answer while pg_ctl still finds a
  # server can mean a stale postmaster.pid: the machine restarted and the PID in it now names
  # another process. If that process is not a server of this data folder, the file is removed
  # (nothing is signalled) and the server started again.
  local ready=0 pid
  as_owner "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q -t 5 || ready=$?
  if [ "$ready" = 2 ] && as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    pid=$(head -n 1 "$dir/postmaster.pid" 2>/dev/null || true)
    if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$dir"; then
      echo "test-postgres: $name's postmaster.pid names process $pid, not its server; starting it again" >&2
      rm -f "$dir/postmaster.pid"
    fi
  fi
  if ! as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$dir" -l "$ROOT/$name.log" -w -t 60 start >/dev/null
  fi
  as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtAc \
    "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$USER_NAME') THEN CREATE ROLE $USER_NAME LOGIN CREATEDB PASSWORD '$PASSWORD'; END IF; END \$\$;" >/dev/null
  if [ -z "$(as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtAc "SELECT 1 FROM pg_database WHERE datname = '$USER_NAME'")" ]; then
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres -O "$USER_NAME" "$USER_NAME"
  fi
}

case "${1:-start}" in
  start)
    bin=$(find_bin)
    start_one main "$MAIN_PORT" "$bin"
    start_one outage "$OUTAGE_PORT" "$bin"
    ctl="$ROOT/outage-ctl"
    cat >"$ctl" <<CTL
#!/usr/bin/env bash
# stop | start the "outage" test server
set -euo pipefail
case "\$1" in
  stop) $( [ "$(id -u)" = "0" ] && echo "runuser -u postgres --" ) "$bin/pg_ctl" -D "$ROOT/outage" -m immediate -w stop >/dev/null ;;
  start) $( [ "$(id -u)" = "0" ] && echo "runuser -u postgres --" ) "$bin/pg_ctl" -D "$ROOT/outage" -l "$ROOT/outage.log" -w -t 60 start >/dev/null ;;
  *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
CTL
    chmod +x "$ctl"
    echo "export REGISTRAR_TEST_POSTGRES_URL='postgres://$USER_NAME:$PASSWORD@127.0.0.1:$MAIN_PORT/$USER_NAME?sslmode=disable'"
    echo "export REGISTRAR_TEST_POSTGRES_OUTAGE_URL='postgres://$USER_NAME:$PASSWORD@127.0.0.1:$OUTAGE_PORT/$USER_NAME?sslmode=disable'"
    echo "export REGISTRAR_TEST_POSTGRES_OUTAGE_CTL='$ctl'"
    ;;
  stop)
    bin=$(find_bin)
    for name in main outage; do
      [ -f "$ROOT/$name/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$ROOT/$name" -m fast -w stop >/dev/null 2>&1 || true
    done
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
