"""A tiny battlegrid-speaking QUIC server in Python, for client tests.

It exists so the client's transport parts (certificate pinning, Hello ->
Welcome / Reject, framed messages, datagrams) are tested without the Rust
server; the end-to-end test (test_e2e.py) is what checks the real one. It
plays a fixed script, not the game: ``good`` is the only valid token.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
from pathlib import Path

from aioquic.asyncio import serve
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import StreamDataReceived
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from battlegrid_client import codec
from battlegrid_client import messages as m

WELCOME = m.Welcome(5, 0, m.Position(10.0, 10.0), 20, m.MapInfo("test", 256, 256, 2, 2))
NEIGHBOUR = m.EntityInfo(6, "nb", m.Position(20.0, 10.0))


def make_certificate(directory: Path) -> tuple[Path, Path, str]:
    """A self-signed certificate for localhost: (cert file, key file, sha256 of its DER)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path, hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


class FakeServer:
    """Starts with :meth:`start`; ``received`` lists every client message decoded."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.cert, self.key = cert, key
        self.received: list[object] = []
        self.port = 0
        self._server = None

    async def start(self) -> None:
        config = QuicConfiguration(is_client=False, alpn_protocols=["battlegrid/1"], max_datagram_frame_size=65_536)
        config.load_cert_chain(self.cert, self.key)
        owner = self

        class Proto(QuicConnectionProtocol):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.frames = codec.FrameDecoder()

            def quic_event_received(self, event):
                if isinstance(event, StreamDataReceived):
                    for payload in self.frames.feed(event.data):
                        owner._handle(self, event.stream_id, codec.decode_client(payload))

        self._server = await serve("127.0.0.1", 0, configuration=config, create_protocol=Proto)
        self.port = self._server._transport.get_extra_info("sockname")[1]

    def _handle(self, proto: QuicConnectionProtocol, stream_id: int, msg: object) -> None:
        self.received.append(msg)
        quic = proto._quic

        def send(reply: object) -> None:
            quic.send_stream_data(stream_id, codec.encode_frame(codec.encode_server(reply)))

        if isinstance(msg, m.Hello):
            if msg.token != "good":
                send(m.Reject(m.ErrorCode.INVALID_TOKEN, "unknown token"))

                def close_later() -> None:
                    # Closing at once could discard the Reject still in flight.
                    quic.close(error_code=m.ErrorCode.INVALID_TOKEN, reason_phrase="unknown token")
                    proto.transmit()

                asyncio.get_running_loop().call_later(0.2, close_later)
            else:
                # Welcome and the first view in one stream write, then state.
                quic.send_stream_data(
                    stream_id,
                    codec.encode_frame(codec.encode_server(WELCOME))
                    + codec.encode_frame(codec.encode_server(m.EntitiesEntered((NEIGHBOUR,)))),
                )
        elif isinstance(msg, m.Ping):
            send(m.Pong(msg.nonce, 77))
            quic.send_datagram_frame(
                codec.encode_server(m.StateUpdate(77, (m.EntityState(6, m.Position(21.0, 10.0)),)))
            )
            quic.send_datagram_frame(codec.encode_server(m.StateUpdate(70, (m.EntityState(6, m.Position(0.0, 0.0)),))))
        elif isinstance(msg, m.Shout):
            send(m.ShoutHeard(WELCOME.player_id, "me", WELCOME.position, msg.text))
            send(m.ShoutHeard(WELCOME.player_id, "me", WELCOME.position, msg.text))
        proto.transmit()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
