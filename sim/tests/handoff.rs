//! Region handoff with hysteresis.

mod common;

use battlegrid_protocol::{PlayerId, Position, RegionId, ServerMessage};
use battlegrid_sim::SimSettings;
use common::{messages_to, small_map, walk, world};

fn region_changes(out: &battlegrid_sim::TickOutput, id: u64) -> Vec<RegionId> {
    messages_to(out, id)
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::RegionChanged { region } => Some(region),
            _ => None,
        })
        .collect()
}

/// Crossing a border gives exactly one RegionChanged, once the player is
/// more than the margin past it.
#[test]
fn crossing_a_border_changes_region_once() {
    // Regions are 64 wide; the border between regions 0 and 1 is x = 64.
    let (mut sim, _) = world(
        small_map(),
        SimSettings::default(),
        &[(1, Position::new(60.0, 10.0))],
    );
    sim.push(walk(&sim, 1, 1, 1.0, 0.0, 20.0)); // 1 unit per tick
    let mut changes = Vec::new();
    for _ in 0..20 {
        let out = sim.step();
        let x = sim.position(PlayerId(1)).unwrap().x;
        let here = region_changes(&out, 1);
        if !here.is_empty() {
            assert!(x > 66.0, "changed at x = {x}, within the margin");
        }
        if x > 66.0 + 1.0 {
            assert_eq!(sim.region_of(PlayerId(1)), Some(RegionId(1)));
        }
        changes.extend(here);
    }
    assert_eq!(changes, vec![RegionId(1)]);
}

/// Walking along a border, and zig-zagging across it within the margin,
/// never changes region.
#[test]
fn walking_along_a_border_does_not_flap() {
    let (mut sim, _) = world(
        small_map(),
        SimSettings::default(),
        &[(1, Position::new(64.0, 10.0))],
    );
    let start_region = sim.region_of(PlayerId(1)).unwrap();
    for tick in 0..40u32 {
        // Down the border, stepping 1.5 units left and right of it.
        let dx = if tick % 2 == 0 { 1.5 } else { -1.5 };
        sim.push(walk(
            &sim,
            1,
            tick + 1,
            dx,
            1.0,
            20.0 * (dx * dx + 1.0f32).sqrt(),
        ));
        let out = sim.step();
        assert!(
            region_changes(&out, 1).is_empty(),
            "flapped at {:?}",
            sim.position(PlayerId(1))
        );
    }
    assert_eq!(sim.region_of(PlayerId(1)), Some(start_region));
    assert!(
        sim.position(PlayerId(1)).unwrap().y > 40.0,
        "it did walk along the border"
    );
}

/// A handed-off player keeps its view: no spurious EntitiesLeft/Entered for
/// neighbours that stay in range.
#[test]
fn handoff_keeps_the_view() {
    let settings = SimSettings::default();
    let (mut sim, _) = world(
        small_map(),
        settings,
        &[
            (1, Position::new(62.0, 10.0)),
            (2, Position::new(80.0, 10.0)),
        ],
    );
    sim.push(walk(&sim, 1, 1, 1.0, 0.0, 80.0));
    for _ in 0..3 {
        let out = sim.step();
        for m in messages_to(&out, 1) {
            assert!(
                !matches!(
                    m,
                    ServerMessage::EntitiesLeft { .. } | ServerMessage::EntitiesEntered { .. }
                ),
                "{m:?}"
            );
        }
    }
    assert_eq!(sim.region_of(PlayerId(1)), Some(RegionId(1)));
}

/// Hysteresis applies while walking; a player placed by a join gets the
/// region that contains its position (docs/PROTOCOL.md, "Regions"). A player
/// that stopped just past a border, still in its old region, leaves and
/// comes back at the same place in the region on the other side.
#[test]
fn a_join_takes_the_region_containing_the_position() {
    let (mut sim, _) = world(
        small_map(),
        SimSettings::default(),
        &[(1, Position::new(63.0, 10.0))],
    );
    sim.push(walk(&sim, 1, 1, 1.0, 0.0, 20.0)); // 1 unit per tick
    sim.step();
    sim.push(walk(&sim, 1, 2, 0.0, 0.0, 0.0));
    sim.step();
    let at = sim.position(PlayerId(1)).unwrap();
    assert_eq!(at.x, 64.0, "one unit past the border at x = 64");
    assert_eq!(
        sim.region_of(PlayerId(1)),
        Some(RegionId(0)),
        "held by hysteresis"
    );
    sim.push(battlegrid_sim::Input::Leave { id: PlayerId(1) });
    sim.step();
    sim.push(battlegrid_sim::Input::Join {
        id: PlayerId(1),
        name: "p1".into(),
        position: Some(at),
    });
    let out = sim.step();
    let welcome_region = messages_to(&out, 1).into_iter().find_map(|m| match m {
        ServerMessage::Welcome { region, .. } => Some(region),
        _ => None,
    });
    assert_eq!(welcome_region, Some(RegionId(1)));
    assert_eq!(sim.region_of(PlayerId(1)), Some(RegionId(1)));
}
