"""The client's picture of the game: itself, and the players in view.

:class:`World` applies server messages by the rules of docs/PROTOCOL.md
("Semantics"): the own position comes from ``Welcome`` and
``PositionCorrected`` (and ``MapChanged``) and is predicted in between
from the standing intent; other players enter and leave with ``EntitiesEntered`` /
``EntitiesLeft``; ``StateUpdate`` moves players in view, ignoring stale
ticks and players not in view, and carries the player's own record while
it walks. It does no I/O. Left out: blocked tiles (reading them needs the
map file from ``GET /v1/maps/{name}``), so prediction only stops at the
map's edges; the own record pulls it back when a wall stopped the player.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import messages as m

#: The server's default speed cap, units per second (docs/PROTOCOL.md, "Limits").
DEFAULT_MAX_SPEED = 80.0
#: How far a prediction may be off before the server corrects it, in units
#: (docs/PROTOCOL.md, "Limits": fixed in the server).
CORRECTION_TOLERANCE = 4.0


@dataclass
class Seen:
    """A player in view: its name and last known position."""

    name: str
    position: m.Position


@dataclass
class World:
    """State derived from the server's messages, plus own-position prediction."""

    clock: Callable[[], float] = time.monotonic
    max_speed: float = DEFAULT_MAX_SPEED
    player_id: int | None = None
    region: int | None = None
    map: m.MapInfo | None = None
    tick_rate_hz: int = 20
    #: Players in view, by id.
    view: dict[int, Seen] = field(default_factory=dict)
    #: Highest ``StateUpdate`` tick applied.
    last_tick: int = -1
    #: The last record of the player itself from a ``StateUpdate``, sent
    #: while it walks: ``(tick, position)``, authoritative at that tick.
    own: tuple[int, m.Position] | None = None
    #: Shouts and broadcasts heard, oldest first (bounded to the last 1000).
    heard: list[Any] = field(default_factory=list)
    _base: m.Position = field(default_factory=lambda: m.Position(0.0, 0.0))
    _base_time: float = 0.0
    _velocity: tuple[float, float] = (0.0, 0.0)

    def welcome(self, msg: m.Welcome) -> None:
        """Starts the session from ``Welcome``."""
        self.player_id = msg.player_id
        self.region = msg.region
        self.map = msg.map
        self.tick_rate_hz = msg.tick_rate_hz
        self._set_position(msg.position)

    def apply(self, msg: Any) -> None:
        """Applies one server message received after ``Welcome``."""
        if isinstance(msg, m.PositionCorrected):
            self._set_position(msg.position)
        elif isinstance(msg, m.MapChanged):
            self.map_changed(msg)
        elif isinstance(msg, m.RegionChanged):
            self.region = msg.region
        elif isinstance(msg, m.EntitiesEntered):
            for e in msg.entities:
                self.view[e.id] = Seen(e.name, e.position)
        elif isinstance(msg, m.EntitiesLeft):
            for pid in msg.ids:
                self.view.pop(pid, None)
        elif isinstance(msg, m.StateUpdate):
            self.state_update(msg)
        elif isinstance(msg, m.Error) and msg.code == m.ErrorCode.WORLD_RESTORED:
            # The server rebuilt the map's world: its view of us starts
            # empty and our intent is gone; a MapChanged places us next.
            self.view.clear()
            self._velocity = (0.0, 0.0)
        elif isinstance(msg, (m.ShoutHeard, m.BroadcastHeard)):
            self.heard.append(msg)
            del self.heard[:-1000]

    def map_changed(self, msg: m.MapChanged) -> None:
        """Adopts a new map or a new version of it (docs/PROTOCOL.md, "MapChanged").

        The position is authoritative, like a correction. A reload of the
        same map keeps the view (the server sends only what changed) and the
        standing intent; a move to another map clears the view and stops
        (the new map starts the player without an intent).
        """
        if self.map is None or self.map.name != msg.map.name:
            self.view.clear()
            self._velocity = (0.0, 0.0)
        self.map = msg.map
        self.region = msg.region
        self._set_position(msg.position)

    def state_update(self, msg: m.StateUpdate) -> bool:
        """Applies a datagram update; False if it was stale and ignored.

        Several datagrams may share a tick (a split update), so only a
        *lower* tick is stale.
        """
        if msg.tick < self.last_tick:
            return False
        self.last_tick = msg.tick
        for record in msg.moved:
            if record.id == self.player_id:
                self._own_record(msg.tick, record.position)
                continue
            seen = self.view.get(record.id)
            if seen is not None:  # players not in view are ignored
                seen.position = record.position
        return True

    # --- own position --------------------------------------------------------

    def predicted_position(self) -> m.Position:
        """Where the client believes it is now, by the server's movement rule."""
        elapsed = max(0.0, self.clock() - self._base_time)
        x = self._base.x + self._velocity[0] * elapsed
        y = self._base.y + self._velocity[1] * elapsed
        if self.map is not None:
            x = min(max(x, 0.0), float(self.map.width))
            y = min(max(y, 0.0), float(self.map.height))
        return m.Position(x, y)

    def _own_record(self, tick: int, position: m.Position) -> None:
        """Reconciles the prediction with the server's position at ``tick``.

        The record describes a tick that is a little in the past, so while
        walking freely the prediction is ahead of it by the latency's worth
        of travel; snapping to it every tick would drag the prediction
        back. It snaps only when the two differ by more than two ticks of
        travel plus the server's correction tolerance: that happens when a
        wall or the edge stopped the player, which the prediction cannot
        know.
        """
        self.own = (tick, position)
        step = math.hypot(*self._velocity) / max(self.tick_rate_hz, 1)
        predicted = self.predicted_position()
        drift = math.hypot(predicted.x - position.x, predicted.y - position.y)
        if drift > 2 * step + CORRECTION_TOLERANCE:
            self._set_position(position)

    def intent_sent(self, intent: m.MoveIntent) -> None:
        """Starts predicting with a new standing intent from the current prediction."""
        self._set_position(self.predicted_position())
        dx, dy = intent.direction.x, intent.direction.y
        length = math.hypot(dx, dy)
        speed = min(intent.speed, self.max_speed)
        if length == 0.0 or speed == 0.0:
            self._velocity = (0.0, 0.0)
        else:
            self._velocity = (dx / length * speed, dy / length * speed)

    def _set_position(self, position: m.Position) -> None:
        self._base = position
        self._base_time = self.clock()
