//! Recipients of shouts, broadcasts and area-of-interest updates compared
//! with brute force on random worlds. Positions sit on a coarse lattice that
//! includes region borders (multiples of 64) and pairs exactly at the view
//! and shout radii, where off-by-one bugs live.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use battlegrid_protocol::{PlayerId, Position, ServerMessage};
use battlegrid_sim::testing::decode_outbox;
use battlegrid_sim::{Input, SimSettings};
use common::{ClientViews, expected_views, small_map, walk, world};
use proptest::prelude::*;

/// Lattice points: every 16 units, so borders, radius 48 and radius 64 are
/// hit exactly (0..=240 stays inside the 256-unit map).
fn lattice() -> impl Strategy<Value = Position> {
    (0u8..16, 0u8..16).prop_map(|(x, y)| Position::new(f32::from(x) * 16.0, f32::from(y) * 16.0))
}

fn players() -> impl Strategy<Value = Vec<(u64, Position)>> {
    players_up_to(60)
}

fn players_up_to(n: usize) -> impl Strategy<Value = Vec<(u64, Position)>> {
    prop::collection::vec(lattice(), 1..n).prop_map(|ps| {
        ps.into_iter()
            .enumerate()
            .map(|(i, p)| (i as u64 + 1, p))
            .collect()
    })
}

/// Who heard what, per speaker, from one tick's outbox.
fn heard(
    out: &battlegrid_sim::TickOutput,
) -> (
    BTreeMap<PlayerId, BTreeSet<PlayerId>>,
    BTreeMap<PlayerId, BTreeSet<PlayerId>>,
) {
    let (mut shouts, mut broadcasts) = (BTreeMap::new(), BTreeMap::new());
    for (to, message) in decode_outbox(out) {
        match message {
            ServerMessage::ShoutHeard { speaker, .. } => {
                assert!(
                    shouts
                        .entry(speaker)
                        .or_insert_with(BTreeSet::new)
                        .insert(to),
                    "duplicate shout delivery"
                );
            }
            ServerMessage::BroadcastHeard { speaker, .. } => {
                assert!(
                    broadcasts
                        .entry(speaker)
                        .or_insert_with(BTreeSet::new)
                        .insert(to),
                    "duplicate broadcast delivery"
                );
            }
            _ => {}
        }
    }
    (shouts, broadcasts)
}

fn without_empty(
    views: BTreeMap<PlayerId, BTreeMap<PlayerId, Position>>,
) -> BTreeMap<PlayerId, BTreeMap<PlayerId, Position>> {
    views.into_iter().filter(|(_, v)| !v.is_empty()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A shout reaches exactly the players within the shout radius of the
    /// speaker (speaker included), across region borders; a broadcast
    /// reaches exactly the speaker's region.
    #[test]
    fn shout_and_broadcast_match_brute_force(
        players in players(),
        speakers in prop::collection::vec(any::<prop::sample::Index>(), 1..6),
    ) {
        let settings = SimSettings::default();
        let (mut sim, _) = world(small_map(), settings.clone(), &players);
        let speakers: BTreeSet<u64> = speakers.iter().map(|i| players[i.index(players.len())].0).collect();
        for &id in &speakers {
            sim.push(Input::Shout { id: PlayerId(id), text: "hi".into() });
            sim.push(Input::Broadcast { id: PlayerId(id), text: "all".into() });
        }
        let out = sim.step();
        let (shouts, broadcasts) = heard(&out);
        let snapshot = sim.snapshot_reader().load();
        let all: Vec<_> = snapshot.iter().collect();
        let r = settings.shout_radius;
        for &speaker in &speakers {
            let speaker = PlayerId(speaker);
            let (at, region) = snapshot.find(speaker).unwrap();
            let expected_shout: BTreeSet<_> = all.iter().filter(|p| p.1.distance_squared(at) <= r * r).map(|p| p.0).collect();
            prop_assert_eq!(shouts.get(&speaker).cloned().unwrap_or_default(), expected_shout);
            let expected_broadcast: BTreeSet<_> = all.iter().filter(|p| p.2 == region).map(|p| p.0).collect();
            prop_assert_eq!(broadcasts.get(&speaker).cloned().unwrap_or_default(), expected_broadcast);
        }
    }

    /// After joins and several ticks of random movement, every client's view
    /// rebuilt from EntitiesEntered / EntitiesLeft / StateUpdate equals the
    /// brute-force set of players within the view radius, with their exact
    /// positions; StateUpdates never list an unmoved player. Every player
    /// holding a non-zero intent, and only those, finds its own exact
    /// position in its StateUpdate, walls and edges or not. Region grids,
    /// radii and crowd sizes vary so that players share interest cells, span
    /// several cells per region, and see across region borders.
    #[test]
    fn interest_matches_brute_force(
        players in players_up_to(200),
        grid in prop::sample::select(vec![1u32, 2, 4]),
        view_radius in prop::sample::select(vec![16.0f32, 48.0]),
        moves in prop::collection::vec(
            prop::collection::vec((any::<prop::sample::Index>(), 0u8..8, prop::sample::select(vec![0.0f32, 20.0, 80.0])), 0..20),
            1..5,
        ),
    ) {
        let settings = SimSettings { view_radius, ..SimSettings::default() };
        let map = battlegrid_sim::MapSpec::open(256, 256, grid, grid).unwrap();
        let (mut sim, joined) = world(map, settings.clone(), &players);
        let mut views = ClientViews::default();
        views.apply(&joined);
        prop_assert_eq!(without_empty(views.views.clone()), without_empty(expected_views(&sim, settings.view_radius)));
        // Who holds a non-zero intent: a direction at a multiple of 45
        // degrees is never zero, so the speed decides.
        // Moves beyond a player's per-tick budget are dropped by the sim, so
        // the last move within the budget is the one that stands.
        let mut walking = BTreeMap::new();
        for (tick, tick_moves) in moves.into_iter().enumerate() {
            let mut applied: BTreeMap<u64, u32> = BTreeMap::new();
            for (who, heading, speed) in tick_moves {
                let id = players[who.index(players.len())].0;
                let angle = f32::from(heading) * std::f32::consts::FRAC_PI_4;
                sim.push(walk(&sim, id, tick as u32 + 1, angle.cos(), angle.sin(), speed));
                let count = applied.entry(id).or_default();
                *count += 1;
                if *count <= settings.max_commands_per_tick {
                    walking.insert(PlayerId(id), speed > 0.0);
                }
            }
            let out = sim.step();
            views.apply(&out);
            prop_assert_eq!(without_empty(views.views.clone()), without_empty(expected_views(&sim, settings.view_radius)));
            let expected_own: BTreeMap<_, _> = walking
                .iter()
                .filter(|(_, walks)| **walks)
                .map(|(&id, _)| (id, sim.position(id).unwrap()))
                .collect();
            prop_assert_eq!(&views.own, &expected_own);
        }
    }
}
