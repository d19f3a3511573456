#!/usr/bin/env bash
# Measures what open admin dashboards cost the server: a release server on a
# copy of assets-maps (the large default map `world`) with BOTS bots
# (default 2,000) connected once and playing, then three phases of PHASE
# seconds each (default 40) back to back: 0, 1 and 20 dashboards open. A
# "dashboard" does what the page does: it reads the live stream of the map
# `world` (GET /v1/admin/dashboard/stream, 5 frames a second), polls the
# player list every 2 s and the history every 5 s, all with the admin
# token. For each phase it prints, from the server's /metrics, the server
# process's CPU (percent of one core) over the phase and the tick p50/p99
# (the worst of the 10 s statistics windows that ended in the phase, the
# first one skipped as it may straddle the previous phase), and the bytes
# each dashboard's stream received. docs/PERFORMANCE.md quotes its output.
#
# Usage: scripts/dashboard-impact.sh [BOTS] [PHASE_SECONDS]
#        (needs `cargo build --release -p battlegrid-server`)
set -euo pipefail
cd "$(dirname "$0")/.."
bots="${1:-2000}"
phase="${2:-40}"
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/release/battlegrid"
work="$(mktemp -d)"
viewers=()
bots_pid=""
cleanup() {
  for pid in "${viewers[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  [ -n "$bots_pid" ] && kill "$bots_pid" 2>/dev/null || true
  kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cp -r assets-maps "$work/maps"
"$bin" serve --data "$work/data" --maps "$work/maps" --game 127.0.0.1:17787 \
  --http 127.0.0.1:18090 --admin 127.0.0.1:19099 --ready-file "$work/ready.json" \
  >"$work/server.log" 2>&1 &
server=$!
while [ ! -f "$work/ready.json" ]; do sleep 0.2; done
admin=http://127.0.0.1:19099
export TOKEN="$(cat "$work/data/admin-token")" ADMIN="$admin"

metric() {
  curl -s "$admin/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# The bots play through all three phases (killed at the end).
"$bin" bots --count "$bots" --duration 1h --connect-concurrency 8 \
  --server http://127.0.0.1:18090 --admin "$admin" \
  --admin-token-file "$work/data/admin-token" >/dev/null 2>&1 &
bots_pid=$!
until python3 -c "import sys; sys.exit(0 if float(sys.argv[1] or 0) >= 0.95 * $bots else 1)" \
  "$(metric battlegrid_game_players)"; do sleep 2; done
sleep 10

# One dashboard, in a process group of its own (so stopping it stops its
# curl processes too): the stream into a file, the two polls.
dashboard='
curl -sN -o "$1" -H "Authorization: Bearer $TOKEN" "$ADMIN/v1/admin/dashboard/stream?map=world" &
i=0
while true; do
  curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "$ADMIN/v1/admin/players?limit=200&map=world"
  if [ $((i % 5)) -eq 0 ]; then
    curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "$ADMIN/v1/admin/dashboard/history"
  fi
  i=$((i + 2))
  sleep 2
done'

echo "dashboards,players,server_cpu_percent,tick_p50_ms,tick_p99_ms,stream_kib_per_dashboard_per_s"
for count in 0 1 20; do
  viewers=()
  for n in $(seq 1 "$count"); do
    setsid bash -c "$dashboard" dashboard "$work/stream-$n.bin" &
    viewers+=("$!")
  done
  cpu0="$(metric process_cpu_seconds_total)"
  start=$(date +%s.%N)
  p50s=()
  p99s=()
  for _ in $(seq 1 $((phase / 10))); do
    sleep 10
    p50s+=("$(metric battlegrid_tick_p50_seconds)")
    p99s+=("$(metric battlegrid_tick_p99_seconds)")
  done
  cpu1="$(metric process_cpu_seconds_total)"
  end=$(date +%s.%N)
  players="$(metric battlegrid_game_players)"
  for pid in "${viewers[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  viewers=()
  sleep 1
  python3 - "$count" "$players" "$cpu0" "$cpu1" "$start" "$end" "${p50s[*]:1}" "${p99s[*]:1}" "$work" <<'PY'
import glob, os, sys
count, players, cpu0, cpu1, start, end, p50s, p99s, work = sys.argv[1:]
secs = float(end) - float(start)
streams = [os.path.getsize(f) for f in glob.glob(os.path.join(work, "stream-*.bin"))]
kib = sum(streams) / len(streams) / 1024 / secs if streams else 0
p50 = max(float(v) for v in p50s.split()) * 1000
p99 = max(float(v) for v in p99s.split()) * 1000
print(f"{count},{players},{(float(cpu1) - float(cpu0)) / secs * 100:.1f},{p50:.2f},{p99:.2f},{kib:.0f}")
PY
  rm -f "$work"/stream-*.bin
done
