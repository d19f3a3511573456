//! Helpers shared by the simulation's integration tests: small worlds with
//! players at chosen positions, intents, and a client-side model of what
//! each player was told.

#![allow(dead_code)]

use std::collections::BTreeMap;

use battlegrid_protocol::{MoveIntent, PlayerId, Position, ServerMessage, Vec2};
use battlegrid_sim::testing::decode_outbox;
use battlegrid_sim::{Input, MapSpec, SimSettings, Simulation, TickOutput};

/// A 256x256 open map with 4x4 regions of 64 units.
pub fn small_map() -> MapSpec {
    MapSpec::open(256, 256, 4, 4).unwrap()
}

/// A world on `map` with players `(id, position)` joined (one tick run).
pub fn world(
    map: MapSpec,
    settings: SimSettings,
    players: &[(u64, Position)],
) -> (Simulation, TickOutput) {
    let mut sim = Simulation::new(map, settings, 42);
    for &(id, position) in players {
        sim.push(Input::Join {
            id: PlayerId(id),
            name: format!("p{id}"),
            position: Some(position),
        });
    }
    let out = sim.step();
    (sim, out)
}

/// A move intent with an honest prediction.
pub fn walk(sim: &Simulation, id: u64, seq: u32, dx: f32, dy: f32, speed: f32) -> Input {
    Input::Move {
        id: PlayerId(id),
        intent: MoveIntent {
            seq,
            direction: Vec2 { x: dx, y: dy },
            speed,
            predicted: sim.position(PlayerId(id)).unwrap(),
        },
    }
}

/// The messages `id` received in `out`, in order.
pub fn messages_to(out: &TickOutput, id: u64) -> Vec<ServerMessage> {
    decode_outbox(out)
        .into_iter()
        .filter(|(to, _)| *to == PlayerId(id))
        .map(|(_, m)| m)
        .collect()
}

/// What each client believes it sees, maintained only from the messages it
/// received, as a client would: `views` by watcher, and `own`, the position
/// each player was told of itself in the last applied tick (the record of
/// itself a walking player finds in its `StateUpdate`).
#[derive(Debug, Default, Clone)]
pub struct ClientViews {
    pub views: BTreeMap<PlayerId, BTreeMap<PlayerId, Position>>,
    pub own: BTreeMap<PlayerId, Position>,
}

impl ClientViews {
    /// Applies one tick's messages.
    pub fn apply(&mut self, out: &TickOutput) {
        self.own.clear();
        for (to, message) in decode_outbox(out) {
            let view = self.views.entry(to).or_default();
            match message {
                ServerMessage::EntitiesEntered { entities } => {
                    for e in entities {
                        assert_ne!(e.id, to, "{to:?} told it entered its own view");
                        assert!(
                            view.insert(e.id, e.position).is_none(),
                            "{to:?} told twice that {:?} entered",
                            e.id
                        );
                    }
                }
                ServerMessage::EntitiesLeft { ids } => {
                    for id in ids {
                        assert!(
                            view.remove(&id).is_some(),
                            "{to:?} told {id:?} left but never saw it"
                        );
                    }
                }
                ServerMessage::StateUpdate { moved, .. } => {
                    for s in moved {
                        if s.id == to {
                            let again = self.own.insert(to, s.position);
                            assert!(again.is_none(), "{to:?} told twice where it is");
                            continue;
                        }
                        let old = view.insert(s.id, s.position);
                        assert!(old.is_some(), "{to:?} got a move of unseen {:?}", s.id);
                        assert_ne!(
                            old,
                            Some(s.position),
                            "{to:?} got a StateUpdate for unmoved {:?}",
                            s.id
                        );
                    }
                }
                _ => {}
            }
        }
    }
}

/// Brute force: who each player should see (everyone within `radius`,
/// itself excluded), from the simulation's published positions.
pub fn expected_views(
    sim: &Simulation,
    radius: f32,
) -> BTreeMap<PlayerId, BTreeMap<PlayerId, Position>> {
    let snapshot = sim.snapshot_reader().load();
    let all: Vec<(PlayerId, Position)> = snapshot.iter().map(|(id, at, _)| (id, at)).collect();
    let mut views = BTreeMap::new();
    for &(me, center) in &all {
        let view: BTreeMap<_, _> = all
            .iter()
            .filter(|(id, at)| *id != me && at.distance_squared(center) <= radius * radius)
            .copied()
            .collect();
        views.insert(me, view);
    }
    views
}
