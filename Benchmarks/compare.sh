#!/usr/bin/env bash
# Compares two builds of Registrar on one scenario, in interleaved runs (documented in
# docs/benchmarks.md, "Comparing two builds").
#
#   Benchmarks/compare.sh SCENARIO NAME_A=BINARY_A NAME_B=BINARY_B [options]
#
#   --rounds N       pairs of runs, A B then B A in turn (default 3)
#   --duration S     seconds of the scenario per run (default 8)
#   --seeded N       clients seeded for each build (default 200000)
#   --connections C  wrk connections (default 32)
#   --quick          1 round of 1 s on 2,000 clients (the smoke test)
#
# SQLite only. Each build seeds its own database once (`registrar bench-seed`), so that each runs on
# the layout its own migrations make; every run then starts that build's server on a fresh copy of
# its database, measures the no-op ceiling for 5 s (1 s with --quick), then the scenario. On these
# shared machines the ceiling moves by a third within an hour, so only runs close in time compare:
# the order alternates (A B B A A B ...) and each run has its own ceiling.
#
# Prints a Markdown table (one row per run: the ceiling, requests/s, the share of the ceiling,
# p50 and p99, errors, the server's CPU per request) and each build's median of each column.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n 2,21p "$0"; }
[ $# -ge 3 ] || { usage >&2; exit 2; }
scenario=$1 a=$2 b=$3
shift 3
rounds=3 duration=8 seeded=200000 connections=32 warm=5
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift ;;
    --duration) duration=$2; shift ;;
    --seeded) seeded=$2; shift ;;
    --connections) connections=$2; shift ;;
    --quick) rounds=1 duration=1 seeded=2000 warm=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[ -f "$here/$scenario.lua" ] || { echo "no scenario $scenario (Benchmarks/$scenario.lua)" >&2; exit 2; }
case $a in *=*) ;; *) echo "builds are NAME=BINARY" >&2; exit 2 ;; esac
case $b in *=*) ;; *) echo "builds are NAME=BINARY" >&2; exit 2 ;; esac
names=("${a%%=*}" "${b%%=*}")
binaries=("${a#*=}" "${b#*=}")
[ "${names[0]}" != "${names[1]}" ] || { echo "the two builds need different names" >&2; exit 2; }
for binary in "${binaries[@]}"; do [ -x "$binary" ] || { echo "no binary at $binary" >&2; exit 1; }; done
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d /tmp/registrar-compare.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cat "$here/common.lua" "$here/noop.lua" >"$work/noop.lua"
cat "$here/common.lua" "$here/$scenario.lua" >"$work/scenario.lua"
ticks=$(getconf CLK_TCK)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

for i in 0 1; do
  "${binaries[$i]}" bench-seed --database "$work/template-$i.sqlite" --config "$here/registrar.yaml" --count "$seeded" >&2
done
sync

# run INDEX: one run of build INDEX on a fresh copy of its database; prints a row and records it.
run() {
  local i=$1 name=${names[$1]} binary=${binaries[$1]}
  rm -f "$work"/run.sqlite*
  cp "$work/template-$i.sqlite" "$work/run.sqlite"
  local port=$(free_port)
  local base="http://127.0.0.1:$port"
  # The previous run's "ready" must not be mistaken for this server's: the background command
  # truncates the file only once it has started.
  rm -f "$work/server.out" "$work/server.err"
  "$binary" serve --host 127.0.0.1 --port "$port" --issuer "$base" --database "$work/run.sqlite" --config "$here/registrar.yaml" \
    --log-level error --benchmark-routes >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 1 400); do
    grep -q ready "$work/server.out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
    sleep 0.05
  done
  local basic=$(printf 'bench-0:bench-secret-0' | base64 -w0)
  local token=$(curl -s -u bench-0:bench-secret-0 -d grant_type=client_credentials -d scope=read "$base/token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  export BENCH_SEEDED=$seeded BENCH_THREADS=2 BENCH_BASIC=$basic BENCH_ACCESS_TOKEN=$token
  local noop=$(wrk -t2 -c"$connections" -d"${warm}s" -s "$work/noop.lua" "$base" | sed -n 's/^BENCH_JSON //p')
  local before=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  local json=$(wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$work/scenario.lua" "$base" | sed -n 's/^BENCH_JSON //p')
  local after=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  [ -n "$noop" ] && [ -n "$json" ] || { echo "wrk failed for $name" >&2; exit 1; }
  python3 - "$name" "$noop" "$json" "$before" "$after" "$ticks" "$work/results" <<'PY'
import json, sys
name, noop, run = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
cpu_seconds = (int(sys.argv[5]) - int(sys.argv[4])) / int(sys.argv[6])
row = dict(name=name, ceiling=noop["rps"], rps=run["rps"], share=100 * run["rps"] / noop["rps"], p50=run["p50_ms"],
           p99=run["p99_ms"], errors=run["errors"], cpu=1e6 * cpu_seconds / max(run["requests"], 1))
with open(sys.argv[7], "a") as f: f.write(json.dumps(row) + "\n")
print(f"| {name} | {row['ceiling']:.0f} | {row['rps']:.0f} | {row['share']:.1f} % | {row['p50']:.2f} | {row['p99']:.2f} "
      f"| {row['errors']} | {row['cpu']:.0f} |", flush=True)
PY
}

echo "# $scenario: ${names[0]} against ${names[1]}, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "- ${names[0]}: ${binaries[0]}; ${names[1]}: ${binaries[1]}"
echo "- $seeded clients; $rounds rounds; wrk -t2 -c$connections, ${warm} s of noop then ${duration} s of $scenario per run"
echo
echo "| build | ceiling/s | requests/s | of the ceiling | p50 ms | p99 ms | errors | CPU µs per request |"
echo "|---|---|---|---|---|---|---|---|"
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) = 1 ]; then run 0; run 1; else run 1; run 0; fi
done
python3 - "$work/results" "${names[@]}" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print()
print("| build (median) | ceiling/s | requests/s | of the ceiling | p50 ms | p99 ms | errors | CPU µs per request |")
print("|---|---|---|---|---|---|---|---|")
for name in sys.argv[2:]:
    mine = [r for r in rows if r["name"] == name]
    m = {k: statistics.median(r[k] for r in mine) for k in ("ceiling", "rps", "share", "p50", "p99", "cpu")}
    errors = sum(r["errors"] for r in mine)
    print(f"| {name} | {m['ceiling']:.0f} | {m['rps']:.0f} | {m['share']:.1f} % | {m['p50']:.2f} | {m['p99']:.2f} | {errors} | {m['cpu']:.0f} |")
PY
