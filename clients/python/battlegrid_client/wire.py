"""Scalar building blocks of the battlegrid wire format (bincode 2 "standard").

This module knows how single values are written and read: varints, zigzag
signed integers, f32, bool, UTF-8 strings, and the length prefixes of
sequences and options. It knows nothing about messages (see ``messages.py``
and ``codec.py``) nor about stream framing (see ``framing.py``).

Everything here follows the "Encoding rules" table of docs/PROTOCOL.md.
Decoding never trusts a length: a claimed string or list length is checked
against the bytes actually left and against ``MAX_MESSAGE_LEN`` before
anything is allocated.
"""

from __future__ import annotations

import struct

#: Largest encoded message, in bytes (``codec::MAX_MESSAGE_LEN``).
MAX_MESSAGE_LEN = 65_536

# Varint markers: a first byte below 251 is the value itself; these announce
# a little-endian fixed-width value of the given number of bytes.
_MARKER_WIDTH = {251: 2, 252: 4, 253: 8, 254: 16}
_RESERVED_MARKER = 255

_F32 = struct.Struct("<f")


class DecodeError(ValueError):
    """Bytes that are not a valid encoding (truncated, bad tag, bad UTF-8...)."""


class EncodeError(ValueError):
    """A value that cannot be represented on the wire (out of range, wrong type)."""


def _check_unsigned(value: int, bits: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise EncodeError(f"expected an integer, got {type(value).__name__}")
    if value < 0 or value >= 1 << bits:
        raise EncodeError(f"{value} does not fit an unsigned {bits}-bit integer")


def encode_varint(value: int, bits: int = 64) -> bytes:
    """Shortest varint form of ``value``, which must fit ``bits`` (8..128)."""
    _check_unsigned(value, bits)
    if value < 251:
        return bytes([value])
    if value < 1 << 16:
        return b"\xfb" + value.to_bytes(2, "little")
    if value < 1 << 32:
        return b"\xfc" + value.to_bytes(4, "little")
    if value < 1 << 64:
        return b"\xfd" + value.to_bytes(8, "little")
    return b"\xfe" + value.to_bytes(16, "little")


def zigzag(value: int) -> int:
    """Maps a signed integer to an unsigned one: 0->0, -1->1, 1->2, -2->3."""
    return value * 2 if value >= 0 else -value * 2 - 1


def unzigzag(value: int) -> int:
    """Inverse of :func:`zigzag`."""
    return value >> 1 if value % 2 == 0 else -((value + 1) >> 1)


class Writer:
    """Appends encoded values to a growing buffer."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def u8(self, value: int) -> None:
        """One byte, as is (``u8`` is never a varint)."""
        _check_unsigned(value, 8)
        self.buf.append(value)

    def uint(self, value: int, bits: int) -> None:
        """An unsigned integer of ``bits`` > 8 bits, as a varint."""
        self.buf += encode_varint(value, bits)

    def sint(self, value: int, bits: int) -> None:
        """A signed integer of ``bits`` bits: zigzag, then varint."""
        if not isinstance(value, int) or not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
            raise EncodeError(f"{value!r} does not fit a signed {bits}-bit integer")
        self.buf += encode_varint(zigzag(value), bits)

    def f32(self, value: float) -> None:
        """IEEE-754 binary32, little-endian. Python floats are rounded to f32."""
        try:
            self.buf += _F32.pack(value)
        except (struct.error, OverflowError, TypeError) as err:
            raise EncodeError(f"{value!r} is not representable as f32: {err}") from err

    def boolean(self, value: bool) -> None:
        """One byte, 0 or 1."""
        if not isinstance(value, bool):
            raise EncodeError(f"expected a bool, got {type(value).__name__}")
        self.buf.append(1 if value else 0)

    def string(self, value: str) -> None:
        """Varint byte length, then the UTF-8 bytes."""
        if not isinstance(value, str):
            raise EncodeError(f"expected a str, got {type(value).__name__}")
        data = value.encode("utf-8")
        self.length(len(data))
        self.buf += data

    def length(self, count: int) -> None:
        """A sequence length (``usize``): a u64 varint."""
        self.uint(count, 64)

    def getvalue(self) -> bytes:
        """The bytes written so far."""
        return bytes(self.buf)


class Reader:
    """Reads encoded values from the front of a byte string."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.data = bytes(data)
        self.pos = 0

    @property
    def remaining(self) -> int:
        """Bytes not read yet."""
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes; :class:`DecodeError` if fewer are left."""
        if n > self.remaining:
            raise DecodeError(f"truncated: need {n} bytes at offset {self.pos}, {self.remaining} left")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        """One raw byte."""
        return self.take(1)[0]

    def uint(self, bits: int) -> int:
        """A varint for a field of ``bits`` bits.

        Longer-than-needed forms are accepted when their width fits the
        field; a marker wider than the field and the reserved marker 255 are
        refused, as are values that overflow the field.
        """
        first = self.u8()
        if first < 251:
            return first
        if first == _RESERVED_MARKER:
            raise DecodeError("reserved varint marker 255")
        width = _MARKER_WIDTH[first]
        if width * 8 > bits:
            raise DecodeError(f"varint marker {first} is too wide for a {bits}-bit field")
        return int.from_bytes(self.take(width), "little")

    def sint(self, bits: int) -> int:
        """A zigzag-encoded signed integer of ``bits`` bits."""
        return unzigzag(self.uint(bits))

    def f32(self) -> float:
        """IEEE-754 binary32, little-endian."""
        return _F32.unpack(self.take(4))[0]

    def boolean(self) -> bool:
        """One byte that must be 0 or 1."""
        byte = self.u8()
        if byte > 1:
            raise DecodeError(f"invalid bool byte {byte}")
        return byte == 1

    def length(self, min_item_size: int = 1) -> int:
        """A sequence length, checked before anything is allocated.

        Each element takes at least ``min_item_size`` bytes, so a count the
        remaining bytes cannot hold is refused at once, as is any count above
        ``MAX_MESSAGE_LEN``.
        """
        count = self.uint(64)
        if count > MAX_MESSAGE_LEN:
            raise DecodeError(f"length {count} exceeds the message limit {MAX_MESSAGE_LEN}")
        if count * min_item_size > self.remaining:
            raise DecodeError(f"length {count} claims more than the {self.remaining} bytes left")
        return count

    def string(self) -> str:
        """Varint byte length, then UTF-8."""
        raw = self.take(self.length())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DecodeError(f"invalid UTF-8 in string: {err}") from err

    def option_tag(self) -> bool:
        """The tag of an ``Option``: False for none, True for some."""
        tag = self.u8()
        if tag > 1:
            raise DecodeError(f"invalid option tag {tag}")
        return tag == 1

    def finish(self) -> None:
        """Refuses bytes left over after a complete message."""
        if self.remaining:
            raise DecodeError(f"{self.remaining} trailing bytes after the message")
