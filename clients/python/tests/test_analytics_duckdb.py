"""Analytics files as an analyst opens them: DuckDB reads the server's event
files directly (docs/ANALYTICS.md), and its counts match what happened and
what ``battlegrid analytics export`` reads from the same files.

A real server runs a short scenario: two sign-ups, a refused sign-up and a
refused login, one player who joins over QUIC and shouts; then a clean stop
completes the open file. Timeouts are safety nets, never asserted.
"""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
from collections import Counter

import duckdb
import pytest
from server_process import ServerProcess, server_binary

from battlegrid_client import http
from battlegrid_client import messages as m
from battlegrid_client.client import GameClient

PASSWORD = "lanterns by the river"
STEP = 30.0


@pytest.fixture(scope="module")
def events_dir(tmp_path_factory):
    """Runs the scenario on a fresh server and returns its analytics directory."""
    root = tmp_path_factory.mktemp("analytics")
    config = root / "battlegrid.toml"
    config.write_text("[analytics]\nflush_ms = 50\nposition_sample_secs = 1\n")
    proc = ServerProcess(root / "data", config=config)
    try:
        http.sign_up(proc.http_url, "duck_ann", PASSWORD)
        http.sign_up(proc.http_url, "duck_bob", PASSWORD)
        with pytest.raises(http.ApiError):
            http.sign_up(proc.http_url, "duck_ann", PASSWORD)
        with pytest.raises(http.ApiError):
            http.log_in(proc.http_url, "duck_bob", "not the password at all")

        async def play():
            session = http.log_in(proc.http_url, "duck_ann", PASSWORD)
            info = http.server_info(proc.http_url).game
            client = await GameClient.connect(
                info.host, info.port, session.token, cert_sha256=info.cert_sha256, timeout=STEP
            )
            try:
                client.shout("quack")
                await client.wait_for(lambda x: isinstance(x, m.ShoutHeard), STEP)
                # Long enough for at least one position sample (every second).
                await asyncio.sleep(1.5)
            finally:
                await client.close()

        asyncio.run(play())
    finally:
        code = proc.stop()
    assert code == 0, f"server exit code {code}; log:\n{proc.log()}"
    return root / "data" / "analytics"


def duck_counts(events_dir) -> dict[str, int]:
    rows = duckdb.sql(
        f"""
        SELECT type, count(*) AS n
        FROM read_json_auto('{events_dir}/*.ndjson.zst', format = 'newline_delimited')
        GROUP BY type
        """
    ).fetchall()
    return dict(rows)


def test_duckdb_counts_match_the_scenario(events_dir):
    files = list(events_dir.iterdir())
    assert files and all(f.name.endswith(".ndjson.zst") for f in files), files
    counts = duck_counts(events_dir)
    assert counts["signup"] == 3
    assert counts["login"] == 2
    assert counts["session_start"] == 1
    assert counts["session_end"] == 1
    assert counts["shout"] == 1
    assert counts.get("position", 0) >= 1
    ok = duckdb.sql(
        f"""
        SELECT ok, count(*) FROM read_json_auto('{events_dir}/*.ndjson.zst', format = 'newline_delimited')
        WHERE type IN ('signup', 'login') GROUP BY ok ORDER BY ok
        """
    ).fetchall()
    assert ok == [(False, 2), (True, 3)]
    # One summary per map and tick, none missing; DuckDB reads the times
    # as timestamps.
    per_map = duckdb.sql(
        f"""
        SELECT map, min(tick), max(tick), count(*), any_value(typeof(time))
        FROM read_json_auto('{events_dir}/*.ndjson.zst', format = 'newline_delimited')
        WHERE type = 'tick_summary' GROUP BY map ORDER BY map
        """
    ).fetchall()
    assert [row[0] for row in per_map] == ["small", "world"]
    for map_name, first, last, n, time_type in per_map:
        assert n == last - first + 1, map_name
        assert time_type.startswith("TIMESTAMP"), time_type


def test_duckdb_agrees_with_the_cli_export(events_dir):
    out = subprocess.run(
        [str(server_binary()), "analytics", "--dir", str(events_dir), "export", "--format", "csv"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    cli = Counter(row["type"] for row in csv.DictReader(io.StringIO(out)))
    assert dict(cli) == duck_counts(events_dir)
