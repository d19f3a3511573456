#!/usr/bin/env bash
# Measures what recording costs the tick: the same bots run against a
# release server three times back to back, with nothing recorded
# (flight_recorder_secs = 0), with the flight recorder only (the default),
# and with the default map also recording to a file. Prints, per run, the
# server's tick statistics over its 10 s windows (median p50, median and
# worst p99, worst max) and, for the recording run, the file's size in
# bytes per player-minute, and the CPU time of the tick's threads and of
# the recorder thread. docs/PERFORMANCE.md quotes its output.
#
# Usage: scripts/recording-cost.sh [BOTS] [SECONDS]
#   (needs `cargo build --release -p battlegrid-server`)
set -euo pipefail
cd "$(dirname "$0")/.."
bots="${1:-2000}"
secs="${2:-60}"
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/release/battlegrid"
work="$(mktemp -d)"
server=""
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

run() { # NAME CONFIG
  local name="$1" config="$2" dir="$work/$1"
  mkdir -p "$dir"
  printf '%s\n' "$config" >"$dir/config.toml"
  "$bin" serve --config "$dir/config.toml" --data "$dir/data" --maps assets-maps \
    --game 127.0.0.1:17777 --http 127.0.0.1:18080 --admin 127.0.0.1:19090 \
    --ready-file "$dir/ready.json" >"$dir/server.log" 2>&1 &
  server=$!
  while [ ! -f "$dir/ready.json" ]; do sleep 0.2; done
  "$bin" bots --count "$bots" --duration "${secs}s" --server http://127.0.0.1:18080 \
    --admin http://127.0.0.1:19090 --admin-token-file "$dir/data/admin-token" >"$dir/bots.txt" 2>/dev/null ||
    echo "$name: bots exited with $? (see its errors line)"
  grep -E '^ *errors' "$dir/bots.txt" | sed "s/^ */$name: bots /" || true
  # CPU time of the threads doing the tick's work (the tick thread and
  # bevy's compute pool) and of the recorder thread, in clock ticks: a
  # figure the machine's other load barely changes.
  local tick_cpu=0 rec_cpu=0 comm t
  for t in /proc/"$server"/task/*; do
    read -r comm <"$t/comm" || continue
    set -- $(cut -d' ' -f14,15 "$t/stat")
    case "$comm" in
      battlegrid-tick | Compute*) tick_cpu=$((tick_cpu + $1 + $2)) ;;
      battlegrid-reco*) rec_cpu=$((rec_cpu + $1 + $2)) ;;
    esac
  done
  printf '%s: CPU seconds over the run: tick thread + compute pool %d.%02d, recorder thread %d.%02d\n' \
    "$name" $((tick_cpu / 100)) $((tick_cpu % 100)) $((rec_cpu / 100)) $((rec_cpu % 100))
  kill -INT "$server"
  wait "$server" || true
  server=""
  python3 - "$name" "$dir" "$bots" "$secs" <<'PY'
import glob, os, re, statistics, sys
name, d, bots, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
log = re.sub(r"\x1b\[[0-9;]*m", "", open(os.path.join(d, "server.log")).read())
rows = [tuple(int(x) for x in m) for m in re.findall(
    r"tick stats.*?clients=(\d+) p50_us=(\d+) p99_us=(\d+) max_us=(\d+)", log)]
full = [r for r in rows if r[0] >= bots * 0.95]
if not full:
    sys.exit(f"{name}: no tick statistics with all bots connected")
p50 = statistics.median(r[1] for r in full) / 1000
p99 = statistics.median(r[2] for r in full) / 1000
worst = max(r[2] for r in full) / 1000
mx = max(r[3] for r in full) / 1000
print(f"{name:>9}: {len(full)} windows with {bots} players: tick p50 {p50:.2f} ms, "
      f"p99 median {p99:.2f} ms, worst p99 {worst:.2f} ms, max {mx:.2f} ms")
files = glob.glob(os.path.join(d, "data", "recordings", "*.bgrec"))
if files:
    size = sum(os.path.getsize(f) for f in files)
    print(f"{'':>9}  recording: {size} bytes for about {bots} players x {secs / 60:.1f} min "
          f"= {size / (bots * secs / 60):.0f} bytes per player-minute (whole file, "
          f"connect phase and checkpoints included)")
PY
}

run off $'[recording]\nflight_recorder_secs = 0'
run flight $'[recording]\nflight_recorder_secs = 60'
run recording $'[recording]\nflight_recorder_secs = 60\nmaps = ["world"]'
