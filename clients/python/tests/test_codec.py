"""Encoding rules of docs/PROTOCOL.md, value by value, and hostile input.

Covers varint boundaries and leniency, zigzag, f32, bool, option, strings,
sequences, trailing and truncated bytes, unknown variants, and that random
bytes only ever raise DecodeError.
"""

from __future__ import annotations

import math
import random

import pytest

from battlegrid_client import codec
from battlegrid_client import messages as m
from battlegrid_client.schema import U16, U32, U64, BoolType, OptionOf, SInt, StructOf
from battlegrid_client.wire import DecodeError, EncodeError, Reader, Writer, encode_varint


@pytest.mark.parametrize(
    "value, hex_form",
    [
        (0, "00"),
        (250, "fa"),
        (251, "fb fb 00"),
        (65535, "fb ff ff"),
        (65536, "fc 00 00 01 00"),
        (2**32 - 1, "fc ff ff ff ff"),
        (2**32, "fd 00 00 00 00 01 00 00 00"),
        (2**64 - 1, "fd" + " ff" * 8),
    ],
)
def test_varint_uses_shortest_form_at_each_boundary(value, hex_form):
    """Values below 251 are one byte; larger ones take the narrowest marker."""
    assert encode_varint(value) == bytes.fromhex(hex_form)
    assert Reader(bytes.fromhex(hex_form)).uint(64) == value


def test_varint_u128_form():
    """Marker 254 carries 16 bytes, for 128-bit fields."""
    assert encode_varint(2**64, 128) == b"\xfe" + (2**64).to_bytes(16, "little")
    assert Reader(encode_varint(2**100, 128)).uint(128) == 2**100


def test_decoder_accepts_longer_form_that_fits_the_field():
    """A non-shortest varint is accepted when its width fits the type."""
    assert Reader(bytes.fromhex("fb 05 00")).uint(16) == 5
    assert Reader(bytes.fromhex("fd 07 00 00 00 00 00 00 00")).uint(64) == 7


@pytest.mark.parametrize("hex_form, bits", [("fc 01 00 00 00", 16), ("fd" + " 00" * 8, 32), ("fe" + " 00" * 16, 64)])
def test_decoder_refuses_marker_wider_than_the_field(hex_form, bits):
    """For example marker 252 (u32) for a u16 field is invalid."""
    with pytest.raises(DecodeError):
        Reader(bytes.fromhex(hex_form)).uint(bits)


def test_decoder_refuses_reserved_marker():
    """Marker 255 is reserved."""
    with pytest.raises(DecodeError):
        Reader(b"\xff").uint(64)


def test_encoder_refuses_out_of_range_values():
    """Negative or too-large values for a field's width never reach the wire."""
    for value, bits in [(-1, 64), (65536, 16), (2**32, 32), (2**64, 64)]:
        with pytest.raises(EncodeError):
            encode_varint(value, bits)
    with pytest.raises(EncodeError):
        codec.encode_client(m.Hello(version=70000, token="t"))


def test_zigzag_signed_integers():
    """0->0, -1->1, 1->2, -2->3, then varint; i8 is one raw byte as in bincode."""
    for value, enc in [
        (0, "00"),
        (-1, "01"),
        (1, "02"),
        (-2, "03"),
        (-125, "f9"),
        (-126, "fb fb 00"),
        (2**31 - 1, "fc fe ff ff ff"),
    ]:
        w = Writer()
        SInt(32).encode(w, value)
        assert w.getvalue() == bytes.fromhex(enc)
        assert SInt(32).decode(Reader(w.getvalue())) == value
    w = Writer()
    SInt(8).encode(w, -2)
    assert w.getvalue() == b"\xfe" and SInt(8).decode(Reader(b"\xfe")) == -2


