//! Scenario helpers shared by the unit tests, `tests/` and the benchmarks
//! (feature `testing`): build a populated world in one line, drive random
//! walkers, and decode what a tick sent.
//!
//! Everything here is seeded; nothing reads a clock. It is not part of the
//! product's API and makes no effort to be minimal.

use battlegrid_protocol::{MoveIntent, PlayerId, Position, ServerMessage, Vec2, decode};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::input::Input;
use crate::map::MapSpec;
use crate::outbox::{Delivery, TickOutput};
use crate::settings::SimSettings;
use crate::simulation::Simulation;

/// Builder of a world with many players at seeded random positions.
#[derive(Debug, Clone)]
pub struct Scenario {
    map: MapSpec,
    settings: SimSettings,
    players: u64,
    seed: u64,
}

impl Scenario {
    /// An open map of `width x height` units with a `cols x rows` region grid.
    ///
    /// # Panics
    /// If the map is invalid (see [`MapSpec::open`]).
    pub fn open_map(width: u32, height: u32, cols: u32, rows: u32) -> Self {
        Self::on(MapSpec::open(width, height, cols, rows).expect("valid open map"))
    }

    /// A scenario on `map`.
    pub fn on(map: MapSpec) -> Self {
        Self {
            map,
            settings: SimSettings::default(),
            players: 0,
            seed: 0,
        }
    }

    /// Number of players to join (ids 1..=n, names `p<id>`).
    pub fn players(mut self, n: u64) -> Self {
        self.players = n;
        self
    }

    /// Seed of the world and of the player placement.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Settings of the world.
    pub fn settings(mut self, settings: SimSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The world after one tick in which every player joined at a uniformly
    /// random free position.
    pub fn build(self) -> Simulation {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x5ce7_a710);
        let mut sim = Simulation::new(self.map.clone(), self.settings, self.seed);
        for id in 1..=self.players {
            let position = random_free_position(&self.map, &mut rng);
            sim.push(Input::Join {
                id: PlayerId(id),
                name: format!("p{id}"),
                position: Some(position),
            });
        }
        sim.step();
        sim
    }
}

/// A uniformly random position on `map` that is not blocked.
pub fn random_free_position(map: &MapSpec, rng: &mut impl Rng) -> Position {
    loop {
        let p = Position::new(
            rng.random_range(0.0..map.width() as f32),
            rng.random_range(0.0..map.height() as f32),
        );
        if !map.is_blocked(p) {
            return p;
        }
    }
}

/// Random walkers: every tick each of `ids` turns with some probability
/// (sending a fresh intent with an honest prediction), and a fraction of
/// them shouts.
#[derive(Debug, Clone)]
pub struct Walkers {
    rng: ChaCha8Rng,
    ids: Vec<PlayerId>,
    seq: u32,
    /// Probability that a walker picks a new direction in a tick.
    pub turn_probability: f64,
    /// Fraction of walkers that shout in a tick.
    pub shout_fraction: f64,
    /// Speed of the walkers, units per second.
    pub speed: f32,
}

impl Walkers {
    /// Walkers for players `1..=n` with their own seed; 10% turn per tick,
    /// 2% shout per tick, at 60 units per second.
    pub fn new(n: u64, seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            ids: (1..=n).map(PlayerId).collect(),
            seq: 0,
            turn_probability: 0.1,
            shout_fraction: 0.02,
            speed: 60.0,
        }
    }

    /// Gives every walker an initial direction.
    pub fn start(&mut self, sim: &mut Simulation) {
        let turn = std::mem::replace(&mut self.turn_probability, 1.0);
        let shout = std::mem::replace(&mut self.shout_fraction, 0.0);
        self.drive(sim);
        self.turn_probability = turn;
        self.shout_fraction = shout;
    }

    /// Pushes this tick's intents and shouts (call before `step`).
    pub fn drive(&mut self, sim: &mut Simulation) {
        self.seq = self.seq.wrapping_add(1);
        for i in 0..self.ids.len() {
            let id = self.ids[i];
            if self.rng.random_bool(self.turn_probability) {
                let Some(predicted) = sim.position(id) else {
                    continue;
                };
                let angle = self.rng.random_range(0.0..std::f32::consts::TAU);
                sim.push(Input::Move {
                    id,
                    intent: MoveIntent {
                        seq: self.seq,
                        direction: Vec2 {
                            x: angle.cos(),
                            y: angle.sin(),
                        },
                        speed: self.speed,
                        predicted,
                    },
                });
            }
            if self.shout_fraction > 0.0 && self.rng.random_bool(self.shout_fraction) {
                sim.push(Input::Shout {
                    id,
                    text: format!("hello from {}", id.0),
                });
            }
        }
    }
}

/// The world of the tick benchmark (issue 2): `players` random walkers on a
/// 4096x4096 open map in 8x8 regions, with default settings, warmed up for
/// `warm_up_ticks` ticks so views are populated. The criterion bench and the
/// `tick_profile` example both start here, so a profile explains exactly
/// what the bench measures.
pub fn benchmark_world(players: u64, warm_up_ticks: usize) -> (Simulation, Walkers) {
    let mut sim = Scenario::open_map(4096, 4096, 8, 8)
        .players(players)
        .seed(7)
        .build();
    let mut walkers = Walkers::new(players, 11);
    walkers.start(&mut sim);
    for _ in 0..warm_up_ticks {
        walkers.drive(&mut sim);
        sim.step();
    }
    (sim, walkers)
}

/// Every envelope of `output` decoded, with its recipient.
///
/// # Panics
/// If an envelope does not decode: the simulation only emits valid messages.
pub fn decode_outbox(output: &TickOutput) -> Vec<(PlayerId, ServerMessage)> {
    output
        .outbox
        .iter()
        .map(|e| {
            (
                e.to,
                decode(&e.bytes).expect("the simulation emits decodable messages"),
            )
        })
        .collect()
}

/// Like [`decode_outbox`], with each envelope's delivery.
pub fn decode_outbox_with_delivery(
    output: &TickOutput,
) -> Vec<(PlayerId, Delivery, ServerMessage)> {
    output
        .outbox
        .iter()
        .map(|e| {
            let message = decode(&e.bytes).expect("the simulation emits decodable messages");
            (e.to, e.delivery, message)
        })
        .collect()
}
