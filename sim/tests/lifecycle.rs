//! Joining, leaving, persistence requests, the snapshot, and refusal of
//! invalid inputs.

mod common;

use battlegrid_protocol::messages::{MAX_NAME_LEN, MAX_TEXT_LEN};
use battlegrid_protocol::{ErrorCode, PlayerId, Position, RegionId, ServerMessage};
use battlegrid_sim::region::{Members, RegionDirectory, RegionIndex};
use battlegrid_sim::{AnalyticsEvent, Input, MapSpec, SavePosition, SimSettings, Simulation};
use common::{messages_to, small_map, walk, world};

fn error_codes(messages: &[ServerMessage]) -> Vec<ErrorCode> {
    messages
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Error { code, .. } => Some(*code),
            _ => None,
        })
        .collect()
}

/// Whether `id` appears anywhere in the regions: member lists, indices or
/// any member's view.
fn mentioned_anywhere(sim: &Simulation, id: PlayerId) -> bool {
    let world = sim.world();
    world.resource::<RegionDirectory>().0.iter().any(|&region| {
        let members = world.get::<Members>(region).unwrap();
        let index = world.get::<RegionIndex>(region).unwrap();
        members.get(id).is_some()
            || index.0.iter().any(|(p, _)| p == id)
            || members
                .iter()
                .any(|m| members.view(m).iter().any(|s| s.id == id))
    })
}

/// A joining player is welcomed with its region, position and the map, and
/// players in view are told it entered.
#[test]
fn join_welcomes_and_introduces() {
    let (mut sim, _) = world(
        small_map(),
        SimSettings::default(),
        &[(1, Position::new(100.0, 100.0))],
    );
    sim.push(Input::Join {
        id: PlayerId(2),
        name: "bob".into(),
        position: Some(Position::new(110.0, 100.0)),
    });
    let out = sim.step();
    let to_bob = messages_to(&out, 2);
    match &to_bob[0] {
        ServerMessage::Welcome {
            player_id,
            region,
            position,
            tick_rate_hz,
            map,
        } => {
            assert_eq!(
                (*player_id, *region, *position),
                (PlayerId(2), RegionId(5), Position::new(110.0, 100.0))
            );
            assert_eq!(*tick_rate_hz, 20);
            assert_eq!((map.width, map.region_cols), (256, 4));
        }
        other => panic!("first message is {other:?}"),
    }
    assert!(to_bob.iter().any(|m| matches!(m, ServerMessage::EntitiesEntered { entities } if entities[0].id == PlayerId(1))));
    let to_one = messages_to(&out, 1);
    assert!(
        matches!(&to_one[..], [ServerMessage::EntitiesEntered { entities }] if entities[0].name == "bob")
    );
}

/// Joining on a blocked tile, off the map, at a non-finite position or with
/// no saved position lands on a spawn point chosen by the seeded RNG.
#[test]
fn bad_join_positions_fall_back_to_spawn_points() {
    let spawns = vec![
        Position::new(8.0, 8.0),
        Position::new(56.0, 56.0),
        Position::new(8.0, 56.0),
    ];
    let map = MapSpec::new("m", (64, 64), 16, (2, 2), &[(1, 1)], spawns.clone()).unwrap();
    let requested = [
        Some(Position::new(20.0, 20.0)),
        Some(Position::new(-5.0, 3.0)),
        Some(Position::new(f32::NAN, 3.0)),
        Some(Position::new(3.0, f32::INFINITY)),
        None,
    ];
    let run = || {
        let mut sim = Simulation::new(map.clone(), SimSettings::default(), 9);
        for (i, position) in requested.iter().enumerate() {
            sim.push(Input::Join {
                id: PlayerId(i as u64),
                name: "x".into(),
                position: *position,
            });
        }
        sim.step();
        (0..requested.len())
            .map(|i| sim.position(PlayerId(i as u64)).unwrap())
            .collect::<Vec<_>>()
    };
    let placed = run();
    assert!(placed.iter().all(|p| spawns.contains(p)), "{placed:?}");
    assert_eq!(placed, run(), "the choice is seeded");
}

/// Leave removes the player from every index, member list and view in the
/// same tick, tells its watchers, and asks for its position to be saved.
#[test]
fn leave_leaves_nothing_behind() {
    let (mut sim, _) = world(
        small_map(),
        SimSettings::default(),
        &[
            (1, Position::new(62.0, 62.0)),
            (2, Position::new(70.0, 62.0)),
            (3, Position::new(62.0, 70.0)),
            (4, Position::new(200.0, 200.0)),
        ],
    );
    sim.push(walk(&sim, 1, 1, 1.0, 1.0, 20.0));
    sim.step();
    assert!(mentioned_anywhere(&sim, PlayerId(1)));
    let at = sim.position(PlayerId(1)).unwrap();
    sim.push(Input::Leave { id: PlayerId(1) });
    let out = sim.step();
    assert!(!mentioned_anywhere(&sim, PlayerId(1)));
    assert_eq!(sim.position(PlayerId(1)), None);
    assert_eq!(sim.player_count(), 3);
    assert_eq!(sim.snapshot_reader().load().find(PlayerId(1)), None);
    for watcher in [2, 3] {
        assert_eq!(
            messages_to(&out, watcher),
            vec![ServerMessage::EntitiesLeft {
                ids: vec![PlayerId(1)]
            }]
        );
    }
    assert!(messages_to(&out, 4).is_empty());
    assert_eq!(
        out.saves,
        vec![SavePosition {
            id: PlayerId(1),
            position: at
        }]
    );
    assert!(
        out.analytics
            .iter()
            .any(|e| matches!(e, AnalyticsEvent::Left { id, .. } if *id == PlayerId(1)))
    );
    // A second leave, or inputs of the departed player, change nothing.
    sim.push(Input::Leave { id: PlayerId(1) });
    sim.push(Input::Shout {
        id: PlayerId(1),
        text: "ghost".into(),
    });
    let out = sim.step();
    assert!(out.outbox.is_empty() && out.saves.is_empty());
}