def test_f32_is_four_little_endian_bytes_never_a_varint():
    """1.0 is 00 00 80 3f; doubles are rounded to binary32."""
    w = Writer()
    w.f32(1.0)
    w.f32(0.1)
    assert w.getvalue()[:4] == bytes.fromhex("00 00 80 3f")
    r = Reader(w.getvalue())
    assert r.f32() == 1.0 and r.f32() == pytest.approx(0.1, rel=1e-7)
    assert math.isnan(Reader(bytes.fromhex("00 00 c0 7f")).f32())
    with pytest.raises(EncodeError):
        Writer().f32(1e39)  # finite as a double, too large for f32


def test_bool_and_option_tags():
    """Bool and option tags are 0 or 1; other bytes are invalid."""
    w = Writer()
    BoolType().encode(w, True)
    OptionOf(U16).encode(w, None)
    OptionOf(U16).encode(w, 300)
    assert w.getvalue() == bytes.fromhex("01 00 01 fb 2c 01")
    r = Reader(w.getvalue())
    assert BoolType().decode(r) is True
    assert OptionOf(U16).decode(r) is None
    assert OptionOf(U16).decode(r) == 300
    with pytest.raises(DecodeError):
        BoolType().decode(Reader(b"\x02"))
    with pytest.raises(DecodeError):
        OptionOf(U16).decode(Reader(b"\x02\x00"))


def test_strings_count_utf8_bytes_and_refuse_bad_utf8():
    """The length prefix counts bytes; invalid UTF-8 is a decode error."""
    assert codec.encode_client(m.Shout("ë")) == bytes.fromhex("02 02 c3 ab")
    with pytest.raises(DecodeError):
        codec.decode_client(bytes.fromhex("02 02 c3 28"))


def test_claimed_lengths_are_checked_before_allocating():
    """A string or list claiming more than is there, or than the limit, fails fast."""
    for data in [
        bytes.fromhex("02 fc ff ff ff 7f") + b"x",  # 2 GiB string
        bytes.fromhex("02 10") + b"short",  # 16 claimed, 5 present
    ]:
        with pytest.raises(DecodeError):
            codec.decode_client(data)
    with pytest.raises(DecodeError):
        codec.decode_server(bytes.fromhex("05 fd ff ff ff ff ff ff ff ff"))
    # 100 EntityState records need at least 9 bytes each.
    with pytest.raises(DecodeError):
        codec.decode_server(bytes.fromhex("06 01 64") + b"\x00" * 300)


def test_trailing_and_truncated_bytes_are_errors():
    """A message must use every byte, and every byte it needs must be there."""
    ping = codec.encode_client(m.Ping(5))
    with pytest.raises(DecodeError):
        codec.decode_client(ping + b"\x00")
    good = codec.encode_server(m.Pong(70000, 1234))
    for cut in range(len(good)):
        with pytest.raises(DecodeError):
            codec.decode_server(good[:cut])


def test_unknown_variant_is_kept_for_skipping():
    """Appended variants decode to UnknownMessage instead of failing."""
    msg = codec.decode_server(bytes.fromhex("0e 01 02 03"))
    assert msg == codec.UnknownMessage(index=14, payload=bytes.fromhex("0e 01 02 03"))
    assert codec.decode_client(b"\x07") == codec.UnknownMessage(7, b"\x07")


def test_announcement_is_index_13():
    """Announcement follows ResumeToken (12) on the wire."""
    data = codec.encode_server(m.Announcement("hi"))
    assert data == b"\x0d\x02hi"
    assert codec.decode_server(data) == m.Announcement("hi")


def test_encoding_the_wrong_side_is_refused():
    """A server message is not a client message and vice versa."""
    with pytest.raises(EncodeError):
        codec.encode_client(m.Pong(1, 2))
    with pytest.raises(EncodeError):
        codec.encode_server(m.Ping(1))


def test_nested_struct_min_size_bounds_lists():
    """A record's minimum size is the sum of its fields' minimum sizes."""
    assert StructOf(m.EntityState).min_size == 9
    assert StructOf(m.EntityInfo).min_size == 10


