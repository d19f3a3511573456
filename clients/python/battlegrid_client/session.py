"""A game session that outlives its connections.

:class:`GameSession` wraps a :class:`~battlegrid_client.client.GameClient`.
When the connection drops (the server restarts or crashes, the network
changes) it reconnects by itself with exponential backoff and jitter, and
resumes the session without logging in again: with the newest
``ResumeToken`` (``Resume``), else with the session token (``Hello``).
docs/PROTOCOL.md, "Reconnecting", is the contract this follows.

A drop is a transport failure (idle timeout, stateless reset) or the server
closing with ``SHUTTING_DOWN`` or ``SERVER_UNAVAILABLE``. Any other close
(kicked, replaced, rate limited, too slow, a protocol error) is the
server's decision about this client and ends the session.

The resumed player stands at its saved place with no movement intent;
:meth:`GameSession.recv` returns a :class:`Resumed` so the caller can send
its intent again.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

from . import messages as m
from .client import ConnectionClosed, GameClient, Rejected

#: Close codes from the server that mean "come back later".
DROP_CODES = frozenset({m.ErrorCode.SHUTTING_DOWN, m.ErrorCode.SERVER_UNAVAILABLE})


def is_drop(closed: ConnectionClosed) -> bool:
    """Whether a close is worth reconnecting after."""
    if closed.by == "transport":
        return True
    return closed.by == "server" and closed.code in DROP_CODES


@dataclass(frozen=True)
class Backoff:
    """Pacing of reconnection attempts (the defaults of the Rust SDK)."""

    initial: float = 0.1
    maximum: float = 2.0
    attempt_timeout: float = 3.0
    give_up_after: float = 120.0

    def delay(self, n: int, jitter: float) -> float:
        """Wait after failed attempt ``n`` (0-based), doubling, capped, times ``jitter`` in [0.5, 1]."""
        return min(self.initial * 2 ** min(n, 16), self.maximum) * min(max(jitter, 0.5), 1.0)


@dataclass(frozen=True)
class Resumed:
    """Returned by :meth:`GameSession.recv` when the session is back on a new connection."""

    welcome: m.Welcome
    with_resume_token: bool
    attempts: int
    gap: float
    """Seconds from noticing the drop to the new ``Welcome``."""
    dropped: ConnectionClosed


class GameSession:
    """A game session that reconnects by itself. Create with :meth:`connect`."""

    def __init__(self, client: GameClient, host: str, port: int, token: str, pins: dict[str, Any], backoff: Backoff):
        self.client = client
        self._host = host
        self._port = port
        self._token = token
        self._pins = pins
        self._backoff = backoff
        self._rng = random.Random()
        self._old: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        token: str,
        *,
        cert_sha256: str | None = None,
        cafile: str | None = None,
        backoff: Backoff | None = None,
    ) -> GameSession:
        """Connects with the session token (see :meth:`GameClient.connect`)."""
        pins = {"cert_sha256": cert_sha256, "cafile": cafile}
        backoff = backoff or Backoff()
        client = await GameClient.connect(host, port, token, timeout=backoff.attempt_timeout, **pins)
        return cls(client, host, port, token, pins, backoff)

    @property
    def world(self):
        """The current connection's :class:`~battlegrid_client.world.World`."""
        return self.client.world

    async def recv(self, timeout: float | None = None) -> Any:
        """The next server message, or a :class:`Resumed` after a drop.

        Raises :class:`ConnectionClosed` when the session is over.
        """
        try:
            return await self.client.recv(timeout)
        except ConnectionClosed as closed:
            if not is_drop(closed):
                raise
            return await self._reconnect(closed)

    async def _reconnect(self, dropped: ConnectionClosed) -> Resumed:
        since = time.monotonic()
        # Release the dead connection's socket without waiting for it.
        self._old = asyncio.create_task(self.client.close())
        resume = self.client.resume_token if self.client.resume_expires > since else None
        attempts = 0
        while True:
            if time.monotonic() - since >= self._backoff.give_up_after:
                raise ConnectionClosed(dropped.code, f"gave up reconnecting after {attempts} attempts", "client")
            if attempts:
                await asyncio.sleep(self._backoff.delay(attempts - 1, self._rng.uniform(0.5, 1.0)))
            attempts += 1
            try:
                client = await self._attempt(resume)
            except Rejected as rejected:
                if rejected.code == m.ErrorCode.INVALID_TOKEN and resume is not None:
                    resume = None  # expired or ended: the session token next
                    continue
                if rejected.code in (m.ErrorCode.INVALID_TOKEN, m.ErrorCode.UNSUPPORTED_VERSION):
                    raise
                continue
            except (ConnectionClosed, OSError, TimeoutError, ConnectionError):
                continue
            self.client = client
            return Resumed(client.welcome, resume is not None, attempts, time.monotonic() - since, dropped)

    async def _attempt(self, resume: str | None) -> GameClient:
        return await GameClient.connect(
            self._host,
            self._port,
            self._token,
            timeout=self._backoff.attempt_timeout,
            resume_token=resume,
            **self._pins,
        )

    # Sending goes to the current connection; while reconnecting it raises
    # ConnectionClosed and nothing is queued.
    def move(self, dx: float, dy: float, speed: float) -> m.MoveIntent:
        return self.client.move(dx, dy, speed)

    def shout(self, text: str) -> None:
        self.client.shout(text)

    def broadcast(self, text: str) -> None:
        self.client.broadcast(text)

    def ping(self, nonce: int) -> None:
        self.client.ping(nonce)

    def change_map(self, name: str) -> None:
        self.client.change_map(name)

    async def close(self) -> None:
        """Leaves the game; the session ends."""
        await self.client.close()
