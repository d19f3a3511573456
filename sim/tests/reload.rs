//! Swapping the map of a running world (`Simulation::replace_map`): players
//! on newly blocked tiles or outside a smaller map move to the nearest free
//! tile (checked against brute force), region grids change under players on
//! borders, every player hears exactly one `MapChanged`, views stay equal to
//! the brute-force oracle with no duplicate introductions, and the whole
//! thing is deterministic.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use battlegrid_protocol::{PlayerId, Position, RegionId, ServerMessage};
use battlegrid_sim::testing::decode_outbox;
use battlegrid_sim::testing::random_free_position;
use battlegrid_sim::{Input, MapSpec, RelocationReason, SimSettings, Simulation, TickOutput};
use common::{ClientViews, expected_views, messages_to, walk, world};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Lattice points every 8 units over a 256-unit map: tile corners, tile
/// centres and region borders (tiles are 16 units) are all hit exactly.
fn lattice() -> impl Strategy<Value = Position> {
    (0u8..32, 0u8..32).prop_map(|(x, y)| Position::new(f32::from(x) * 8.0, f32::from(y) * 8.0))
}

fn players(n: usize) -> impl Strategy<Value = Vec<(u64, Position)>> {
    prop::collection::vec(lattice(), 1..n).prop_map(|ps| {
        ps.into_iter()
            .enumerate()
            .map(|(i, p)| (i as u64 + 1, p))
            .collect()
    })
}

/// A 256x256 map of 16-unit tiles with `blocked` tiles (the spawn tile
/// (0, 0) is kept free) and a `grid x grid` region grid.
fn map_with(blocked: &BTreeSet<(u32, u32)>, grid: u32) -> MapSpec {
    let blocked: Vec<(u32, u32)> = blocked.iter().copied().filter(|&t| t != (0, 0)).collect();
    MapSpec::new(
        "arena",
        (256, 256),
        16,
        (grid, grid),
        &blocked,
        vec![Position::new(8.0, 8.0)],
    )
    .unwrap()
}

/// Brute force: the centre of the free tile nearest to `p` among the
/// `tiles x tiles` tiles of `size` units, ties to the lower row then column.
fn brute_nearest(blocked: &BTreeSet<(u32, u32)>, tiles: u32, size: f32, p: Position) -> Position {
    let mut best: Option<(f64, u32, u32)> = None;
    for ty in 0..tiles {
        for tx in 0..tiles {
            if blocked.contains(&(tx, ty)) && (tx, ty) != (0, 0) {
                continue;
            }
            let (cx, cy) = ((tx as f32 + 0.5) * size, (ty as f32 + 0.5) * size);
            let (dx, dy) = (
                f64::from(cx) - f64::from(p.x),
                f64::from(cy) - f64::from(p.y),
            );
            let candidate = (dx * dx + dy * dy, ty, tx);
            if best.is_none_or(|b| candidate < b) {
                best = Some(candidate);
            }
        }
    }
    let (_, ty, tx) = best.unwrap();
    Position::new((tx as f32 + 0.5) * size, (ty as f32 + 0.5) * size)
}

/// Every `MapChanged` of one tick, by recipient; fails on a second one.
fn map_changes(out: &TickOutput) -> BTreeMap<PlayerId, ServerMessage> {
    let mut seen = BTreeMap::new();
    for (to, message) in decode_outbox(out) {
        if let ServerMessage::MapChanged { .. } = message {
            assert!(
                seen.insert(to, message).is_none(),
                "{to:?} got two MapChanged in one tick"
            );
        }
    }
    seen
}

fn without_empty(
    views: BTreeMap<PlayerId, BTreeMap<PlayerId, Position>>,
) -> BTreeMap<PlayerId, BTreeMap<PlayerId, Position>> {
    views.into_iter().filter(|(_, v)| !v.is_empty()).collect()
}

