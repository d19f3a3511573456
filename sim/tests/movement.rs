//! Server-authoritative movement: speed cap, teleport attempts, walls and
//! the map edge, and when corrections are (and are not) sent.

mod common;

use battlegrid_protocol::{MoveIntent, PlayerId, Position, ServerMessage, Vec2};
use battlegrid_sim::{AnalyticsEvent, CorrectionReason, Input, MapSpec, SimSettings};
use common::{messages_to, small_map, walk, world};

fn corrections(messages: &[ServerMessage]) -> Vec<(u32, Position)> {
    messages
        .iter()
        .filter_map(|m| match m {
            ServerMessage::PositionCorrected { seq, position } => Some((*seq, *position)),
            _ => None,
        })
        .collect()
}

/// An honest intent moves the player by speed / tick rate per tick and
/// sends no correction.
#[test]
fn honest_intent_moves_without_correction() {
    let (mut sim, _) = world(
        small_map(),
        SimSettings::default(),
        &[(1, Position::new(100.0, 100.0))],
    );
    sim.push(walk(&sim, 1, 1, 1.0, 0.0, 40.0));
    let out = sim.step();
    assert!(corrections(&messages_to(&out, 1)).is_empty());
    assert_eq!(sim.position(PlayerId(1)), Some(Position::new(102.0, 100.0)));
    sim.step();
    assert_eq!(
        sim.position(PlayerId(1)),
        Some(Position::new(104.0, 100.0)),
        "the intent is standing"
    );
}

/// A speed hack is capped at max_speed and corrected with the intent's seq.
#[test]
fn speed_hack_is_capped_and_corrected() {
    let (mut sim, _) = world(
        small_map(),
        SimSettings::default(),
        &[(1, Position::new(100.0, 100.0))],
    );
    sim.push(walk(&sim, 1, 7, 0.0, 1.0, 10_000.0));
    let out = sim.step();
    let expected = Position::new(100.0, 104.0);
    assert_eq!(
        sim.position(PlayerId(1)),
        Some(expected),
        "moved by max_speed / tick_rate only"
    );
    assert_eq!(corrections(&messages_to(&out, 1)), vec![(7, expected)]);
    assert!(out.analytics.contains(&AnalyticsEvent::Corrected {
        id: PlayerId(1),
        reason: CorrectionReason::SpeedCapped
    }));
}

/// A teleport attempt (a prediction far from the server's position) is
/// corrected, and the player does not go there.
#[test]
fn teleport_attempt_is_corrected_not_honoured() {
    let (mut sim, _) = world(
        small_map(),
        SimSettings::default(),
        &[(1, Position::new(100.0, 100.0))],
    );
    sim.push(Input::Move {
        id: PlayerId(1),
        intent: MoveIntent {
            seq: 3,
            direction: Vec2 { x: 0.0, y: 0.0 },
            speed: 0.0,
            predicted: Position::new(250.0, 250.0),
        },
    });
    let out = sim.step();
    assert_eq!(sim.position(PlayerId(1)), Some(Position::new(100.0, 100.0)));
    assert_eq!(
        corrections(&messages_to(&out, 1)),
        vec![(3, Position::new(100.0, 100.0))]
    );
}

/// A 64x64 map of 16-unit tiles whose tile (2, 0) is blocked: x in
/// [32, 48), y in [0, 16).
fn wall_map() -> MapSpec {
    MapSpec::new(
        "wall",
        (64, 64),
        16,
        (1, 1),
        &[(2, 0)],
        vec![Position::new(1.0, 1.0)],
    )
    .unwrap()
}

