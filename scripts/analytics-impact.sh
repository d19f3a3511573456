#!/usr/bin/env bash
# Measures what the analytics pipeline costs the tick: a release server on
# its defaults (the large `world` map), BOTS bots for 60 s, with analytics
# on and off, alternating ROUNDS times back to back (so the machine's load
# hits both alike). Prints per run the bots' summary of the server's tick
# (median p50, worst 10-s p99 and max), the median of the per-10-s p99s
# once everyone is connected, and with analytics on the events queued,
# dropped and written per second and the bytes per event on disk.
# docs/PERFORMANCE.md quotes its output. Ports 27777, 28080 and 29090 must
# be free.
#
# Usage: scripts/analytics-impact.sh [BOTS] [ROUNDS]
#   (needs `cargo build --release -p battlegrid-server`)
set -euo pipefail
cd "$(dirname "$0")/.."
bots="${1:-2000}"
rounds="${2:-2}"
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/release/battlegrid"
work="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

metric() { # NAME: its value in the server's /metrics
  curl -s http://127.0.0.1:29090/metrics | awk -v n="$1" '$1 == n { print $2 }'
}

run() { # on|off
  local mode="$1" enabled=true
  [ "$mode" = off ] && enabled=false
  rm -rf "$work/data" "$work/ready.json"
  BATTLEGRID_ANALYTICS__ENABLED=$enabled "$bin" serve --data "$work/data" \
    --game 127.0.0.1:27777 --http 127.0.0.1:28080 --admin 127.0.0.1:29090 \
    --ready-file "$work/ready.json" >"$work/server.log" 2>&1 &
  server=$!
  while [ ! -f "$work/ready.json" ]; do
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.2
  done
  "$bin" bots --count "$bots" --duration 60s --server http://127.0.0.1:28080 \
    --admin http://127.0.0.1:29090 --admin-token-file "$work/data/admin-token" --json >"$work/bots.json" 2>/dev/null || true # 2: some errors
  local queued dropped written bytes
  queued="$(metric battlegrid_analytics_events_queued_total)"
  dropped="$(metric battlegrid_analytics_events_dropped_total)"
  written="$(metric battlegrid_analytics_events_written_total)"
  bytes="$(metric battlegrid_analytics_bytes_written_total)"
  kill "$server"
  wait "$server" || true
  server=""
  python3 - "$mode" "$work/bots.json" "$work/server.log" "$bots" "${queued:-0}" "${dropped:-0}" \
    "${written:-0}" "${bytes:-0}" <<'PY'
import json, re, statistics, sys
mode, bots_json, log, bots, queued, dropped, written, nbytes = sys.argv[1:]
s = json.load(open(bots_json))
srv = s.get("server_side") or {}
p99s = []
for line in open(log, errors="replace"):
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    m = re.search(r"tick stats.*clients=(\d+).*p99_us=(\d+)", line)
    if m and int(m.group(1)) >= int(bots):
        p99s.append(int(m.group(2)) / 1000)
print(f"analytics {mode}: connected {s['totals']['connects_ok']} errors {s['errors']} "
      f"tick p50 {srv.get('tick_p50_ms', 0):.2f} ms, worst-window p99 {srv.get('tick_p99_ms', 0):.2f} ms, "
      f"max {srv.get('tick_max_ms', 0):.2f} ms; median of {len(p99s)} full windows' p99 "
      f"{statistics.median(p99s) if p99s else float('nan'):.2f} ms")
if mode == "on":
    q, d, w, b = (float(x) for x in (queued, dropped, written, nbytes))
    secs = s["connect_phase_s"] + s["window_s"]
    print(f"  events queued {q:.0f} in {secs:.0f} s ({q / secs:.0f}/s), dropped {d:.0f}, written {w:.0f}, "
          f"{b / max(w, 1):.1f} bytes/event on disk")
PY
}

for _ in $(seq 1 "$rounds"); do
  run on
  run off
done