/// The regions as the world keeps them agree with the map: every player is
/// a member of the region containing its position, and of no other.
fn assert_membership(sim: &Simulation) {
    let snapshot = sim.snapshot_reader().load();
    assert_eq!(snapshot.player_count(), sim.player_count());
    for (id, at, region) in snapshot.iter() {
        assert_eq!(sim.position(id), Some(at));
        assert_eq!(region, sim.region_at(at), "{id:?} at {at:?}");
        assert_eq!(sim.region_of(id), Some(region));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random players, then a new version of the map with random blocked
    /// tiles and another region grid: exactly the players on newly blocked
    /// tiles move, each to the brute-force nearest free tile; each player
    /// gets one MapChanged with its position, region and relocation flag;
    /// views rebuilt from the messages equal the brute-force oracle (no
    /// duplicate EntitiesEntered) right after the swap and after walking.
    #[test]
    fn swap_relocates_to_nearest_free_tile_and_keeps_views(
        players in players(80),
        blocked in prop::collection::btree_set((0u32..16, 0u32..16), 0..120),
        grids in (prop::sample::select(vec![1u32, 2, 4]), prop::sample::select(vec![1u32, 2, 4, 8])),
        walkers in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 0..20),
    ) {
        let settings = SimSettings::default();
        let (mut sim, joined) = world(map_with(&BTreeSet::new(), grids.0), settings.clone(), &players);
        let mut views = ClientViews::default();
        views.apply(&joined);
        // Some players walk through the swap, so intents and seq carry over.
        for (i, &(who, heading)) in walkers.iter().enumerate() {
            let id = players[who.index(players.len())].0;
            let angle = f32::from(heading) * std::f32::consts::FRAC_PI_4;
            sim.push(walk(&sim, id, i as u32 + 1, angle.cos(), angle.sin(), 40.0));
        }
        views.apply(&sim.step());
        let before: BTreeMap<PlayerId, Position> =
            sim.player_ids().into_iter().map(|id| (id, sim.position(id).unwrap())).collect();

        let relocations = sim.replace_map(map_with(&blocked, grids.1));

        let mut expected_moves = BTreeMap::new();
        for (&id, &at) in &before {
            let tile = ((at.x / 16.0) as u32, (at.y / 16.0) as u32);
            if blocked.contains(&tile) && tile != (0, 0) {
                expected_moves.insert(id, brute_nearest(&blocked, 16, 16.0, at));
            }
        }
        let moved: BTreeMap<PlayerId, Position> = relocations.iter().map(|r| (r.id, r.to)).collect();
        prop_assert_eq!(&moved, &expected_moves);
        for r in &relocations {
            prop_assert_eq!(r.from, before[&r.id]);
            prop_assert_eq!(r.why, RelocationReason::TileBlocked);
            prop_assert_eq!(r.to_region, sim.region_at(r.to));
            prop_assert_eq!(sim.position(r.id), Some(r.to));
        }
        for (&id, &at) in &before {
            let now = sim.position(id).unwrap();
            prop_assert_eq!(now, expected_moves.get(&id).copied().unwrap_or(at));
            prop_assert_eq!(sim.region_of(id), Some(sim.region_at(now)));
        }

        let out = sim.step();
        let changes = map_changes(&out);
        prop_assert_eq!(changes.keys().copied().collect::<Vec<_>>(), sim.player_ids());
        for (id, message) in &changes {
            let ServerMessage::MapChanged { map, region, position, relocated, .. } = message else {
                unreachable!()
            };
            prop_assert_eq!(map, &sim.map_info());
            prop_assert_eq!(*position, sim.position(*id).unwrap());
            prop_assert_eq!(*relocated, expected_moves.contains_key(id));
            prop_assert_eq!(*region, sim.region_at(*position));
        }
        views.apply(&out);
        assert_membership(&sim);
        prop_assert_eq!(without_empty(views.views.clone()), without_empty(expected_views(&sim, settings.view_radius)));
        for _ in 0..3 {
            let out = sim.step();
            prop_assert!(map_changes(&out).is_empty(), "MapChanged is sent once");
            views.apply(&out);
            prop_assert_eq!(without_empty(views.views.clone()), without_empty(expected_views(&sim, settings.view_radius)));
        }
    }
}

