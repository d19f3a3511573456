#!/usr/bin/env bash
# The resume-gap harness: 500 bots play on a release server that is stopped
# with SIGTERM, then SIGKILL (alternating), and started again on the same data
# directory and ports each time. The bots (the Rust SDK's GameSession) come
# back by themselves; the harness prints, per restart, the gap from the new
# process being ready to each bot's new Welcome (p50, p99, max), how many came
# back with their resume token, and how far their places rolled back.
# docs/PERFORMANCE.md has a run. Exits non-zero if a bot needed its session
# token or lost more than one save interval. Extra arguments go to the
# harness (--bots, --restarts, --play-ms, ...; --help).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p battlegrid-server --bin battlegrid
cargo run --release -p battlegrid-tests --bin resume-gap -- "$@"
