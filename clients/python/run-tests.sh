#!/usr/bin/env bash
# Runs the Python client's tests: creates clients/python/.venv when missing,
# installs requirements.txt into it, then runs pytest. pytest's exit code is
# passed through, except that "no tests collected" (exit 5) is a failure too.
# The end-to-end tests start the server binary named by BATTLEGRID_BIN
# (default <repo>/target/debug/battlegrid); build it first. Extra arguments
# go to pytest.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# Quiet when everything is already installed; reinstalls after a pin change.
.venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt

set +e
.venv/bin/python -m pytest "$@" tests
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "run-tests.sh: pytest collected no tests; that is a failure" >&2
    exit 1
fi
exit "$status"
