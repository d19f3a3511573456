"""End to end: a Python GameSession survives server restarts by itself.

The server binary runs as a separate process; it is stopped with SIGTERM,
then with SIGKILL, and each time a new process starts on the same data
directory and ports. The session notices (the server's close, or its
stateless reset after the crash), reconnects with its resume token (no
login), and the player stands where it was saved: exactly where it
stopped after SIGTERM, within one save interval's travel after SIGKILL.
Timeouts are safety nets, never the thing asserted.
"""

from __future__ import annotations

import asyncio
import math
import signal

import pytest
from server_process import ServerProcess

from battlegrid_client import http
from battlegrid_client import messages as m
from battlegrid_client.session import GameSession, Resumed

PASSWORD = "lanterns by the river"
SAFETY = 30.0
#: Ticks between saves of a moving player, set in the server's config below.
SAVE_INTERVAL = 5
#: World units a walker covers per tick (max speed 80 at 20 Hz).
STEP = 4.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    config = root / "battlegrid.toml"
    config.write_text(f"[world]\nsave_interval_ticks = {SAVE_INTERVAL}\n")
    proc = ServerProcess(root / "data", config=config)
    yield proc
    proc.stop()


async def until(session: GameSession, done) -> Resumed | None:
    """Receives until ``done(message)``; returns the Resumed if one came first."""
    resumed = None

    async def loop():
        nonlocal resumed
        while True:
            msg = await session.recv()
            if isinstance(msg, Resumed):
                resumed = msg
            if done(msg):
                return

    await asyncio.wait_for(loop(), SAFETY)
    return resumed


async def walk(session: GameSession, ticks: int) -> m.Position:
    """Walks right for ``ticks`` of the player's own records; returns the last one."""
    session.move(1.0, 0.0, 80.0)
    seen = 0

    def counted(msg) -> bool:
        nonlocal seen
        me = session.client.welcome.player_id
        if isinstance(msg, m.StateUpdate) and any(r.id == me for r in msg.moved):
            seen += 1
        return seen >= ticks

    await until(session, counted)
    assert session.world.own is not None
    return session.world.own[1]


def test_session_resumes_after_sigterm_and_sigkill(server):
    async def body():
        login = await asyncio.to_thread(http.sign_up_or_log_in, server.http_url, "py_resumer", PASSWORD)
        game = (await asyncio.to_thread(http.server_info, server.http_url)).game
        session = await GameSession.connect(game.host, game.port, login.token, cert_sha256=game.cert_sha256)
        await until(session, lambda msg: isinstance(msg, m.ResumeToken))

        # SIGTERM: every player is saved on the way out.
        await walk(session, 5)
        session.move(0.0, 0.0, 0.0)
        await asyncio.sleep(0.3)  # the stop applies at the next tick
        stopped = session.world.own[1]
        await asyncio.to_thread(server.restart, signal.SIGTERM)
        resumed = await until(session, lambda msg: isinstance(msg, Resumed))
        assert resumed is not None and resumed.with_resume_token, resumed
        assert resumed.dropped.code == m.ErrorCode.SHUTTING_DOWN
        # Exact on the server; the client's copy may miss the last datagram.
        back = resumed.welcome.position
        assert math.dist((back.x, back.y), (stopped.x, stopped.y)) <= STEP, (back, stopped)

        # SIGKILL: the place is the last periodic save.
        await until(session, lambda msg: isinstance(msg, m.ResumeToken))
        acked = await walk(session, 3 * SAVE_INTERVAL)
        await asyncio.to_thread(server.restart, signal.SIGKILL)
        resumed = await until(session, lambda msg: isinstance(msg, Resumed))
        assert resumed is not None and resumed.with_resume_token, resumed
        assert resumed.dropped.by == "transport", resumed.dropped
        back = resumed.welcome.position
        lost = math.dist((back.x, back.y), (acked.x, acked.y))
        assert lost <= SAVE_INTERVAL * STEP + 0.01, (back, acked)

        # The resumed session plays on.
        session.ping(7)
        await until(session, lambda msg: isinstance(msg, m.Pong) and msg.nonce == 7)
        await session.close()

    asyncio.run(body())
