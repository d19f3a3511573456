"""The QUIC game connection: verify the server, Hello, then play.

:meth:`GameClient.connect` opens a QUIC connection with ALPN
``battlegrid/1`` and DATAGRAM frames enabled, verifies the server (pinned
SHA-256 certificate fingerprint, or a CA file) before anything is sent,
sends ``Hello`` on the control stream and waits for ``Welcome`` (or raises
:class:`Rejected`). After that, :meth:`GameClient.recv` yields every server
message as a typed object, framed ones and datagram ``StateUpdate`` s in
arrival order, while :class:`~battlegrid_client.world.World` keeps the
client's picture of itself and of the players in view.

Reconnecting is :class:`~battlegrid_client.session.GameSession`'s job; this
module keeps the newest ``ResumeToken`` (:attr:`GameClient.resume_token`)
and can open a connection with ``Resume`` (``connect(resume_token=...)``).
It also recognises the server's stateless reset (RFC 9000, 10.3), which
aioquic does not: a restarted server answers the old connection's packets
with one, and the client learns at once that the connection is gone.

Left out: 0-RTT and smoothing of corrections.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ssl
import time
from collections.abc import Callable
from typing import Any

from aioquic.asyncio.client import connect as quic_connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ConnectionTerminated, DatagramFrameReceived, QuicEvent, StreamDataReceived
from cryptography.hazmat.primitives.serialization import Encoding

from . import codec
from . import messages as m
from .world import World

#: ALPN of protocol version 1.
ALPN = "battlegrid/1"
#: Messages held for :meth:`GameClient.recv` before the policy for "full" applies.
INBOX_LIMIT = 10_000
#: Application error code of a clean leave.
CLOSE_OK = 0
#: Seconds between QUIC PINGs while connected (the Rust SDK's interval):
#: they keep the connection alive through an idle player, and after a
#: server crash they draw the restarted server's stateless reset.
KEEP_ALIVE = 4.0


class ConnectionClosed(Exception):
    """The connection ended; ``code`` and ``reason`` say why (from the server when known).

    ``by`` is ``"server"`` (an application close from the server, ``code`` is
    an error code), ``"client"`` (this side closed) or ``"transport"`` (idle
    timeout, stateless reset, a QUIC error: ``code`` is not an error code).
    """

    def __init__(self, code: int, reason: str, by: str = "client") -> None:
        what = "application code 0" if code == CLOSE_OK else m.ErrorCode.name(code)
        if by == "transport":
            what = f"transport, QUIC code {code}"
        super().__init__(f"connection closed ({what}): {reason}")
        self.code = code
        self.reason = reason
        self.by = by


class Rejected(ConnectionClosed):
    """The server answered ``Hello`` with ``Reject{code, reason}``."""


class VerificationError(Exception):
    """The server's certificate does not match the pinned fingerprint."""


def certificate_fingerprint(protocol: QuicConnectionProtocol) -> str:
    """SHA-256 of the server's leaf certificate (DER), lowercase hex.

    aioquic keeps the parsed peer certificate in its TLS context once the
    handshake is complete; that attribute is private, hence this one place.
    """
    cert = getattr(protocol._quic.tls, "_peer_certificate", None)
    if cert is None:
        raise VerificationError("the server presented no certificate")
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def _configuration(cert_sha256: str | None, cafile: str | None, host: str) -> QuicConfiguration:
    if (cert_sha256 is None) == (cafile is None):
        raise ValueError("give exactly one of cert_sha256 (pinning) or cafile (CA validation)")
    config = QuicConfiguration(is_client=True, alpn_protocols=[ALPN], max_datagram_frame_size=65_536)
    if cafile is not None:
        config.load_verify_locations(cafile=cafile)
        config.verify_mode = ssl.CERT_REQUIRED
        config.server_name = host
    else:
        # Chain and name checks are replaced by the fingerprint check that
        # connect() runs before sending anything.
        config.verify_mode = ssl.CERT_NONE
        config.server_name = "localhost"
    return config


class _Protocol(QuicConnectionProtocol):
    """Hands every QUIC event to the owning GameClient."""

    on_event: Callable[[QuicEvent], None] | None = None

    def datagram_received(self, data: bytes | str, addr: Any) -> None:
        if isinstance(data, bytes) and self._is_stateless_reset(data):
            if self.on_event is not None:
                self.on_event(ConnectionTerminated(error_code=0, frame_type=0, reason_phrase="stateless reset"))
            return
        super().datagram_received(data, addr)

    def _is_stateless_reset(self, data: bytes) -> bool:
        # A short-header datagram ending in a reset token the server gave
        # for one of its connection ids (RFC 9000, 10.3.1). aioquic keeps
        # the tokens but never checks them, hence its private attributes.
        if len(data) < 21 or data[0] & 0x80:
            return False
        quic = self._quic
        cids = [getattr(quic, "_peer_cid", None), *getattr(quic, "_peer_cid_available", [])]
        tail = data[-16:]
        return any(
            cid is not None and cid.stateless_reset_token and hmac.compare_digest(cid.stateless_reset_token, tail)
            for cid in cids
        )

    def quic_event_received(self, event: QuicEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)


