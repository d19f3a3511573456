"""Control-stream framing: split and merged reads, and bad length prefixes."""

from __future__ import annotations

import struct

import pytest

from battlegrid_client import codec
from battlegrid_client import messages as m
from battlegrid_client.framing import MAX_FRAME_LEN, FrameDecoder, FrameError, encode_frame


def frames_of(*msgs) -> bytes:
    return b"".join(encode_frame(codec.encode_client(x)) for x in msgs)


def test_byte_by_byte_delivery_yields_each_frame_once():
    """A frame may arrive in any number of reads."""
    data = frames_of(m.Ping(1), m.Shout("hi"), m.Ping(70000))
    dec = FrameDecoder()
    out = []
    for i in range(len(data)):
        out += dec.feed(data[i : i + 1])
    assert [codec.decode_client(p) for p in out] == [m.Ping(1), m.Shout("hi"), m.Ping(70000)]
    assert dec.buffered == 0


def test_one_read_can_hold_several_frames_and_a_partial_one():
    """Complete frames come out; the partial rest waits for more bytes."""
    data = frames_of(m.Ping(1), m.Ping(2), m.Ping(3))
    dec = FrameDecoder()
    first = dec.feed(data[:-2])
    assert [codec.decode_client(p) for p in first] == [m.Ping(1), m.Ping(2)]
    assert dec.buffered > 0
    assert [codec.decode_client(p) for p in dec.feed(data[-2:])] == [m.Ping(3)]


def test_zero_length_is_refused():
    """A zero-length frame is invalid (MALFORMED_MESSAGE on the server)."""
    with pytest.raises(FrameError) as err:
        FrameDecoder().feed(struct.pack("<I", 0))
    assert err.value.length == 0


def test_oversized_length_is_refused_before_the_payload_arrives():
    """The length is checked as soon as its four bytes are in."""
    dec = FrameDecoder()
    with pytest.raises(FrameError):
        dec.feed(struct.pack("<I", MAX_FRAME_LEN + 1))
    with pytest.raises(FrameError):  # the stream stays broken
        dec.feed(b"\x00")


def test_largest_frame_is_accepted():
    """65,536 bytes is the inclusive limit."""
    payload = b"\x01" * MAX_FRAME_LEN
    assert FrameDecoder().feed(encode_frame(payload)) == [payload]
    with pytest.raises(FrameError):
        encode_frame(payload + b"\x01")
    with pytest.raises(FrameError):
        encode_frame(b"")