/// A leave and a join of the same id in one tick (a reconnect) work.
#[test]
fn reconnect_within_a_tick() {
    let (mut sim, _) = world(
        small_map(),
        SimSettings::default(),
        &[(1, Position::new(10.0, 10.0))],
    );
    sim.push(Input::Leave { id: PlayerId(1) });
    sim.push(Input::Join {
        id: PlayerId(1),
        name: "again".into(),
        position: Some(Position::new(20.0, 20.0)),
    });
    let out = sim.step();
    assert!(matches!(
        messages_to(&out, 1)[0],
        ServerMessage::Welcome { .. }
    ));
    assert_eq!(sim.position(PlayerId(1)), Some(Position::new(20.0, 20.0)));
    assert_eq!(sim.player_count(), 1);
}

/// Invalid inputs get an Error with a stable code and change nothing;
/// inputs of unknown players are dropped without a message.
#[test]
fn invalid_inputs_are_refused() {
    let (mut sim, _) = world(
        small_map(),
        SimSettings::default(),
        &[(1, Position::new(10.0, 10.0))],
    );
    sim.push(Input::Shout {
        id: PlayerId(1),
        text: "x".repeat(MAX_TEXT_LEN + 1),
    });
    sim.push(Input::Broadcast {
        id: PlayerId(1),
        text: "é".repeat(MAX_TEXT_LEN / 2 + 1),
    });
    sim.push(Input::Join {
        id: PlayerId(1),
        name: "dup".into(),
        position: None,
    });
    sim.push(Input::Join {
        id: PlayerId(2),
        name: "n".repeat(MAX_NAME_LEN + 1),
        position: None,
    });
    sim.push(Input::Shout {
        id: PlayerId(99),
        text: "who?".into(),
    });
    sim.push(Input::Move {
        id: PlayerId(99),
        intent: battlegrid_protocol::MoveIntent {
            seq: 1,
            direction: battlegrid_protocol::Vec2 { x: 1.0, y: 0.0 },
            speed: 1.0,
            predicted: Position::new(0.0, 0.0),
        },
    });
    let out = sim.step();
    assert_eq!(
        error_codes(&messages_to(&out, 1)),
        vec![
            ErrorCode::UNEXPECTED_MESSAGE,
            ErrorCode::TEXT_TOO_LONG,
            ErrorCode::TEXT_TOO_LONG
        ]
    );
    assert_eq!(
        error_codes(&messages_to(&out, 2)),
        vec![ErrorCode::TEXT_TOO_LONG]
    );
    assert!(messages_to(&out, 99).is_empty());
    assert_eq!(sim.player_count(), 1);
    assert!(!messages_to(&out, 1).iter().any(|m| matches!(
        m,
        ServerMessage::ShoutHeard { .. } | ServerMessage::BroadcastHeard { .. }
    )));
}

/// More inputs than the per-tick budget are refused with one warning,
/// `COMMANDS_DROPPED`, which leaves the connection open (closing a flooder
/// is the server's decision, over several ticks, with `RATE_LIMITED`).
#[test]
fn command_budget_is_enforced() {
    let settings = SimSettings::default();
    let (mut sim, _) = world(
        small_map(),
        settings.clone(),
        &[(1, Position::new(10.0, 10.0))],
    );
    for i in 0..settings.max_commands_per_tick + 5 {
        sim.push(Input::Shout {
            id: PlayerId(1),
            text: format!("{i}"),
        });
    }
    let out = sim.step();
    let messages = messages_to(&out, 1);
    assert_eq!(error_codes(&messages), vec![ErrorCode::COMMANDS_DROPPED]);
    let heard = messages
        .iter()
        .filter(|m| matches!(m, ServerMessage::ShoutHeard { .. }))
        .count();
    assert_eq!(heard as u32, settings.max_commands_per_tick);
}

/// Players that moved are saved once per save interval; players that did
/// not move are not.
#[test]
fn periodic_saves_only_for_movers() {
    let settings = SimSettings {
        save_interval_ticks: 10,
        ..SimSettings::default()
    };
    let (mut sim, _) = world(
        small_map(),
        settings,
        &[
            (1, Position::new(10.0, 10.0)),
            (2, Position::new(100.0, 100.0)),
        ],
    );
    sim.push(walk(&sim, 1, 1, 1.0, 0.0, 20.0));
    let mut saves = Vec::new();
    for _ in 0..30 {
        let out = sim.step();
        saves.extend(out.saves.iter().map(|s| (out.tick, s.id)));
    }
    // Player 1 is due on ticks where tick % 10 == 1: ticks 11, 21, 31.
    assert_eq!(
        saves,
        vec![(11, PlayerId(1)), (21, PlayerId(1)), (31, PlayerId(1))]
    );
}

/// The snapshot is readable from another thread and reflects the last tick.
#[test]
fn snapshot_is_readable_from_another_thread() {
    let (mut sim, _) = world(
        small_map(),
        SimSettings::default(),
        &[(1, Position::new(10.0, 10.0))],
    );
    let reader = sim.snapshot_reader();
    sim.push(walk(&sim, 1, 1, 0.0, 1.0, 20.0));
    sim.step();
    let seen = std::thread::spawn(move || {
        let snapshot = reader.load();
        (
            snapshot.tick(),
            snapshot.find(PlayerId(1)),
            snapshot.player_count(),
        )
    })
    .join()
    .unwrap();
    assert_eq!(seen, (2, Some((Position::new(10.0, 11.0), RegionId(0))), 1));
}