/// Players standing on the borders of a 4x4 grid (and in its corners) go
/// through 2x2 -> 4x4 -> 2x2: each ends in the region containing its
/// position, MapChanged names that region, and broadcasts afterwards reach
/// exactly the new regions.
#[test]
fn region_grid_changes_under_players_on_borders() {
    let mut players = Vec::new();
    for y in [0.0, 63.9, 64.0, 128.0, 192.0, 255.0] {
        for x in [0.0, 64.0, 127.9, 128.0, 191.99, 192.0, 255.9] {
            players.push((players.len() as u64 + 1, Position::new(x, y)));
        }
    }
    let open = |grid| MapSpec::open(256, 256, grid, grid).unwrap();
    let (mut sim, joined) = world(open(2), SimSettings::default(), &players);
    let mut views = ClientViews::default();
    views.apply(&joined);
    for grid in [4, 2, 4] {
        assert!(sim.replace_map(open(grid)).is_empty(), "nothing is blocked");
        let out = sim.step();
        views.apply(&out);
        assert_membership(&sim);
        assert_eq!(sim.map_info().region_cols, grid);
        for (id, message) in map_changes(&out) {
            let ServerMessage::MapChanged {
                region, relocated, ..
            } = message
            else {
                unreachable!()
            };
            assert_eq!(region, sim.region_at(sim.position(id).unwrap()));
            assert!(!relocated);
        }
        assert_eq!(
            without_empty(views.views.clone()),
            without_empty(expected_views(&sim, 48.0))
        );
        // Everyone broadcasts; each hears exactly its own region's players.
        for &(id, _) in &players {
            sim.push(Input::Broadcast {
                id: PlayerId(id),
                text: "hi".into(),
            });
        }
        let out = sim.step();
        let mut heard: BTreeMap<PlayerId, BTreeSet<PlayerId>> = BTreeMap::new();
        for (to, message) in decode_outbox(&out) {
            if let ServerMessage::BroadcastHeard {
                speaker, region, ..
            } = message
            {
                assert_eq!(region, sim.region_of(speaker).unwrap());
                heard.entry(to).or_default().insert(speaker);
            }
        }
        for &(id, _) in &players {
            let me = sim.region_of(PlayerId(id)).unwrap();
            let expected: BTreeSet<PlayerId> = sim
                .player_ids()
                .into_iter()
                .filter(|&p| sim.region_of(p) == Some(me))
                .collect();
            assert_eq!(heard[&PlayerId(id)], expected);
        }
        views.apply(&out);
    }
}

/// A map shrinking from 256 to 128 units moves everyone outside it onto the
/// centre of the nearest tile inside (an open map: the edge tile nearest to
/// the clamped position); players inside stay put. Growing back moves no one.
#[test]
fn shrinking_map_clamps_players_outside() {
    let players = [
        (1, Position::new(10.0, 10.0)),
        (2, Position::new(200.0, 50.0)),
        (3, Position::new(250.0, 250.0)),
        (4, Position::new(60.0, 128.0)),
        (5, Position::new(127.5, 127.5)),
    ];
    let (mut sim, _) = world(
        MapSpec::open(256, 256, 2, 2).unwrap(),
        SimSettings::default(),
        &players,
    );
    let small = MapSpec::open(128, 128, 2, 2).unwrap();
    let relocations = sim.replace_map(small);
    let moved: Vec<(u64, Position, RelocationReason)> =
        relocations.iter().map(|r| (r.id.0, r.to, r.why)).collect();
    let outside = RelocationReason::OutsideMap;
    assert_eq!(
        moved,
        vec![
            (2, Position::new(120.0, 56.0), outside),
            (3, Position::new(120.0, 120.0), outside),
            (4, Position::new(56.0, 120.0), outside),
        ]
    );
    assert_eq!(relocations[1].from_region, RegionId(3));
    assert_eq!(relocations[1].to_region, RegionId(3));
    assert_eq!(sim.position(PlayerId(5)), Some(Position::new(127.5, 127.5)));
    let out = sim.step();
    let changes = map_changes(&out);
    assert_eq!(changes.len(), 5);
    let ServerMessage::MapChanged {
        relocated, reason, ..
    } = &changes[&PlayerId(3)]
    else {
        unreachable!()
    };
    assert!(*relocated);
    assert!(reason.contains("outside"), "{reason}");
    assert_membership(&sim);
    assert!(
        sim.replace_map(MapSpec::open(256, 256, 2, 2).unwrap())
            .is_empty()
    );
}

