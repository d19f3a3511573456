#!/usr/bin/env bash
# Live against replay at scale: a release server records its default map
# while BOTS bots play for SECONDS seconds on it, with a hot reload of the
# map file half-way (every player gets MapChanged), then `battlegrid
# replay` checks every tick's output hash and every periodic checkpoint.
# Prints the replay's report (ticks, speed, verdict) and the file's size;
# exits with the replay's exit code. docs/PERFORMANCE.md and docs/REPLAY.md
# quote it; the end-to-end test (tests/tests/replay.rs) is the same check
# with a few real clients.
#
# Usage: scripts/replay-live.sh [BOTS] [SECONDS]
#   (needs `cargo build --release -p battlegrid-server`)
set -euo pipefail
cd "$(dirname "$0")/.."
bots="${1:-200}"
secs="${2:-60}"
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/release/battlegrid"
work="$(mktemp -d)"
server=""
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
cp -r assets-maps "$work/maps"
printf '[recording]\nmaps = ["world"]\n' >"$work/config.toml"
"$bin" serve --config "$work/config.toml" --data "$work/data" --maps "$work/maps" \
  --game 127.0.0.1:17777 --http 127.0.0.1:18080 --admin 127.0.0.1:19090 \
  --ready-file "$work/ready.json" >"$work/server.log" 2>&1 &
server=$!
while [ ! -f "$work/ready.json" ]; do sleep 0.2; done
"$bin" bots --count "$bots" --duration "${secs}s" --server http://127.0.0.1:18080 \
  --admin http://127.0.0.1:19090 --admin-token-file "$work/data/admin-token" >"$work/bots.txt" 2>/dev/null &
bots_pid=$!
# Connecting takes a few seconds; then half the play time.
sleep $((5 + secs / 2))
{ cat assets-maps/world.tmx; echo "<!-- reload -->"; } >"$work/maps/.world.tmx.tmp"
mv "$work/maps/.world.tmx.tmp" "$work/maps/world.tmx"
wait "$bots_pid"
# Stop the recording: the file gets its end block.
auth="Authorization: Bearer $(cat "$work/data/admin-token")"
curl -sf -H "$auth" -X DELETE http://127.0.0.1:19090/v1/admin/recording/world >/dev/null
until curl -sf -H "$auth" http://127.0.0.1:19090/v1/admin/recording |
  python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["finished"][0]["ticks"] > 0 else 1)'; do
  sleep 0.2
done
kill -INT "$server"; wait "$server" || true; server=""
echo "== server: $(grep -c 'map reloaded' "$work/server.log") hot reload(s) applied"
grep -E 'connected|errors' "$work/bots.txt" | head -3 || true
file="$(ls "$work"/data/recordings/*.bgrec)"
echo "== recording: $(stat -c %s "$file") bytes"
set +e
"$bin" replay "$file"
status=$?
set -e
echo "== replay exit code: $status"
exit "$status"
