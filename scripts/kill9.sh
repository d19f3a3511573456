#!/usr/bin/env bash
# The kill -9 harness at full count: 200 bots play on a release server that
# is killed with SIGKILL at 200 random moments and restarted on the same data
# directory each time; after every restart the store must open, sessions and
# sampled password logins must work, and every saved position must lie within
# one save interval's travel of the last position the server acknowledged.
# Prints a summary (docs/PERFORMANCE.md has a run); exits non-zero on a loss.
# Extra arguments go to the harness (--rounds, --bots, --seed, ...; --help).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p battlegrid-server --bin battlegrid
cargo run --release -p battlegrid-tests --bin kill9 -- "$@"
