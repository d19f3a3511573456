"""Length-prefixed framing of the control stream.

A frame is a 4-byte little-endian payload length ``n`` (1..=65536) and
then ``n`` bytes holding one encoded message (docs/PROTOCOL.md, "Framing").
:class:`FrameDecoder` cuts frames out of stream reads of any size; it checks
a length as soon as its four bytes are in, before buffering the payload.
Message contents are ``codec.py``'s concern, not this module's.
"""

from __future__ import annotations

import struct

#: Largest frame payload, in bytes.
MAX_FRAME_LEN = 65_536

_LEN = struct.Struct("<I")


class FrameError(ValueError):
    """A length prefix of 0 or above :data:`MAX_FRAME_LEN`."""

    def __init__(self, length: int) -> None:
        self.length = length
        what = "zero-length frame" if length == 0 else f"frame length {length} exceeds {MAX_FRAME_LEN}"
        super().__init__(what)


def encode_frame(payload: bytes) -> bytes:
    """Prefixes ``payload`` with its length; :class:`FrameError` if out of range."""
    if not 0 < len(payload) <= MAX_FRAME_LEN:
        raise FrameError(len(payload))
    return _LEN.pack(len(payload)) + payload


class FrameDecoder:
    """Reassembles frames from a byte stream.

    Feed it whatever the stream delivered; it returns the complete payloads
    and keeps the rest. After a :class:`FrameError` the stream is unusable
    (the peer broke framing), and further calls raise the same error.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._error: FrameError | None = None

    @property
    def buffered(self) -> int:
        """Bytes held that do not yet form a complete frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Adds ``data`` and returns every frame payload now complete, in order."""
        if self._error is not None:
            raise self._error
        self._buf += data
        out: list[bytes] = []
        while len(self._buf) >= 4:
            (length,) = _LEN.unpack_from(self._buf, 0)
            if not 0 < length <= MAX_FRAME_LEN:
                self._error = FrameError(length)
                raise self._error
            if len(self._buf) < 4 + length:
                break
            out.append(bytes(self._buf[4 : 4 + length]))
            del self._buf[: 4 + length]
        return out
