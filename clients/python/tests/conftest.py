"""Shared pytest setup: paths of the repository and the golden vectors."""

from __future__ import annotations

import sys
from pathlib import Path

CLIENT_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = CLIENT_DIR.parents[1]
GOLDEN_DIR = REPO_ROOT / "shared-protocol" / "tests" / "golden"

# Tests import the package from the source tree, installed or not.
if str(CLIENT_DIR) not in sys.path:
    sys.path.insert(0, str(CLIENT_DIR))