/// MapChanged carries the walking player's last intent seq and its position
/// after the tick's step (like PositionCorrected); the intent keeps
/// applying. A player who leaves before the next tick gets nothing, a player
/// who joins then gets Welcome with the new map and no MapChanged, and two
/// swaps between ticks give one MapChanged that reports the relocation.
#[test]
fn map_changed_is_like_a_correction_and_sent_once() {
    let (mut sim, _) = world(
        MapSpec::open(256, 256, 2, 2).unwrap(),
        SimSettings::default(),
        &[
            (1, Position::new(100.0, 100.0)),
            (2, Position::new(40.0, 40.0)),
        ],
    );
    sim.push(walk(&sim, 1, 7, 1.0, 0.0, 40.0));
    sim.step();
    let walled = MapSpec::new(
        "open",
        (256, 256),
        16,
        (4, 4),
        &[(2, 2)],
        vec![Position::new(8.0, 8.0)],
    )
    .unwrap();
    assert_eq!(sim.replace_map(walled).len(), 1, "player 2 stood on (2, 2)");
    // A second version before the tick: player 2's tile is free again.
    let after_relocation = sim.position(PlayerId(2)).unwrap();
    assert!(
        sim.replace_map(MapSpec::open(256, 256, 4, 4).unwrap())
            .is_empty()
    );
    sim.push(Input::Leave { id: PlayerId(2) });
    sim.push(Input::Join {
        id: PlayerId(3),
        name: "late".into(),
        position: None,
    });
    let at = sim.position(PlayerId(1)).unwrap();
    let out = sim.step();
    assert_eq!(at.x + 2.0, sim.position(PlayerId(1)).unwrap().x);
    let changes = map_changes(&out);
    assert_eq!(changes.keys().copied().collect::<Vec<_>>(), [PlayerId(1)]);
    assert_eq!(
        changes[&PlayerId(1)],
        ServerMessage::MapChanged {
            map: sim.map_info(),
            region: sim.region_of(PlayerId(1)).unwrap(),
            position: sim.position(PlayerId(1)).unwrap(),
            seq: 7,
            relocated: false,
            reason: "the map was updated".into(),
        }
    );
    let welcome = messages_to(&out, 3);
    assert!(
        matches!(&welcome[0], ServerMessage::Welcome { map, .. } if map.region_cols == 4),
        "{welcome:?}"
    );
    assert_ne!(after_relocation, Position::new(40.0, 40.0));

    // Two swaps, the first relocating: one MapChanged, flagged relocated.
    let blocked_under_1 = {
        let p = sim.position(PlayerId(1)).unwrap();
        ((p.x / 16.0) as u32, (p.y / 16.0) as u32)
    };
    let walled = MapSpec::new(
        "w",
        (256, 256),
        16,
        (2, 2),
        &[blocked_under_1],
        vec![Position::new(8.0, 8.0)],
    )
    .unwrap();
    assert_eq!(sim.replace_map(walled).len(), 1);
    assert!(
        sim.replace_map(MapSpec::open(256, 256, 2, 2).unwrap())
            .is_empty()
    );
    let changes = map_changes(&sim.step());
    assert!(matches!(
        changes[&PlayerId(1)],
        ServerMessage::MapChanged {
            relocated: true,
            ..
        }
    ));
    assert_eq!(changes.len(), 2);
}

