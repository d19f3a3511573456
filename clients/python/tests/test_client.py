"""The QUIC client against a scripted Python server (tests/fake_server.py).

Checks the transport rules of docs/PROTOCOL.md that do not need the game:
fingerprint pinning (a wrong pin sends no Hello), Hello -> Welcome with the
first view, Reject -> Rejected, framed replies, and datagram StateUpdates
with stale ticks ignored. The real server is tested in test_e2e.py.
"""

from __future__ import annotations

import asyncio

import pytest
from fake_server import NEIGHBOUR, WELCOME, FakeServer, make_certificate

from battlegrid_client import messages as m
from battlegrid_client.client import GameClient, Rejected, VerificationError

# Safety net only; each step normally takes milliseconds on loopback.
STEP = 30.0


@pytest.fixture
def certificate(tmp_path):
    return make_certificate(tmp_path)


def run_with_server(certificate, body):
    cert, key, fingerprint = certificate

    async def main():
        server = FakeServer(cert, key)
        await server.start()
        try:
            return await body(server, fingerprint)
        finally:
            server.close()

    return asyncio.run(main())


def test_welcome_then_view_pong_datagrams_and_shouts(certificate):
    """A pinned connection gets Welcome, sees its neighbour, and moves it by datagram."""

    async def body(server, fingerprint):
        client = await GameClient.connect("127.0.0.1", server.port, "good", cert_sha256=fingerprint, timeout=STEP)
        try:
            assert client.welcome == WELCOME
            assert client.world.player_id == 5 and client.world.region == 0
            entered = await client.recv(timeout=STEP)
            assert entered == m.EntitiesEntered((NEIGHBOUR,))
            client.ping(9)
            # The stream and datagrams are independent: wait for all three in any order.
            want = {m.Pong(9, 77), 77, 70}
            while want:
                msg = await client.recv(timeout=STEP)
                want.discard(msg.tick if isinstance(msg, m.StateUpdate) else msg)
            # The tick-70 update came after tick 77 and is ignored.
            assert client.world.last_tick == 77
            assert client.world.view[6].position == m.Position(21.0, 10.0)
            client.shout("hi")
            heard = await client.wait_for(lambda x: isinstance(x, m.ShoutHeard), STEP)
            assert heard.text == "hi"
            client.move(1.0, 0.0, 40.0)
            await client.wait_for(lambda x: isinstance(x, m.ShoutHeard), STEP)
            assert server.received[0] == m.Hello(1, "good")
            moves = [x for x in server.received if isinstance(x, m.Move)]
            assert moves and moves[0].intent.seq == 1
            assert moves[0].intent.predicted == WELCOME.position
        finally:
            await client.close()

    run_with_server(certificate, body)


def test_wrong_fingerprint_never_sends_the_token(certificate):
    """On a pin mismatch the client closes before Hello: the server saw nothing."""

    async def body(server, fingerprint):
        wrong = ("0" if fingerprint[0] != "0" else "1") + fingerprint[1:]
        with pytest.raises(VerificationError):
            await GameClient.connect("127.0.0.1", server.port, "good", cert_sha256=wrong, timeout=STEP)
        await asyncio.sleep(0.2)  # let any stray packet arrive before checking
        assert server.received == []

    run_with_server(certificate, body)


def test_reject_raises_with_code_and_reason(certificate):
    """A bad token gets Reject{INVALID_TOKEN}, surfaced as Rejected."""

    async def body(server, fingerprint):
        with pytest.raises(Rejected) as err:
            await GameClient.connect("127.0.0.1", server.port, "bad", cert_sha256=fingerprint, timeout=STEP)
        assert err.value.code == m.ErrorCode.INVALID_TOKEN
        assert err.value.reason == "unknown token"

    run_with_server(certificate, body)


def test_ca_file_mode_validates_the_chain(certificate, tmp_path):
    """With the certificate as CA file it connects; with another CA it fails before Hello."""

    async def body(server, fingerprint):
        cert, _, _ = certificate
        client = await GameClient.connect("localhost", server.port, "good", cafile=str(cert), timeout=STEP)
        await client.close()
        other_dir = tmp_path / "other"
        other_dir.mkdir()
        other_cert, _, _ = make_certificate(other_dir)
        before = len(server.received)
        with pytest.raises(Exception) as err:
            await GameClient.connect("localhost", server.port, "good", cafile=str(other_cert), timeout=STEP)
        assert not isinstance(err.value, Rejected)
        assert len(server.received) == before

    run_with_server(certificate, body)


def test_exactly_one_verification_mode_is_required():
    """No pin and no CA file is not a 'skip verification' mode: it is refused."""

    async def body():
        with pytest.raises(ValueError):
            await GameClient.connect("127.0.0.1", 1, "t")
        with pytest.raises(ValueError):
            await GameClient.connect("127.0.0.1", 1, "t", cert_sha256="00", cafile="x")

    asyncio.run(body())
