"""The codec against the golden vectors of shared-protocol/tests/golden/.

Each file is decoded, compared with the message PROTOCOL.md's hex examples
say it holds, and re-encoded to the identical bytes. The hex blocks of
PROTOCOL.md are checked against the files too, so the doc, the files and
this client cannot drift apart silently.
"""

from __future__ import annotations

import re

import pytest
from conftest import GOLDEN_DIR, REPO_ROOT

from battlegrid_client import codec
from battlegrid_client import messages as m

P = m.Position

# The message of each golden file, transcribed from the captions of
# docs/PROTOCOL.md's "Hex examples".
EXPECTED = {
    "client_hello.bin": m.Hello(version=1, token="tok-7f3a"),
    "client_move.bin": m.Move(
        m.MoveIntent(seq=300, direction=m.Vec2(1.0, -0.5), speed=80.0, predicted=P(1024.5, 2048.25))
    ),
    "client_shout.bin": m.Shout("hello, world"),
    "client_broadcast.bin": m.Broadcast("gg ë"),
    "client_ping.bin": m.Ping(70000),
    "client_change_map.bin": m.ChangeMap("harbour"),
    "client_resume.bin": m.Resume(version=1, token="r1.Ab-9"),
    "server_welcome.bin": m.Welcome(
        player_id=42,
        region=9,
        position=P(100.0, 200.5),
        tick_rate_hz=20,
        map=m.MapInfo("meadow", 4096, 4096, 8, 8),
    ),
    "server_reject.bin": m.Reject(m.ErrorCode.INVALID_TOKEN, "unknown token"),
    "server_position_corrected.bin": m.PositionCorrected(301, P(1025.0, 2048.0)),
    "server_region_changed.bin": m.RegionChanged(10),
    "server_entities_entered.bin": m.EntitiesEntered(
        (m.EntityInfo(7, "ann", P(10.0, 20.0)), m.EntityInfo(251, "bo", P(-0.0, 1.5)))
    ),
    "server_entities_left.bin": m.EntitiesLeft((7, 4294967296)),
    "server_state_update.bin": m.StateUpdate(
        1234, (m.EntityState(7, P(11.0, 20.0)), m.EntityState(300, P(-3.25, 0.0)))
    ),
    "server_shout_heard.bin": m.ShoutHeard(42, "zed", P(100.0, 200.5), "hello, world"),
    "server_broadcast_heard.bin": m.BroadcastHeard(42, "zed", 9, "gg ë"),
    "server_error.bin": m.Error(m.ErrorCode.TEXT_TOO_LONG, "text of 600 bytes exceeds the limit of 512"),
    "server_pong.bin": m.Pong(70000, 1234),
    "server_map_changed.bin": m.MapChanged(
        map=m.MapInfo("meadow", 2048, 1024, 4, 2),
        region=5,
        position=P(520.0, 600.5),
        seq=301,
        relocated=True,
        reason="your tile became blocked; moved to the nearest free tile",
    ),
    "server_resume_token.bin": m.ResumeToken("r1.Ab-9", 300000),
    "server_announcement.bin": m.Announcement("restart in 5 minutes"),
}


def golden(name: str) -> bytes:
    return (GOLDEN_DIR / name).read_bytes()


def test_every_golden_file_is_covered():
    """Every .bin file has an expectation here, so a new vector cannot go untested."""
    on_disk = {p.name for p in GOLDEN_DIR.glob("*.bin")}
    assert on_disk, f"no golden files found in {GOLDEN_DIR}"
    assert on_disk == set(EXPECTED) | {"framed_client_hello.bin"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden_decodes_to_documented_message_and_reencodes(name):
    """Decoding gives the documented message; encoding it gives the file's bytes."""
    data = golden(name)
    client = name.startswith("client_")
    decoded = (codec.decode_client if client else codec.decode_server)(data)
    assert decoded == EXPECTED[name]
    assert (codec.encode_client if client else codec.encode_server)(decoded) == data


def test_negative_zero_survives_the_round_trip():
    """-0.0 == 0.0 in Python, so the sign bit is checked on the bytes themselves."""
    msg = codec.decode_server(golden("server_entities_entered.bin"))
    assert str(msg.entities[1].position.x) == "-0.0"


def test_framed_hello_golden():
    """The framed Hello is a 4-byte LE length then the plain Hello bytes."""
    data = golden("framed_client_hello.bin")
    assert codec.encode_frame(codec.encode_client(EXPECTED["client_hello.bin"])) == data
    payloads = codec.FrameDecoder().feed(data)
    assert payloads == [golden("client_hello.bin")]


def test_protocol_md_hex_blocks_match_golden_files():
    """Each `<!-- golden: X -->` hex block of PROTOCOL.md equals file X."""
    doc = (REPO_ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- golden: (\S+) -->\s*```text\n(.*?)```", doc, re.DOTALL)
    assert len(blocks) == len(EXPECTED) + 1
    for name, hex_text in blocks:
        assert bytes.fromhex(hex_text) == golden(name), name


def test_error_codes_match_protocol_md_table():
    """Every row of PROTOCOL.md's error table is a code this client names the same way."""
    doc = (REPO_ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    section = doc.split("\n## Error codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| `([A-Z_]+)` \|", section, re.MULTILINE)
    assert rows, "no error table found"
    documented = {int(code): name for code, name in rows}
    known = {value: key for key, value in vars(m.ErrorCode).items() if key.isupper()}
    assert known == documented
