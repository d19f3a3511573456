"""End to end: two Python clients play on the real server over loopback.

The server binary runs as a separate process (tests/server_process.py)
with a temporary data directory. The clients go the way a newcomer's would:
sign up and log in over HTTP, read /v1/server-info, connect over QUIC with
the pinned fingerprint, then one walks and the other sees it, one shouts
and the other hears it. Bad tokens and wrong pins are checked too.
Timeouts here are generous safety nets, never the thing asserted.
"""

from __future__ import annotations

import asyncio
import math

import pytest
from server_process import ServerProcess

from battlegrid_client import http
from battlegrid_client import messages as m
from battlegrid_client.client import GameClient, Rejected, VerificationError

STEP = 30.0
#: Every test account's password (the server refuses guessable ones).
PASSWORD = "lanterns by the river"
#: docs/PROTOCOL.md's default view radius, units.
VIEW_RADIUS = 48.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = ServerProcess(tmp_path_factory.mktemp("server") / "data")
    yield proc
    code = proc.stop()
    assert code == 0, f"server exit code {code}; log:\n{proc.log()}"


def game_info(server) -> http.GameInfo:
    info = http.server_info(server.http_url)
    assert info.protocol_version == m.PROTOCOL_VERSION
    assert info.game is not None, "server-info has no game listener"
    return info.game


async def join(server, name: str) -> GameClient:
    session = await asyncio.to_thread(http.sign_up_or_log_in, server.http_url, name, PASSWORD)
    game = await asyncio.to_thread(game_info, server)
    return await GameClient.connect(game.host, game.port, session.token, cert_sha256=game.cert_sha256, timeout=STEP)


def distance(a: m.Position, b: m.Position) -> float:
    return math.hypot(a.x - b.x, a.y - b.y)


async def drain(client: GameClient, until) -> None:
    """Reads ``client``'s messages (the World applies them) until ``until()`` holds."""

    async def loop():
        while not until():
            try:
                await client.recv(timeout=0.05)
            except TimeoutError:
                pass

    await asyncio.wait_for(loop(), STEP)


async def pump_both(a: GameClient, b: GameClient, until) -> None:
    """Reads both clients' messages until ``until()`` holds."""
    await asyncio.gather(drain(a, until), drain(b, until))


def test_two_clients_see_each_other_move_and_hear_a_shout(server):
    """A sees B, B walks and A's copy of B moves; A shouts and B hears it."""

    async def body():
        a = await join(server, "py_ann")
        b = await join(server, "py_bob")
        try:
            a_id, b_id = a.welcome.player_id, b.welcome.player_id
            assert a_id != b_id
            # New players may spawn apart: B walks towards A until they are
            # well inside each other's view, so a few steps keep them there.
            near = VIEW_RADIUS / 3
            p, q = b.welcome.position, a.welcome.position
            if distance(p, q) > near:
                b.move(q.x - p.x, q.y - p.y, 80.0)

            def close_in_view() -> bool:
                seen = a.world.view.get(b_id)
                return seen is not None and a_id in b.world.view and distance(seen.position, q) <= near

            await pump_both(a, b, close_in_view)
            b.move(0.0, 0.0, 0.0)
            # B stands still, then walks towards the middle of the map; A's
            # copy of B follows through datagram StateUpdates.
            await asyncio.sleep(0.3)
            before = a.world.view[b_id].position
            sign = 1.0 if before.x < b.welcome.map.width / 2 else -1.0
            b.move(sign, 0.0, 40.0)

            def b_moved() -> bool:
                seen = a.world.view.get(b_id)
                assert seen is not None, "B left A's view while walking a few units"
                return (seen.position.x - before.x) * sign > 1.0

            await pump_both(a, b, b_moved)
            assert a.world.view[b_id].position.y == pytest.approx(before.y, abs=0.5)
            # B, walking, hears of itself too: its record sits where A saw it.
            await pump_both(a, b, lambda: b.world.own is not None and b.world.own[0] >= a.world.last_tick)
            own_tick, own_at = b.world.own
            assert (own_at.x - before.x) * sign > 1.0, (before, own_at)
            b.move(0.0, 0.0, 0.0)

            a.shout("hello from python")
            await pump_both(
                a,
                b,
                lambda: (
                    any(isinstance(h, m.ShoutHeard) and h.speaker == a_id for h in b.world.heard)
                    and any(isinstance(h, m.ShoutHeard) and h.speaker == a_id for h in a.world.heard)
                ),
            )
            heard = next(h for h in b.world.heard if isinstance(h, m.ShoutHeard))
            assert heard.text == "hello from python"
            assert heard.name == "py_ann"

            a.ping(123456789)
            pong = await a.wait_for(lambda x: isinstance(x, m.Pong), STEP)
            assert pong.nonce == 123456789
        finally:
            await a.close()
            await b.close()

    asyncio.run(body())


def test_bad_token_is_rejected_with_its_code(server):
    """A token the server never issued gets Reject{INVALID_TOKEN}."""

    async def body():
        game = game_info(server)
        with pytest.raises(Rejected) as err:
            await GameClient.connect(game.host, game.port, "not-a-token", cert_sha256=game.cert_sha256, timeout=STEP)
        assert err.value.code == m.ErrorCode.INVALID_TOKEN

    asyncio.run(body())


def test_unsupported_version_is_rejected_with_its_code(server):
    """Hello with a version the server does not speak gets Reject{UNSUPPORTED_VERSION}."""

    async def body():
        session = await asyncio.to_thread(http.sign_up_or_log_in, server.http_url, "py_dee", PASSWORD)
        game = game_info(server)
        with pytest.raises(Rejected) as err:
            await GameClient.connect(
                game.host, game.port, session.token, cert_sha256=game.cert_sha256, timeout=STEP, version=99
            )
        assert err.value.code == m.ErrorCode.UNSUPPORTED_VERSION

    asyncio.run(body())


def test_broadcast_comes_back_to_the_speaker_with_its_region(server):
    """A broadcast is heard in the speaker's region, the speaker included."""

    async def body():
        c = await join(server, "py_eve")
        try:
            c.broadcast("gg ë")
            heard = await c.wait_for(lambda x: isinstance(x, m.BroadcastHeard), STEP)
            assert (heard.speaker, heard.name, heard.text) == (c.welcome.player_id, "py_eve", "gg ë")
            assert heard.region == c.world.region
        finally:
            await c.close()

    asyncio.run(body())


def test_wrong_fingerprint_is_refused_before_hello(server):
    """Pinning a different fingerprint fails verification on the client side."""

    async def body():
        game = game_info(server)
        session = http.sign_up_or_log_in(server.http_url, "py_cy", PASSWORD)
        wrong = ("0" if game.cert_sha256[0] != "0" else "1") + game.cert_sha256[1:]
        with pytest.raises(VerificationError):
            await GameClient.connect(game.host, game.port, session.token, cert_sha256=wrong, timeout=STEP)

    asyncio.run(body())


def test_server_info_fingerprint_is_64_lowercase_hex(server):
    """cert_sha256 has the documented form."""
    fp = game_info(server).cert_sha256
    assert len(fp) == 64 and all(c in "0123456789abcdef" for c in fp)
