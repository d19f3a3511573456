#!/usr/bin/env bash
# The one command that runs every test of battlegrid (README, .ci/run).
# It installs missing system packages first (scripts/setup-test-deps.sh),
# builds the server binary that the end-to-end tests start as a real process,
# runs the whole workspace's tests (unit, property, golden-vector, end-to-end
# and browser tests), then the Python client's tests, whose end-to-end part
# plays against that same binary. Extra arguments go to `cargo test`.
# Both cargo commands enable the server's test-only feature fault-injection
# (the recovery tests make worlds panic through it); `cargo test` must have it
# too, or it would rebuild the binary without it for the server's own tests.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-test-deps.sh
cargo build -p battlegrid-server --bin battlegrid --features fault-injection
cargo test --workspace --features battlegrid-server/fault-injection --no-fail-fast "$@"

# Respect CARGO_TARGET_DIR or a configured target dir: ask cargo where it builds.
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
echo "== Python client tests (clients/python/run-tests.sh)"
BATTLEGRID_BIN="$target_dir/debug/battlegrid" clients/python/run-tests.sh -q
