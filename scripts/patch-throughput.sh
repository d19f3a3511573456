#!/usr/bin/env bash
# Loopback download throughput of one large patch file, and the server's
# memory while it serves it (docs/PERFORMANCE.md). Starts a release server
# on free loopback ports with a temporary assets directory holding a sparse
# file of SIZE_MIB (default 1024), waits for it in the manifest, downloads
# it with curl to /dev/null, and samples the server's RSS from /metrics.
#   scripts/patch-throughput.sh [SIZE_MIB]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
cargo build --release -q -p battlegrid-server --bin battlegrid
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/assets"
truncate -s "${size_mib}M" "$work/assets/huge.bin"
target/release/battlegrid serve --data "$work/data" --maps assets-maps --assets "$work/assets" \
  --http 127.0.0.1:0 --admin 127.0.0.1:0 --game 127.0.0.1:0 --ready-file "$work/ready.json" \
  >"$work/server.log" 2>&1 &
server=$!
until [ -s "$work/ready.json" ]; do sleep 0.1; done
http=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http"])' "$work/ready.json")
admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$work/ready.json")
rss() { curl -s "http://$admin/metrics" | awk '/^process_resident_memory_bytes /{printf "%.0f", $2/1048576}'; }
url=""
until [ -n "$url" ]; do
  url=$(curl -s "http://$http/v1/patch/manifest" | python3 -c 'import json,sys
try: print(next(f["url"] for f in json.load(sys.stdin)["files"] if f["path"]=="huge.bin"))
except Exception: print("")' || true)
  [ -n "$url" ] || sleep 0.2
done
before=$(rss)
peak=$before
( while sleep 0.1; do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; echo "$peak" >"$work/peak"; done ) &
sampler=$!
speed=$(curl -s -o /dev/null -w '%{speed_download}' "http://$http$url")
kill "$sampler"; wait "$sampler" 2>/dev/null || true
peak=$(cat "$work/peak" 2>/dev/null || echo "$before")
python3 - "$size_mib" "$speed" "$before" "$peak" <<'PY'
import sys
size, speed, before, peak = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"{size} MiB over loopback: {speed/1e9:.2f} GB/s ({speed/2**20:.0f} MiB/s); server RSS {before} MiB before, {peak} MiB peak during the download")
PY
