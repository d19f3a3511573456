"""The World's bookkeeping by docs/PROTOCOL.md's semantics, with a fake clock."""

from __future__ import annotations

import pytest

from battlegrid_client import messages as m
from battlegrid_client.world import World

P = m.Position
WELCOME = m.Welcome(1, 3, P(100.0, 100.0), 20, m.MapInfo("t", 200, 150, 2, 2))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def world() -> tuple[World, Clock]:
    clock = Clock()
    w = World(clock=clock)
    w.welcome(WELCOME)
    return w, clock


def intent(seq: int, dx: float, dy: float, speed: float) -> m.MoveIntent:
    return m.MoveIntent(seq, m.Vec2(dx, dy), speed, P(0.0, 0.0))


def test_view_follows_entered_updates_and_left():
    """Entered players are tracked, moved by updates, and dropped when they leave."""
    w, _ = world()
    w.apply(m.EntitiesEntered((m.EntityInfo(7, "ann", P(1.0, 2.0)),)))
    w.apply(m.StateUpdate(10, (m.EntityState(7, P(3.0, 4.0)), m.EntityState(99, P(0.0, 0.0)))))
    assert w.view[7].position == P(3.0, 4.0)
    assert 99 not in w.view  # records of players not in view are ignored
    w.apply(m.EntitiesLeft((7,)))
    assert w.view == {}


def test_stale_ticks_are_ignored_but_equal_ticks_apply():
    """A lower tick is stale; several datagrams of one tick all apply."""
    w, _ = world()
    w.apply(m.EntitiesEntered((m.EntityInfo(7, "a", P(0, 0)), m.EntityInfo(8, "b", P(0, 0)))))
    assert w.state_update(m.StateUpdate(10, (m.EntityState(7, P(1, 1)),)))
    assert w.state_update(m.StateUpdate(10, (m.EntityState(8, P(2, 2)),)))
    assert not w.state_update(m.StateUpdate(9, (m.EntityState(7, P(5, 5)),)))
    assert w.view[7].position == P(1, 1) and w.view[8].position == P(2, 2)
    assert w.last_tick == 10


def test_prediction_walks_normalised_direction_capped_and_clamped():
    """Speed is capped at the maximum, direction normalised, position clamped to the map."""
    w, clock = world()
    w.intent_sent(intent(1, 3.0, 4.0, 10.0))  # length 5, speed 10 -> (6, 8) per second
    clock.now = 2.0
    assert w.predicted_position() == pytest.approx(P(112.0, 116.0))
    w.intent_sent(intent(2, 1.0, 0.0, 500.0))  # capped at 80
    clock.now = 2.5
    assert w.predicted_position().x == pytest.approx(152.0)
    clock.now = 100.0
    assert w.predicted_position().x == 200.0  # map edge


def test_correction_resets_the_prediction_and_the_intent_stays():
    """PositionCorrected moves the avatar; the standing intent keeps applying."""
    w, clock = world()
    w.intent_sent(intent(1, 0.0, 1.0, 20.0))
    clock.now = 1.0
    w.apply(m.PositionCorrected(1, P(50.0, 50.0)))
    clock.now = 1.5
    assert w.predicted_position() == pytest.approx(P(50.0, 60.0))
    w.intent_sent(intent(2, 0.0, 0.0, 0.0))
    clock.now = 9.0
    assert w.predicted_position() == pytest.approx(P(50.0, 60.0))


def test_region_and_heard_messages():
    """RegionChanged updates the region; shouts and broadcasts are kept, bounded."""
    w, _ = world()
    w.apply(m.RegionChanged(4))
    assert w.region == 4
    for i in range(1005):
        w.apply(m.ShoutHeard(2, "b", P(0, 0), str(i)))
    assert len(w.heard) == 1000 and w.heard[-1].text == "1004"


def test_map_changed_on_reload_keeps_the_view_and_snaps_like_a_correction():
    """A reload of the same map: new map info and region, position snapped, intent kept, view kept."""
    w, clock = world()
    w.apply(m.EntitiesEntered((m.EntityInfo(7, "ann", P(1.0, 2.0)),)))
    w.intent_sent(intent(1, 1.0, 0.0, 20.0))
    clock.now = 1.0
    reload = m.MapChanged(m.MapInfo("t", 200, 150, 4, 4), 9, P(40.0, 60.0), 1, True, "moved")
    w.apply(reload)
    assert (w.map, w.region) == (reload.map, 9)
    assert 7 in w.view
    clock.now = 1.5
    assert w.predicted_position() == pytest.approx(P(50.0, 60.0))


def test_map_changed_to_another_map_clears_the_view():
    """A move to another map: the old map's players are forgotten and the avatar stands still."""
    w, clock = world()
    w.apply(m.EntitiesEntered((m.EntityInfo(7, "ann", P(1.0, 2.0)),)))
    w.intent_sent(intent(1, 1.0, 0.0, 20.0))
    w.apply(m.MapChanged(m.MapInfo("harbour", 512, 512, 2, 2), 0, P(8.0, 8.0), 0, True, "moved"))
    assert w.view == {} and w.map.name == "harbour"
    clock.now = 3.0
    assert w.predicted_position() == P(8.0, 8.0)


def test_world_restored_clears_the_view_and_stops_then_map_changed_places():
    """WORLD_RESTORED: the view is emptied and the avatar stops; the MapChanged of the same map snaps it."""
    w, clock = world()
    w.apply(m.EntitiesEntered((m.EntityInfo(7, "ann", P(1.0, 2.0)),)))
    w.intent_sent(intent(1, 1.0, 0.0, 20.0))
    w.apply(m.Error(m.ErrorCode.WORLD_RESTORED, "restored"))
    assert w.view == {}
    w.apply(m.MapChanged(m.MapInfo("t", 200, 150, 2, 2), 1, P(90.0, 100.0), 0, True, "restored"))
    clock.now = 2.0
    assert w.predicted_position() == P(90.0, 100.0)
    w.apply(m.EntitiesEntered((m.EntityInfo(7, "ann", P(3.0, 2.0)),)))
    assert w.view[7].position == P(3.0, 2.0)


def test_own_record_is_kept_and_pulls_the_prediction_back_from_a_wall():
    """The own record is not a player in view; it resets the prediction only
    when the prediction ran further off than a wall-free walk can explain."""
    w, clock = world()
    w.intent_sent(intent(1, 1.0, 0.0, 80.0))
    clock.now = 0.1  # predicted (108, 100)
    w.apply(m.StateUpdate(10, (m.EntityState(1, P(106.0, 100.0)),)))
    assert w.own == (10, P(106.0, 100.0))
    assert 1 not in w.view
    assert w.predicted_position() == pytest.approx(P(108.0, 100.0)), "latency's worth ahead: kept"
    clock.now = 1.0  # predicted (180, 100), but a wall stopped the player at 110
    w.apply(m.StateUpdate(28, (m.EntityState(1, P(110.0, 100.0)),)))
    assert w.predicted_position() == pytest.approx(P(110.0, 100.0)), "snapped to the record"
    assert not w.state_update(m.StateUpdate(27, (m.EntityState(1, P(0.0, 0.0)),)))
    assert w.own == (28, P(110.0, 100.0)), "a stale record is ignored"
