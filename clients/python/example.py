#!/usr/bin/env python3
"""battlegrid example client: sign up (or log in), connect, walk, shout, listen.

    python example.py --server http://127.0.0.1:8080 --name alice --password 'correct horse battery'

It asks the HTTP API for a session token and for the game listener's
address and certificate fingerprint, connects over QUIC (the fingerprint is
checked before the token is sent), walks a small square (with ``--meet``,
first to the map's centre, where other clients doing the same come into
view), shouts once, prints everything it sees and hears for ``--seconds``
seconds, then leaves cleanly and exits 0. Any failure exits 1 with the
reason.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys

from battlegrid_client import http
from battlegrid_client import messages as m
from battlegrid_client.client import ConnectionClosed, GameClient, VerificationError

# Directions walked in turn, one per leg: a square, so the player ends near
# where it started.
SQUARE = [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)]


def describe(msg: object, names: dict[int, str]) -> str | None:
    """One line for a message worth printing; None for the frequent position updates."""
    if isinstance(msg, m.EntitiesEntered):
        for e in msg.entities:
            names[e.id] = e.name
        return "sees " + ", ".join(f"{e.name}#{e.id} at ({e.position.x:.1f}, {e.position.y:.1f})" for e in msg.entities)
    if isinstance(msg, m.EntitiesLeft):
        return "lost sight of " + ", ".join(f"{names.get(i, '?')}#{i}" for i in msg.ids)
    if isinstance(msg, m.ShoutHeard):
        return f"hears {msg.name}#{msg.speaker} shout {msg.text!r} at ({msg.position.x:.1f}, {msg.position.y:.1f})"
    if isinstance(msg, m.BroadcastHeard):
        return f"hears {msg.name}#{msg.speaker} broadcast {msg.text!r} in region {msg.region}"
    if isinstance(msg, m.PositionCorrected):
        return f"corrected to ({msg.position.x:.1f}, {msg.position.y:.1f}) after intent {msg.seq}"
    if isinstance(msg, m.RegionChanged):
        return f"entered region {msg.region}"
    if isinstance(msg, m.MapChanged):
        return f"map {msg.map.name} changed ({msg.reason}); now at ({msg.position.x:.1f}, {msg.position.y:.1f})"
    if isinstance(msg, m.Error):
        return f"server error {m.ErrorCode.name(msg.code)}: {msg.message}"
    if isinstance(msg, m.Pong):
        return f"pong {msg.nonce} at server tick {msg.tick}"
    return None


async def play(args: argparse.Namespace) -> int:
    session = await asyncio.to_thread(
        http.sign_up_or_log_in, args.server, args.name, args.password, ca_file=args.ca_file
    )
    info = await asyncio.to_thread(http.server_info, args.server, ca_file=args.ca_file)
    if info.game is None:
        print("the server has no game listener", file=sys.stderr)
        return 1
    client = await GameClient.connect(info.game.host, info.game.port, session.token, cert_sha256=info.game.cert_sha256)
    w = client.welcome
    print(
        f"welcome {session.name}#{w.player_id}: map {w.map.name} {w.map.width}x{w.map.height}, "
        f"region {w.region}, at ({w.position.x:.1f}, {w.position.y:.1f}), {w.tick_rate_hz} Hz"
    )
    names: dict[int, str] = {}
    updates = 0
    loop = asyncio.get_running_loop()
    start = loop.time()
    centre = (w.map.width / 2, w.map.height / 2)
    # With --meet the square starts at the map's centre, where clients
    # spawned apart (spawn points are spread out) come into each other's view.
    square_start = None if args.meet else start
    leg = -1
    shouted = False
    try:
        client.ping(1)
        while loop.time() - start < args.seconds:
            now = loop.time()
            if square_start is None:
                here = client.world.predicted_position()
                dx, dy = centre[0] - here.x, centre[1] - here.y
                if math.hypot(dx, dy) < 4.0:
                    square_start = now
                    print(f"reached the centre ({centre[0]:.0f}, {centre[1]:.0f})")
                elif leg != -2:
                    leg = -2
                    client.move(dx, dy, 80.0)
            if square_start is not None:
                current_leg = int((now - square_start) / args.leg) % len(SQUARE)
                if current_leg != leg:
                    leg = current_leg
                    client.move(*SQUARE[leg], args.speed)
                if not shouted and now - square_start >= args.leg * 1.5:
                    client.shout(f"hello from {session.name}")
                    shouted = True
            try:
                msg = await client.recv(timeout=0.05)
            except TimeoutError:
                continue
            if isinstance(msg, m.StateUpdate):
                updates += 1
                continue
            line = describe(msg, names)
            if line:
                print(line)
        client.move(0.0, 0.0, 0.0)
        seen = ", ".join(
            f"{s.name}#{pid} at ({s.position.x:.1f}, {s.position.y:.1f})" for pid, s in client.world.view.items()
        )
        print(f"{updates} state updates received; in view at the end: {seen or 'nobody'}")
    finally:
        await client.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="http://127.0.0.1:8080", help="base URL of the HTTP API")
    parser.add_argument("--name", required=True, help="account name (3-20 letters, digits, _ or -)")
    parser.add_argument(
        "--password", required=True, help="password (at least 8 characters, hard to guess, without the name)"
    )
    parser.add_argument("--ca-file", help="PEM file of the CA that signed an https:// server's certificate")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to play")
    parser.add_argument("--speed", type=float, default=40.0, help="walking speed, units per second")
    parser.add_argument("--leg", type=float, default=1.0, help="seconds per side of the square walked")
    parser.add_argument("--meet", action="store_true", help="walk to the map's centre first, to meet other clients")
    args = parser.parse_args()
    try:
        return asyncio.run(play(args))
    except (http.ApiError, ConnectionClosed, VerificationError, OSError, TimeoutError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