def test_every_message_round_trips():
    """Each variant, with awkward values, decodes to what was encoded."""
    p = m.Position(-1.5, 3.25)
    samples_client = [
        m.Hello(1, "x" * 128),
        m.Move(m.MoveIntent(2**32 - 1, m.Vec2(0.0, 0.0), 0.0, p)),
        m.Shout("é" * 256),
        m.Broadcast(""),
        m.Ping(2**64 - 1),
        m.ChangeMap("é" * 127),
        m.Resume(1, "r" * 128),
    ]
    samples_server = [
        m.Welcome(2**64 - 1, 2**32 - 1, p, 65535, m.MapInfo("", 0, 2**32 - 1, 1, 1)),
        m.Reject(65535, "no"),
        m.PositionCorrected(0, p),
        m.RegionChanged(0),
        m.EntitiesEntered(()),
        m.EntitiesLeft(tuple(range(300))),
        m.StateUpdate(2**40, tuple(m.EntityState(i, p) for i in range(100))),
        m.ShoutHeard(1, "n", p, "t"),
        m.BroadcastHeard(1, "n", 5, "t"),
        m.Error(999, "unknown code"),
        m.Pong(0, 0),
        m.MapChanged(m.MapInfo("m", 1, 1, 1, 1), 2**32 - 1, p, 2**32 - 1, False, ""),
        m.ResumeToken("r1.x", 2**32 - 1),
        m.Announcement("é" * 256),
    ]
    assert {type(x) for x in samples_client} == set(m.CLIENT_MESSAGES)
    assert {type(x) for x in samples_server} == set(m.SERVER_MESSAGES) - {None}
    for msg in samples_client:
        assert codec.decode_client(codec.encode_client(msg)) == msg
    for msg in samples_server:
        assert codec.decode_server(codec.encode_server(msg)) == msg


def test_random_bytes_only_raise_decode_error():
    """Garbage never escapes as another exception type (seeded, so reproducible)."""
    rng = random.Random(4)
    golden = [codec.encode_server(m.Welcome(1, 2, m.Position(1, 2), 20, m.MapInfo("m", 1, 1, 1, 1)))]
    for _ in range(5000):
        if rng.random() < 0.5:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        else:
            data = bytearray(rng.choice(golden))
            data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data)
        for decode in (codec.decode_client, codec.decode_server):
            try:
                decode(data)
            except DecodeError:
                pass


def test_validate_client_message_limits():
    """Text, token, map name, finiteness and speed limits of PROTOCOL.md."""
    m.validate_client_message(m.Shout("a" * 512))
    m.validate_client_message(m.Hello(1, "t" * 128))
    m.validate_client_message(m.ChangeMap("m" * 255))
    m.validate_client_message(m.ChangeMap("hafen-ü"))
    bad = [
        m.Shout("a" * 513),
        m.Broadcast("é" * 257),
        m.Hello(1, "t" * 129),
        m.Move(m.MoveIntent(1, m.Vec2(math.nan, 0), 1.0, m.Position(0, 0))),
        m.Move(m.MoveIntent(1, m.Vec2(1, 0), -1.0, m.Position(0, 0))),
        m.Move(m.MoveIntent(1, m.Vec2(1, 0), 1.0, m.Position(math.inf, 0))),
        m.ChangeMap(""),
        m.ChangeMap("m" * 256),
        m.ChangeMap("é" * 128),
        m.ChangeMap("a\nb"),
        m.ChangeMap("del\x7f"),
        m.ChangeMap("c1\x85"),
    ]
    for msg in bad:
        with pytest.raises(ValueError):
            m.validate_client_message(msg)


def test_u32_and_u64_helpers_match_their_width():
    """Field widths refuse markers wider than the field."""
    assert U32.decode(Reader(bytes.fromhex("fc ff ff ff ff"))) == 2**32 - 1
    with pytest.raises(DecodeError):
        U32.decode(Reader(bytes.fromhex("fd 00 00 00 00 01 00 00 00")))
    assert U64.decode(Reader(bytes.fromhex("fd 00 00 00 00 01 00 00 00"))) == 2**32
