"""Every record and message of battlegrid protocol version 1, as dataclasses.

Field order and types are those of the tables in docs/PROTOCOL.md
("The value types", "Client messages", "Server messages"). The variant
index of a message is its position in :data:`CLIENT_MESSAGES` or
:data:`SERVER_MESSAGES`. Encoding and decoding whole messages is
``codec.py``'s job; validation beyond what the wire format can express
(text limits, finite numbers) is :func:`validate_client_message`.
"""

from __future__ import annotations

import math
import unicodedata

from .schema import F32, STR, U16, U32, U64, BoolType, StructOf, VecOf, wire

#: ``Hello.version`` this client speaks.
PROTOCOL_VERSION = 1
#: Longest ``Hello.token``, in bytes.
MAX_TOKEN_LEN = 128
#: Longest shout or broadcast text, in bytes of UTF-8.
MAX_TEXT_LEN = 512
#: Longest player name, in bytes of UTF-8.
MAX_NAME_LEN = 32
#: Longest map name (``ChangeMap.map``, ``MapInfo.name``), in bytes of UTF-8.
MAX_MAP_NAME_LEN = 255

# PlayerId is a u64, RegionId a u32 and ErrorCode a u16: newtypes encode as
# their inner value, so they are plain ints here.
PLAYER_ID = U64
REGION_ID = U32
ERROR_CODE = U16


class ErrorCode:
    """Known ``ErrorCode`` values. Codes not listed here are valid too."""

    UNSUPPORTED_VERSION = 1
    INVALID_TOKEN = 2
    HANDSHAKE_TIMEOUT = 3
    SESSION_REPLACED = 4
    SERVER_UNAVAILABLE = 5
    MALFORMED_MESSAGE = 10
    FRAME_TOO_LARGE = 11
    UNEXPECTED_MESSAGE = 12
    RATE_LIMITED = 13
    TEXT_TOO_LONG = 14
    TOO_SLOW = 15
    SHUTTING_DOWN = 16
    INVALID_VALUE = 17
    UNKNOWN_MAP = 18
    COMMANDS_DROPPED = 19
    WORLD_RESTORED = 20
    KICKED = 21
    INTERNAL = 100

    @classmethod
    def name(cls, code: int) -> str:
        """The name of a known code, or ``UNKNOWN(<code>)``."""
        for key, value in vars(cls).items():
            if key.isupper() and value == code:
                return key
        return f"UNKNOWN({code})"


# --- value types -----------------------------------------------------------


@wire(("x", F32), ("y", F32))
class Position:
    """World coordinates; origin top-left, ``y`` grows downwards."""

    x: float
    y: float


@wire(("x", F32), ("y", F32))
class Vec2:
    """A direction; its length is irrelevant, zero means stop."""

    x: float
    y: float


@wire(("seq", U32), ("direction", StructOf(Vec2)), ("speed", F32), ("predicted", StructOf(Position)))
class MoveIntent:
    """A standing movement intent (see ``Move``)."""

    seq: int
    direction: Vec2
    speed: float
    predicted: Position


@wire(("name", STR), ("width", U32), ("height", U32), ("region_cols", U32), ("region_rows", U32))
class MapInfo:
    """The map the player is on."""

    name: str
    width: int
    height: int
    region_cols: int
    region_rows: int


@wire(("id", PLAYER_ID), ("name", STR), ("position", StructOf(Position)))
class EntityInfo:
    """A player that came into view."""

    id: int
    name: str
    position: Position


@wire(("id", PLAYER_ID), ("position", StructOf(Position)))
class EntityState:
    """A player in view that moved."""

    id: int
    position: Position


# --- client messages -------------------------------------------------------


@wire(("version", U16), ("token", STR))
class Hello:
    """First frame of the control stream: protocol version and session token."""

    version: int
    token: str


@wire(("intent", StructOf(MoveIntent)))
class Move:
    """Replaces the standing movement intent."""

    intent: MoveIntent


@wire(("text", STR))
class Shout:
    """Heard by everyone within the shout radius."""

    text: str


@wire(("text", STR))
class Broadcast:
    """Heard by everyone in the speaker's region."""

    text: str


@wire(("nonce", U64))
class Ping:
    """Answered by ``Pong`` with the same nonce."""

    nonce: int


@wire(("map", STR))
class ChangeMap:
    """Asks to move to another loaded map's spawn point.

    Answered by ``MapChanged``, or ``Error`` with ``UNKNOWN_MAP``.
    """

    map: str


@wire(("version", U16), ("token", STR))
class Resume:
    """First message instead of ``Hello`` after a dropped connection.

    ``token`` is the last ``ResumeToken``'s; the server answers as to
    ``Hello``. Send it only to a server that sent a ``ResumeToken``.
    """

    version: int
    token: str


# --- server messages -------------------------------------------------------


@wire(
    ("player_id", PLAYER_ID),
    ("region", REGION_ID),
    ("position", StructOf(Position)),
    ("tick_rate_hz", U16),
    ("map", StructOf(MapInfo)),
)
class Welcome:
    """The handshake succeeded; ``position`` is authoritative."""

    player_id: int
    region: int
    position: Position
    tick_rate_hz: int
    map: MapInfo


