#!/usr/bin/env bash
# The one command that runs every test of battlegrid (README, .ci/run).
# It installs missing system packages first (scripts/setup-test-deps.sh),
# builds the server binary that the end-to-end tests start as a real process,
# then runs the whole workspace's tests: unit, property, golden-vector,
# end-to-end and browser tests. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-test-deps.sh
cargo build -p battlegrid-server --bin battlegrid
cargo test --workspace "$@"
