"""Encoding and decoding of whole battlegrid messages, and the public codec API.

A message on the wire is its variant index (a ``u32`` varint) followed by
its fields (docs/PROTOCOL.md, "Encoding rules"). This module turns the
dataclasses of ``messages.py`` into bytes and back, and re-exports the
stream framing of ``framing.py`` so that ``codec`` is the one import a
client needs. It does not validate semantic limits (see
:func:`~battlegrid_client.messages.validate_client_message`) and does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .framing import MAX_FRAME_LEN, FrameDecoder, FrameError, encode_frame
from .messages import CLIENT_MESSAGES, SERVER_MESSAGES
from .schema import decode_fields, encode_fields
from .wire import MAX_MESSAGE_LEN, DecodeError, EncodeError, Reader, Writer

#: Largest ``StateUpdate`` datagram the server sends, in bytes.
DATAGRAM_BUDGET = 1024


@dataclass(frozen=True)
class UnknownMessage:
    """A message whose variant index this client does not know.

    The protocol appends new variants compatibly; since a frame or datagram
    holds exactly one message, such a message is kept whole and can be
    skipped.
    """

    index: int
    payload: bytes


def _index_table(variants: tuple[type | None, ...]) -> dict[type, int]:
    return {cls: i for i, cls in enumerate(variants) if cls is not None}


_CLIENT_INDEX = _index_table(CLIENT_MESSAGES)
_SERVER_INDEX = _index_table(SERVER_MESSAGES)


def _encode(msg: Any, table: dict[type, int], side: str) -> bytes:
    index = table.get(type(msg))
    if index is None:
        raise EncodeError(f"{type(msg).__name__} is not a {side} message")
    w = Writer()
    w.uint(index, 32)
    encode_fields(w, msg)
    out = w.getvalue()
    if len(out) > MAX_MESSAGE_LEN:
        raise EncodeError(f"encoded message of {len(out)} bytes exceeds {MAX_MESSAGE_LEN}")
    return out


def _decode(data: bytes, variants: tuple[type | None, ...]) -> Any:
    if len(data) > MAX_MESSAGE_LEN:
        raise DecodeError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_LEN}")
    r = Reader(data)
    index = r.uint(32)
    variant = variants[index] if index < len(variants) else None
    if variant is None:
        return UnknownMessage(index, bytes(data))
    msg = decode_fields(r, variant)
    r.finish()
    return msg


def encode_client(msg: Any) -> bytes:
    """Encodes a ``ClientMessage`` (``Hello``, ``Move``, ``Shout``, ``Broadcast``, ``Ping``, ``ChangeMap``)."""
    return _encode(msg, _CLIENT_INDEX, "client")


def encode_server(msg: Any) -> bytes:
    """Encodes a ``ServerMessage`` (used by tests and tools that play the server)."""
    return _encode(msg, _SERVER_INDEX, "server")


def decode_client(data: bytes) -> Any:
    """Decodes exactly one ``ClientMessage``; :class:`DecodeError` on bad bytes.

    An unknown variant index gives an :class:`UnknownMessage`.
    """
    return _decode(data, CLIENT_MESSAGES)


def decode_server(data: bytes) -> Any:
    """Decodes exactly one ``ServerMessage``; :class:`DecodeError` on bad bytes.

    An unknown variant index gives an :class:`UnknownMessage`.
    """
    return _decode(data, SERVER_MESSAGES)


__all__ = [
    "DATAGRAM_BUDGET",
    "MAX_FRAME_LEN",
    "MAX_MESSAGE_LEN",
    "DecodeError",
    "EncodeError",
    "FrameDecoder",
    "FrameError",
    "UnknownMessage",
    "decode_client",
    "decode_server",
    "encode_client",
    "encode_frame",
    "encode_server",
]