@wire(("code", ERROR_CODE), ("reason", STR))
class Reject:
    """The handshake failed; the connection closes after it."""

    code: int
    reason: str


@wire(("seq", U32), ("position", StructOf(Position)))
class PositionCorrected:
    """The server's position after applying intent ``seq`` differs from the prediction."""

    seq: int
    position: Position


@wire(("region", REGION_ID))
class RegionChanged:
    """The player crossed into another region."""

    region: int


@wire(("entities", VecOf(StructOf(EntityInfo))))
class EntitiesEntered:
    """Players that came within the view radius this tick."""

    entities: tuple[EntityInfo, ...]


@wire(("ids", VecOf(PLAYER_ID)))
class EntitiesLeft:
    """Players that left the view radius, or the game, this tick."""

    ids: tuple[int, ...]


@wire(("tick", U64), ("moved", VecOf(StructOf(EntityState))))
class StateUpdate:
    """Datagram: players in view that moved during ``tick``."""

    tick: int
    moved: tuple[EntityState, ...]


@wire(("speaker", PLAYER_ID), ("name", STR), ("position", StructOf(Position)), ("text", STR))
class ShoutHeard:
    """Someone within the shout radius shouted (the speaker hears itself)."""

    speaker: int
    name: str
    position: Position
    text: str


@wire(("speaker", PLAYER_ID), ("name", STR), ("region", REGION_ID), ("text", STR))
class BroadcastHeard:
    """Someone in the player's region broadcast."""

    speaker: int
    name: str
    region: int
    text: str


@wire(("code", ERROR_CODE), ("message", STR))
class Error:
    """Something the client sent was refused; fatal codes close the connection."""

    code: int
    message: str


@wire(("nonce", U64), ("tick", U64))
class Pong:
    """Answer to ``Ping``; ``tick`` is the server's current tick."""

    nonce: int
    tick: int


@wire(
    ("map", StructOf(MapInfo)),
    ("region", REGION_ID),
    ("position", StructOf(Position)),
    ("seq", U32),
    ("relocated", BoolType()),
    ("reason", STR),
)
class MapChanged:
    """The player's map was reloaded, or the player moved to another map.

    ``position`` and ``seq`` are authoritative like a ``PositionCorrected``;
    ``relocated`` says whether the server moved the player; see
    docs/PROTOCOL.md, "MapChanged", for what to do with the view.
    """

    map: MapInfo
    region: int
    position: Position
    seq: int
    relocated: bool
    reason: str


@wire(("token", STR), ("valid_for_ms", U32))
class ResumeToken:
    """A token that resumes this session on a new connection (``Resume``).

    Sent after ``Welcome`` and again before it expires; the newest wins.
    """

    token: str
    valid_for_ms: int


@wire(("text", STR))
class Announcement:
    """A system message from the server's operators; show it."""

    text: str


#: ``ClientMessage`` variants; the index is the wire variant index.
CLIENT_MESSAGES: tuple[type, ...] = (Hello, Move, Shout, Broadcast, Ping, ChangeMap, Resume)
#: ``ServerMessage`` variants; the index is the wire variant index.
SERVER_MESSAGES: tuple[type, ...] = (
    Welcome,
    Reject,
    PositionCorrected,
    RegionChanged,
    EntitiesEntered,
    EntitiesLeft,
    StateUpdate,
    ShoutHeard,
    BroadcastHeard,
    Error,
    Pong,
    MapChanged,
    ResumeToken,
    Announcement,
)


def validate_client_message(msg: object) -> None:
    """Raises ``ValueError`` for a message the server would refuse.

    Checks the limits of docs/PROTOCOL.md that the wire format cannot
    express: token, text and map name lengths, finite numbers,
    non-negative speed, map names without control characters.
    """
    if isinstance(msg, (Hello, Resume)):
        if len(msg.token.encode("utf-8")) > MAX_TOKEN_LEN:
            raise ValueError(f"token longer than {MAX_TOKEN_LEN} bytes")
    elif isinstance(msg, (Shout, Broadcast)):
        size = len(msg.text.encode("utf-8"))
        if size > MAX_TEXT_LEN:
            raise ValueError(f"text of {size} bytes exceeds the limit of {MAX_TEXT_LEN}")
    elif isinstance(msg, Move):
        i = msg.intent
        numbers = (i.direction.x, i.direction.y, i.speed, i.predicted.x, i.predicted.y)
        if not all(math.isfinite(n) for n in numbers):
            raise ValueError("a Move holds a NaN or infinite number")
        if i.speed < 0:
            raise ValueError("a Move's speed must not be negative")
    elif isinstance(msg, ChangeMap):
        size = len(msg.map.encode("utf-8"))
        if size == 0:
            raise ValueError("map name is empty")
        if size > MAX_MAP_NAME_LEN:
            raise ValueError(f"map name of {size} bytes exceeds the limit of {MAX_MAP_NAME_LEN}")
        # Rust's char::is_control: Unicode category Cc.
        if any(unicodedata.category(c) == "Cc" for c in msg.map):
            raise ValueError("map name contains a control character")
