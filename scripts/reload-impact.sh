#!/usr/bin/env bash
# Measures what hot reload costs the tick: a release server on a copy of
# assets-maps, 500 bots playing on the large default map, 30 s of normal
# play, then 30 s in which world.tmx is rewritten once a second (a new
# content hash each time, so each one is parsed, validated and swapped in
# with every player on it), then 30 s of normal play again. Prints the
# server's per-10-s tick statistics with the phase they fall in, and the
# reloads it logged. docs/PERFORMANCE.md quotes its output.
#
# Usage: scripts/reload-impact.sh [BOTS]   (needs `cargo build --release -p battlegrid-server`)
set -euo pipefail
cd "$(dirname "$0")/.."
bots="${1:-500}"
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/release/battlegrid"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
cp -r assets-maps "$work/maps"
"$bin" serve --data "$work/data" --maps "$work/maps" --game 127.0.0.1:17777 \
  --http 127.0.0.1:18080 --admin 127.0.0.1:19090 --ready-file "$work/ready.json" \
  >"$work/server.log" 2>&1 &
server=$!
while [ ! -f "$work/ready.json" ]; do sleep 0.2; done
"$bin" bots --count "$bots" --duration 100s --server http://127.0.0.1:18080 \
  --admin http://127.0.0.1:19090 --admin-token-file "$work/data/admin-token" --json >"$work/bots.json" 2>/dev/null &
bots_pid=$!
sleep 40 # connect, then 30 s of normal play
echo "reloads start: $(date -u +%T)"
for i in $(seq 1 30); do
  # Write a new version the way editors do: a temp file, then a rename.
  { cat assets-maps/world.tmx; echo "<!-- reload $i -->"; } >"$work/maps/.world.tmx.tmp"
  mv "$work/maps/.world.tmx.tmp" "$work/maps/world.tmx"
  sleep 1
done
echo "reloads end:   $(date -u +%T)"
wait "$bots_pid" || true
echo "== tick stats (UTC time, players, p50/p99/max in µs)"
sed 's/\x1b\[[0-9;]*m//g' "$work/server.log" | grep 'tick stats' |
  sed -E 's/^[0-9-]+T([0-9:]+)\.[0-9]+Z.*clients=([0-9]+) p50_us=([0-9]+) p99_us=([0-9]+) max_us=([0-9]+).*/\1 players=\2 p50=\3 p99=\4 max=\5/'
echo "== reloads applied: $(grep -c 'map reloaded' "$work/server.log")"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("bots: connected", s["totals"]["connects_ok"], "errors", s["errors"], "disconnects", s["disconnects"])' "$work/bots.json"