class GameClient:
    """One player's connection to the game listener. Create with :meth:`connect`."""

    def __init__(self, protocol: _Protocol, stack: contextlib.AsyncExitStack) -> None:
        self._protocol = protocol
        self._stack = stack
        self._stream_id = protocol._quic.get_next_available_stream_id()
        self._frames = codec.FrameDecoder()
        # Bounded: state updates beyond it are dropped (the World still has
        # them); reliable messages beyond it end the connection, as the
        # server does with a client that does not drain its stream.
        self._inbox: asyncio.Queue[Any] = asyncio.Queue(INBOX_LIMIT)
        self._welcome: asyncio.Future[m.Welcome] = asyncio.get_running_loop().create_future()
        # A connect() that failed before awaiting it leaves no one to read the
        # exception; reading it here keeps asyncio from warning about that.
        self._welcome.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._seq = 0
        self.closed: ConnectionClosed | None = None
        #: The newest ``ResumeToken``'s token, and when (``time.monotonic()``) it expires.
        self.resume_token: str | None = None
        self.resume_expires: float = 0.0
        self._last_error: m.Error | None = None
        self._keep_alive: asyncio.Task[None] | None = None
        #: The client's picture of itself and of the players in view.
        self.world = World()
        #: StateUpdates not queued because the inbox was full.
        self.dropped_updates = 0
        #: Messages with a variant index this client does not know, skipped.
        self.unknown_messages = 0
        protocol.on_event = self._on_event

    # --- connecting ---------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        token: str,
        *,
        cert_sha256: str | None = None,
        cafile: str | None = None,
        timeout: float = 10.0,
        version: int = m.PROTOCOL_VERSION,
        resume_token: str | None = None,
    ) -> GameClient:
        """Connects, verifies the server, sends ``Hello`` and waits for ``Welcome``.

        With ``resume_token`` (from a ``ResumeToken``) it sends ``Resume``
        with that token instead of ``Hello``; ``token`` is then unused.
        Raises :class:`Rejected` on ``Reject``, :class:`VerificationError` if
        the pinned fingerprint does not match (the token is not sent then),
        ``TimeoutError`` if the handshake takes longer than ``timeout``.
        ``version`` is for testing a server's refusal of other versions.
        """
        config = _configuration(cert_sha256, cafile, host)
        stack = contextlib.AsyncExitStack()
        try:
            protocol = await asyncio.wait_for(
                stack.enter_async_context(quic_connect(host, port, configuration=config, create_protocol=_Protocol)),
                timeout,
            )
            if cert_sha256 is not None:
                actual = certificate_fingerprint(protocol)
                if not hmac.compare_digest(actual, cert_sha256.lower()):
                    protocol.close(error_code=CLOSE_OK, reason_phrase="certificate fingerprint mismatch")
                    raise VerificationError(f"server certificate sha256 {actual} is not the pinned {cert_sha256}")
            client = cls(protocol, stack)
            if resume_token is None:
                client.send(m.Hello(version, token))
            else:
                client.send(m.Resume(version, resume_token))
            await asyncio.wait_for(client._welcome, timeout)
            client._keep_alive = asyncio.create_task(client._ping_forever())
        except BaseException:
            await stack.aclose()
            raise
        return client

    @property
    def welcome(self) -> m.Welcome:
        """The server's ``Welcome``."""
        return self._welcome.result()

    # --- sending ------------------------------------------------------------

    def send(self, msg: Any) -> None:
        """Frames one client message onto the control stream.

        Raises ``ValueError`` for a message the server would refuse and
        :class:`ConnectionClosed` once the connection is gone.
        """
        if self.closed is not None:
            raise self.closed
        m.validate_client_message(msg)
        data = codec.encode_frame(codec.encode_client(msg))
        self._protocol._quic.send_stream_data(self._stream_id, data, end_stream=False)
        self._protocol.transmit()

    def move(self, dx: float, dy: float, speed: float) -> m.MoveIntent:
        """Sends a new standing intent with the client's predicted position."""
        self._seq += 1
        intent = m.MoveIntent(self._seq, m.Vec2(dx, dy), speed, self.world.predicted_position())
        self.send(m.Move(intent))
        self.world.intent_sent(intent)
        return intent

    def shout(self, text: str) -> None:
        """Shouts to everyone within the shout radius."""
        self.send(m.Shout(text))

    def broadcast(self, text: str) -> None:
        """Broadcasts to everyone in the current region."""
        self.send(m.Broadcast(text))

    def ping(self, nonce: int) -> None:
        """Asks for a ``Pong`` with this nonce."""
        self.send(m.Ping(nonce))

    def change_map(self, name: str) -> None:
        """Asks to move to map ``name``; ``MapChanged`` or ``Error(UNKNOWN_MAP)`` answers."""
        self.send(m.ChangeMap(name))

    # --- receiving ----------------------------------------------------------

    async def recv(self, timeout: float | None = None) -> Any:
        """The next server message; :class:`ConnectionClosed` once the connection ends."""
        if self._inbox.empty() and self.closed is not None:
            raise self.closed
        item = await asyncio.wait_for(self._inbox.get(), timeout)
        if isinstance(item, ConnectionClosed):
            raise item
        return item

    async def wait_for(self, predicate: Callable[[Any], bool], timeout: float) -> Any:
        """Receives until a message satisfies ``predicate`` and returns it.

        Messages before it are consumed (the World has applied them).
        Raises ``TimeoutError`` after ``timeout`` seconds.
        """

        async def scan() -> Any:
            while True:
                msg = await self.recv()
                if predicate(msg):
                    return msg

        return await asyncio.wait_for(scan(), timeout)

    async def _ping_forever(self) -> None:
        while self.closed is None:
            await asyncio.sleep(KEEP_ALIVE)
            if self.closed is None:
                self._protocol._quic.send_ping(0)
                self._protocol.transmit()

    async def close(self) -> None:
        """Leaves the game: closes the connection with application code 0."""
        if self.closed is None:
            self._protocol.close(error_code=CLOSE_OK, reason_phrase="bye")
            self._set_closed(ConnectionClosed(CLOSE_OK, "closed by the client"))
        await self._stack.aclose()

    # --- events from aioquic -----------------------------------------------

    def _on_event(self, event: QuicEvent) -> None:
        if isinstance(event, StreamDataReceived):
            self._on_stream_data(event)
        elif isinstance(event, DatagramFrameReceived):
            self._on_datagram(event.data)
        elif isinstance(event, ConnectionTerminated):
            # A close during the handshake is a rejection even when the
            # Reject frame itself did not make it before the close.
            kind = ConnectionClosed if self._welcome.done() else Rejected
            # aioquic reports an application close with no frame type.
            by = "server" if event.frame_type is None else "transport"
            self._set_closed(kind(event.error_code, event.reason_phrase, by))

    def _on_stream_data(self, event: StreamDataReceived) -> None:
        if event.stream_id != self._stream_id:
            return  # the protocol uses no other stream
        try:
            payloads = self._frames.feed(event.data)
            for payload in payloads:
                self._on_message(codec.decode_server(payload))
        except (codec.FrameError, codec.DecodeError) as err:
            self._fail(m.ErrorCode.MALFORMED_MESSAGE, f"bad message from the server: {err}")
            return
        if event.end_stream and self.closed is None:
            last = self._last_error
            if last is not None:
                # The server said why before ending the stream (e.g.
                # SHUTTING_DOWN); its close with that code follows.
                self._protocol.close(error_code=CLOSE_OK, reason_phrase="stream ended")
                self._set_closed(ConnectionClosed(last.code, last.message, "server"))
            else:
                self._fail(CLOSE_OK, "the server ended the control stream")

    def _on_datagram(self, data: bytes) -> None:
        try:
            msg = codec.decode_server(data)
        except codec.DecodeError:
            return  # a datagram is expendable; the next one supersedes it
        if isinstance(msg, m.StateUpdate):
            self.world.state_update(msg)
            try:
                self._inbox.put_nowait(msg)
            except asyncio.QueueFull:
                self.dropped_updates += 1
        else:
            self._on_message(msg)

    def _on_message(self, msg: Any) -> None:
        if isinstance(msg, codec.UnknownMessage):
            self.unknown_messages += 1
            return
        if not self._welcome.done():
            if isinstance(msg, m.Welcome):
                # Before anything queued after it is applied to the world.
                self.world.welcome(msg)
                self._welcome.set_result(msg)
            elif isinstance(msg, m.Reject):
                self._welcome.set_exception(Rejected(msg.code, msg.reason, "server"))
                self._fail(msg.code, msg.reason, notify_server=False)
            elif isinstance(msg, m.Error):
                self._welcome.set_exception(ConnectionClosed(msg.code, msg.message, "server"))
            else:
                self._fail(m.ErrorCode.UNEXPECTED_MESSAGE, f"{type(msg).__name__} before Welcome")
            return
        if isinstance(msg, m.Error):
            self._last_error = msg
        if isinstance(msg, m.ResumeToken):
            self.resume_token = msg.token
            self.resume_expires = time.monotonic() + msg.valid_for_ms / 1000
        self.world.apply(msg)
        try:
            self._inbox.put_nowait(msg)
        except asyncio.QueueFull:
            self._fail(m.ErrorCode.TOO_SLOW, "the application does not read its messages")

    def _fail(self, code: int, reason: str, notify_server: bool = True) -> None:
        if self.closed is None and notify_server:
            self._protocol.close(error_code=code, reason_phrase=reason)
        self._set_closed(ConnectionClosed(code, reason))

    def _set_closed(self, closed: ConnectionClosed) -> None:
        if self.closed is not None:
            return
        self.closed = closed
        if self._keep_alive is not None:
            self._keep_alive.cancel()
        if not self._welcome.done():
            self._welcome.set_exception(closed)
        # Wake a pending recv(); drop the oldest item if needed to make room.
        if self._inbox.full():
            self._inbox.get_nowait()
        self._inbox.put_nowait(closed)
