#!/usr/bin/env bash
# Registrar's benchmark suite: one command, documented in docs/benchmarks.md.
#
#   Benchmarks/run.sh                      build the release binary, run every scenario (SQLite)
#   Benchmarks/run.sh --store postgres     the same on PostgreSQL (REGISTRAR_BENCH_POSTGRES_URL or
#                                          REGISTRAR_TEST_POSTGRES_URL names the server)
#   Benchmarks/run.sh --durability full    SQLite with fsync on every (group) commit
#   Benchmarks/run.sh --scale              register and read with 1,000 and with 1,000,000 clients
#   Benchmarks/run.sh --soak 300           five minutes of mixed load, RSS sampled every 10 s
#   Benchmarks/run.sh --quick              one second per scenario with the debug binary (smoke test)
#   Benchmarks/run.sh --codec              in-process timings of the JSON work (parse, decode, write),
#                                          ns per operation, best of five rounds; no server, no wrk
#
# Each scenario runs wrk for a fixed time at a fixed concurrency (default 32 connections) against a
# fresh server on a loopback port, and reports requests/s, p50 and p99 latency, errors, server CPU
# and RSS, and requests/s as a ratio of the no-op ceiling measured in the same run: of the run's
# first no-op (`of noop`), and of a short no-op run just before the scenario (`of noop before`), which
# a machine whose speed drifts within minutes leaves closer to the scenario's own conditions.
set -euo pipefail
cd "$(dirname "$0")/.."
here=Benchmarks

arguments="$*"
duration=15
connections=32
threads=2
store=sqlite
durability=process
binary=""
quick=0
scale=0
soak=0
codec=0
seeded=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --duration) duration=$2; shift ;;
    --connections) connections=$2; shift ;;
    --threads) threads=$2; shift ;;
    --store) store=$2; shift ;;
    --durability) durability=$2; shift ;;
    --binary) binary=$2; shift ;;
    --scale) scale=1 ;;
    --soak) soak=$2; shift ;;
    --seeded) seeded=$2; shift ;;
    --codec) codec=1 ;;
    -h|--help) sed -n 2,18p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# Seconds of the no-op run before each scenario.
ceiling_before=5
if [ "$quick" = 1 ]; then
  duration=1; connections=8; ceiling_before=1
  [ -n "$binary" ] || binary=.build/debug/registrar
fi
if [ -z "$binary" ]; then
  echo "== building the release binary" >&2
  swift build -c release --product registrar >&2
  binary=.build/release/registrar
fi
[ -x "$binary" ] || { echo "no binary at $binary (swift build first, or pass --binary)" >&2; exit 1; }

if [ "$codec" = 1 ]; then
  echo "# Registrar JSON work in-process ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "- binary: $binary; command: Benchmarks/run.sh $arguments"
  echo
  "$binary" bench-codec --iterations "$([ "$quick" = 1 ] && echo 200 || echo 100000)"
  exit 0
fi
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d /tmp/registrar-bench.XXXXXX)
server_pid=""
pg_server=${REGISTRAR_BENCH_POSTGRES_URL:-${REGISTRAR_TEST_POSTGRES_URL:-}}
# The PostgreSQL databases made for the runs (names in $work/databases) are dropped at the end:
# a seeded million is about 3.5 GB.
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  wait 2>/dev/null || true
  if [ -s "$work/databases" ]; then
    while read -r name; do
      # A server that has just been stopped may still hold connections for a moment: try again.
      local error="" attempt
      for attempt in 1 2 3 4 5; do
        if error=$(psql "$pg_server" -qtAc "DROP DATABASE IF EXISTS $name WITH (FORCE)" 2>&1 >/dev/null); then
          echo "dropped the benchmark database $name" >&2
          error=""
          break
        fi
        sleep 1
      done
      [ -z "$error" ] || echo "could not drop the benchmark database $name: $error" >&2
    done <"$work/databases"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