/// Blocked tiles stop movement along the blocked axis only (sliding), and
/// the map edge stops it too.
#[test]
fn walls_and_map_edge_stop_movement() {
    let (mut sim, _) = world(
        wall_map(),
        SimSettings::default(),
        &[
            (1, Position::new(30.0, 8.0)),
            (2, Position::new(62.0, 60.0)),
        ],
    );
    // Diagonal into the wall: x is blocked, y slides.
    let diagonal = std::f32::consts::FRAC_1_SQRT_2;
    sim.push(walk(&sim, 1, 1, diagonal, diagonal, 80.0));
    sim.push(walk(&sim, 2, 1, 1.0, 0.0, 80.0));
    sim.step();
    // A step that would end inside the wall is not taken (no partial steps).
    let p1 = sim.position(PlayerId(1)).unwrap();
    assert_eq!(p1.x, 30.0, "blocked along x: {p1:?}");
    assert!(p1.y > 8.0, "slides along y: {p1:?}");
    sim.step();
    let p1b = sim.position(PlayerId(1)).unwrap();
    assert_eq!(p1b.x, 30.0, "still blocked along x");
    assert!(p1b.y > p1.y, "still sliding");
    // Once past the wall's row (y >= 16), x is free again.
    for _ in 0..4 {
        sim.step();
    }
    assert!(sim.position(PlayerId(1)).unwrap().x > 30.0);
    assert_eq!(
        sim.position(PlayerId(2)),
        Some(Position::new(62.0, 60.0)),
        "the edge stops it"
    );
}

/// The positions a player was told of itself in `out` (its own records in
/// its `StateUpdate` datagrams).
fn own_records(out: &battlegrid_sim::TickOutput, id: u64) -> Vec<Position> {
    messages_to(out, id)
        .iter()
        .filter_map(|m| match m {
            ServerMessage::StateUpdate { moved, .. } => Some(moved),
            _ => None,
        })
        .flatten()
        .filter(|s| s.id == PlayerId(id))
        .map(|s| s.position)
        .collect()
}

/// A walking player is told its own position every tick, also while a wall
/// stops it (where a client's dead reckoning would drift), and no longer
/// once it stands still.
#[test]
fn walking_player_is_told_its_own_position() {
    let (mut sim, _) = world(
        wall_map(),
        SimSettings::default(),
        &[(1, Position::new(24.0, 8.0))],
    );
    sim.push(walk(&sim, 1, 1, 1.0, 0.0, 80.0));
    let out = sim.step();
    assert_eq!(
        own_records(&out, 1),
        vec![Position::new(28.0, 8.0)],
        "walks"
    );
    for _ in 0..3 {
        let out = sim.step();
        let at = sim.position(PlayerId(1)).unwrap();
        assert_eq!(at.x, 28.0, "the wall at x = 32 stops it");
        assert_eq!(own_records(&out, 1), vec![at], "told while pushing");
    }
    sim.push(walk(&sim, 1, 2, 0.0, 0.0, 0.0));
    let out = sim.step();
    assert!(
        own_records(&out, 1).is_empty(),
        "a player standing still is not told"
    );
}

/// Non-finite numbers in an intent are refused with an error and change
/// nothing (no panic, the old intent stays).
#[test]
fn non_finite_intent_is_refused() {
    let (mut sim, _) = world(
        small_map(),
        SimSettings::default(),
        &[(1, Position::new(100.0, 100.0))],
    );
    sim.push(walk(&sim, 1, 1, 1.0, 0.0, 20.0));
    sim.step();
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        sim.push(Input::Move {
            id: PlayerId(1),
            intent: MoveIntent {
                seq: 2,
                direction: Vec2 { x: bad, y: 0.0 },
                speed: bad,
                predicted: Position::new(bad, bad),
            },
        });
        let out = sim.step();
        let messages = messages_to(&out, 1);
        assert!(
            messages.iter().any(|m| matches!(m, ServerMessage::Error { code, .. } if *code == battlegrid_protocol::ErrorCode::INVALID_VALUE)),
            "{messages:?}"
        );
        assert!(corrections(&messages).is_empty());
    }
    // The honest intent kept applying: 5 ticks of 1 unit.
    assert_eq!(sim.position(PlayerId(1)), Some(Position::new(104.0, 100.0)));
}