/// Two worlds fed the same inputs and the same swap produce the same
/// outboxes, byte for byte, before, at and after the swap; with 300 random
/// walkers, half of them cut off by the smaller map, views stay equal to
/// the oracle throughout.
#[test]
fn swaps_are_deterministic() {
    let run = || {
        let map = MapSpec::open(512, 512, 2, 2).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let players: Vec<(u64, Position)> = (1..=300)
            .map(|id| (id, random_free_position(&map, &mut rng)))
            .collect();
        let (mut sim, joined) = world(map, SimSettings::default(), &players);
        let mut views = ClientViews::default();
        views.apply(&joined);
        let mut walkers = battlegrid_sim::testing::Walkers::new(300, 9);
        walkers.start(&mut sim);
        let mut outboxes = Vec::new();
        for tick in 0..8 {
            if tick == 3 {
                let mut blocked: Vec<(u32, u32)> =
                    (0..16).flat_map(|x| [(x, 10), (x, 11)]).collect();
                blocked.extend((0..32).map(|y| (7, y)));
                let map = MapSpec::new(
                    "maze",
                    (256, 512),
                    16,
                    (4, 8),
                    &blocked,
                    vec![Position::new(8.0, 8.0)],
                )
                .unwrap();
                let relocations = sim.replace_map(map);
                assert!(relocations.len() > 100, "half the world is cut off");
                outboxes.push(vec![(PlayerId(0), format!("{relocations:?}").into())]);
            }
            walkers.drive(&mut sim);
            let out = sim.step();
            views.apply(&out);
            assert_eq!(
                without_empty(views.views.clone()),
                without_empty(expected_views(&sim, 48.0))
            );
            outboxes.push(out.outbox.iter().map(|e| (e.to, e.bytes.clone())).collect());
        }
        outboxes
    };
    assert_eq!(run(), run());
}

/// A player moved to another map (the server's Leave there, Arrive here)
/// is greeted with one MapChanged for the new map (relocated, seq 0, a
/// spawn point, an over-long reason cut at a character boundary) and no
/// Welcome; its new neighbours are introduced to it and it to them, and
/// the old map's players see it leave.
#[test]
fn arriving_from_another_map_is_a_map_change() {
    let (mut old, _) = world(
        MapSpec::open(256, 256, 2, 2).unwrap(),
        SimSettings::default(),
        &[
            (1, Position::new(100.0, 100.0)),
            (2, Position::new(110.0, 100.0)),
        ],
    );
    let harbour = MapSpec::new(
        "harbour",
        (512, 512),
        16,
        (2, 2),
        &[],
        vec![Position::new(300.0, 300.0)],
    )
    .unwrap();
    let (mut new, _) = world(
        harbour,
        SimSettings::default(),
        &[(3, Position::new(310.0, 300.0))],
    );
    old.push(Input::Leave { id: PlayerId(1) });
    new.push(Input::Arrive {
        id: PlayerId(1),
        name: "p1".into(),
        position: None,
        reason: "é".repeat(400),
    });
    let left = old.step();
    let arrived = new.step();
    assert!(
        messages_to(&left, 2).contains(&ServerMessage::EntitiesLeft {
            ids: vec![PlayerId(1)]
        })
    );
    assert!(messages_to(&left, 1).is_empty());
    let told = messages_to(&arrived, 1);
    let ServerMessage::MapChanged {
        map,
        region,
        position,
        seq,
        relocated,
        reason,
    } = &told[0]
    else {
        panic!("{told:?}")
    };
    assert_eq!(map.name, "harbour");
    assert_eq!(
        (*position, *region, *seq, *relocated),
        (Position::new(300.0, 300.0), RegionId(3), 0, true)
    );
    assert_eq!(reason, &"é".repeat(256));
    assert!(
        !told
            .iter()
            .any(|m| matches!(m, ServerMessage::Welcome { .. }))
    );
    assert_eq!(map_changes(&arrived).len(), 1);
    assert!(told.iter().any(|m| matches!(m,
        ServerMessage::EntitiesEntered { entities } if entities.iter().any(|e| e.id == PlayerId(3)))));
    assert!(messages_to(&arrived, 3).iter().any(|m| matches!(m,
        ServerMessage::EntitiesEntered { entities } if entities.iter().any(|e| e.id == PlayerId(1)))));
}