database_for_run() {
  if [ "$store" = postgres ]; then
    local server=$pg_server
    [ -n "$server" ] || { echo "set REGISTRAR_BENCH_POSTGRES_URL (or eval \"\$(scripts/test-postgres.sh start)\")" >&2; exit 1; }
    local name="bench_$(date +%s%N)"
    psql "$server" -qtAc "CREATE DATABASE $name" >/dev/null
    echo "$name" >>"$work/databases"
    python3 - "$server" "$name" <<'PY'
import sys, urllib.parse as u
p = u.urlparse(sys.argv[1]); print(u.urlunparse(p._replace(path="/" + sys.argv[2])))
PY
  else
    echo "$work/db-$(date +%s%N).sqlite"
  fi
}

start_server() {
  local database=$1
  port=$(free_port)
  base="http://127.0.0.1:$port"
  local started=$(date +%s%N)
  # A previous server's "ready" must not be mistaken for this one's: the background command
  # truncates the file only once it has started.
  rm -f "$work/server.out" "$work/server.err"
  "$binary" serve --host 127.0.0.1 --port "$port" --issuer "$base" --database "$database" --config "$here/registrar.yaml" \
    --durability "$durability" --log-level error --benchmark-routes >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 1 400); do
    grep -q "ready" "$work/server.out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
    sleep 0.05
  done
  start_ms=$(( ($(date +%s%N) - started) / 1000000 ))
}

stop_server() { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=""; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$server_pid/status"; }
peak_kb() { awk '/VmHWM/ {print $2}' "/proc/$server_pid/status"; }
ticks=$(getconf CLK_TCK)

ceiling=""
# The no-op's requests/s over `ceiling_before` seconds, on the running server.
ceiling_now() {
  cat "$here/common.lua" "$here/noop.lua" >"$work/noop-before.lua"
  BENCH_SEEDED=$seed_count BENCH_THREADS=$threads wrk -t"$threads" -c"$connections" -d"${ceiling_before}s" -s "$work/noop-before.lua" "$base" 2>&1 \
    | sed -n 's/^BENCH_JSON //p' | python3 -c 'import json,sys; print(json.load(sys.stdin)["rps"])'
}

# run_scenario NAME SCRIPT
run_scenario() {
  local name=$1 script=$2
  cat "$here/common.lua" "$here/$script" >"$work/$script"
  local adjacent=""
  [ "$name" = noop ] || adjacent=$(ceiling_now)
  local before=$(cpu_ticks)
  local t0=$(date +%s%N)
  local out
  out=$(BENCH_SEEDED=$seed_count BENCH_THREADS=$threads BENCH_BASIC=$basic BENCH_ACCESS_TOKEN=${access_token:-} \
        wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s "$work/$script" "$base" 2>&1) || true
  local elapsed_ns=$(( $(date +%s%N) - t0 ))
  local after=$(cpu_ticks)
  local json=$(echo "$out" | sed -n 's/^BENCH_JSON //p')
  [ -n "$json" ] || { echo "wrk failed for $name:" >&2; echo "$out" >&2; exit 1; }
  local cpu=$(python3 -c "print(round(100.0 * ($after - $before) / $ticks / ($elapsed_ns / 1e9), 1))")
  local rps=$(echo "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rps"])')
  [ "$name" = noop ] && ceiling=$rps && adjacent=$rps
  local ratio=$(python3 -c "print(round(100.0 * $rps / $ceiling, 1) if '$ceiling' else '')")
  python3 - "$name" "$json" "$cpu" "$(rss_kb)" "$(peak_kb)" "$ratio" "$adjacent" <<'PY'
import json, sys
name, data, cpu, rss, peak, ratio, adjacent = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], float(sys.argv[7])
before = f"{100.0 * data['rps'] / adjacent:.1f}% of {adjacent:.0f}"
print(f"| {name:<22} | {data['rps']:>9.0f} | {ratio:>6}% | {before:>16} | {data['p50_ms']:>7.2f} | {data['p99_ms']:>7.2f} | {data['errors']:>6} | {cpu:>5}% | {rss/1024:>6.1f} | {peak/1024:>6.1f} |")
PY
}

header() {
  echo
  echo "$1"
  echo
  echo "| scenario               |     req/s | of noop |   of noop before |  p50 ms |  p99 ms | errors |   CPU | RSS MB | peak MB |"
  echo "|------------------------|-----------|---------|------------------|---------|---------|--------|-------|--------|---------|"
}

seed() {
  local database=$1 count=$2
  "$binary" bench-seed --database "$database" --config "$here/registrar.yaml" --durability "$durability" --count "$count" >&2
  # Seeding leaves up to gigabytes of dirty pages: flush them now, so that their write-back does
  # not compete with the server's own writes during the scenarios. On PostgreSQL, what an operator
  # runs after a bulk load: VACUUM ANALYZE, which sets the rows' hint bits and visibility map and
  # the planner's statistics. Otherwise the first scenario after seeding pays for them (the first
  # reads of each row write its page again) beside autovacuum's own pass over a million rows.
  if [ "$store" = postgres ]; then
    psql "$database" -qtAc "VACUUM ANALYZE" >/dev/null
  fi
  sync
}

prepare_token() {
  basic=$(printf 'bench-0:bench-secret-0' | base64 -w0)
  access_token=$(curl -s -u bench-0:bench-secret-0 -d grant_type=client_credentials -d scope=read "$base/token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}

machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "# Registrar benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "- machine: $machine"
echo "- binary: $binary; store: $store; durability: $durability"
echo "- wrk: $threads threads, $connections connections, ${duration}s per scenario"
echo "- command: Benchmarks/run.sh $arguments"

if [ "$scale" = 1 ]; then
  for count in 1000 1000000; do
    [ "$quick" = 1 ] && [ "$count" = 1000000 ] && count=20000
    database=$(database_for_run)
    seed_start=$(date +%s%N)
    seed "$database" "$count"
    seed_ms=$(( ($(date +%s%N) - seed_start) / 1000000 ))
    seed_count=$count
    start_server "$database"
    prepare_token
    header "## $count clients (seeded in ${seed_ms} ms; server ready in ${start_ms} ms)"
    run_scenario noop noop.lua
    run_scenario register register.lua
    run_scenario read read.lua
    run_scenario token token.lua
    stop_server
  done
  exit 0
fi

database=$(database_for_run)
seed_count=${seeded:-$([ "$quick" = 1 ] && echo 10000 || echo 200000)}
seed "$database" "$seed_count"
start_server "$database"
prepare_token

if [ "$soak" -gt 0 ]; then
  echo
  echo "## soak: mixed load for ${soak}s (RSS every 10 s)"
  cat "$here/common.lua" "$here/mixed.lua" >"$work/mixed.lua"
  BENCH_SEEDED=$seed_count BENCH_BASIC=$basic wrk -t"$threads" -c"$connections" -d"${soak}s" --latency -s "$work/mixed.lua" "$base" >"$work/soak.out" 2>&1 &
  wrk_pid=$!
  echo
  echo "| t (s) | RSS MB |"
  echo "|-------|--------|"
  t=0
  while kill -0 "$wrk_pid" 2>/dev/null; do
    printf '| %5d | %6.1f |\n' "$t" "$(python3 -c "print($(rss_kb)/1024)")"
    sleep 10; t=$((t + 10))
  done
  echo
  sed -n 's/^BENCH_JSON //p' "$work/soak.out"
  exit 0
fi

header "## scenarios"
run_scenario noop noop.lua
run_scenario register register.lua
run_scenario read read.lua
run_scenario update update.lua
run_scenario token token.lua
run_scenario introspect introspect.lua
run_scenario delete delete.lua
echo
echo "server start: ${start_ms} ms with ${seed_count} clients"
