//! Checkpoints (`Simulation::checkpoint`, `Simulation::from_checkpoint`):
//! a world rebuilt from a checkpoint taken at any tick, and sent through
//! the record codec, produces exactly the outputs of the original from
//! then on, under joins (some at RNG-chosen spawn points), leaves, walks,
//! shouts, broadcasts, region handoffs and a map swap; and a damaged
//! checkpoint is refused with an error.

use battlegrid_protocol::codec::{decode_record, encode_record};
use battlegrid_protocol::{MoveIntent, PlayerId, Position, Vec2};
use battlegrid_sim::checkpoint::MemberState;
use battlegrid_sim::{Checkpoint, CheckpointError, Input, MapSpec, SimSettings, Simulation};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// 512x512 units, 16-unit tiles, 4x4 regions, a wall of `wall` tiles.
fn map(wall: u32) -> MapSpec {
    let blocked: Vec<(u32, u32)> = (4..4 + wall).map(|y| (10, y)).collect();
    MapSpec::new(
        "arena",
        (512, 512),
        16,
        (4, 4),
        &blocked,
        vec![Position::new(40.0, 40.0), Position::new(300.0, 300.0)],
    )
    .unwrap()
}

/// This tick's inputs for players `1..=80`, drawn from `rng`.
fn inputs(rng: &mut ChaCha8Rng, sim: &Simulation, tick: u64) -> Vec<Input> {
    let mut inputs = Vec::new();
    for id in 1..=80u64 {
        let id = PlayerId(id);
        match sim.position(id) {
            None if rng.random_bool(0.2) => inputs.push(Input::Join {
                id,
                name: format!("p{}", id.0),
                // Half at a saved place, half at an RNG-chosen spawn point.
                position: rng.random_bool(0.5).then(|| {
                    Position::new(rng.random_range(0.0..512.0), rng.random_range(0.0..512.0))
                }),
            }),
            None => {}
            Some(_) if rng.random_bool(0.01) => inputs.push(Input::Leave { id }),
            Some(predicted) => {
                if rng.random_bool(0.2) {
                    let angle = rng.random_range(0.0..std::f32::consts::TAU);
                    inputs.push(Input::Move {
                        id,
                        intent: MoveIntent {
                            seq: tick as u32,
                            direction: Vec2 {
                                x: angle.cos(),
                                y: angle.sin(),
                            },
                            speed: 70.0,
                            predicted,
                        },
                    });
                }
                if rng.random_bool(0.03) {
                    inputs.push(Input::Shout {
                        id,
                        text: format!("shout {tick}"),
                    });
                }
                if rng.random_bool(0.01) {
                    inputs.push(Input::Broadcast {
                        id,
                        text: format!("broadcast {tick}"),
                    });
                }
            }
        }
    }
    inputs
}

fn round_trip(checkpoint: &Checkpoint) -> Checkpoint {
    let mut bytes = Vec::new();
    encode_record(checkpoint, &mut bytes).unwrap();
    decode_record(&bytes).unwrap()
}

/// Worlds rebuilt from checkpoints taken every 9 ticks step on exactly
/// like the original for 30 ticks (every output, every position, the
/// whole state), through a map swap.
#[test]
fn rebuilt_worlds_step_on_like_the_original() {
    for seed in [1u64, 2] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut original = Simulation::new(map(4), SimSettings::default(), seed);
        let mut copies: Vec<(u64, Simulation)> = Vec::new();
        for tick in 1..=120u64 {
            if tick % 9 == 0 {
                let checkpoint = round_trip(&original.checkpoint());
                assert_eq!(checkpoint.tick, tick - 1);
                copies.push((tick, Simulation::from_checkpoint(&checkpoint).unwrap()));
            }
            if tick == 60 {
                let moved = original.replace_map(map(12));
                for (_, copy) in &mut copies {
                    assert_eq!(copy.replace_map(map(12)), moved, "seed {seed}");
                }
            }
            let inputs = inputs(&mut rng, &original, tick);
            for input in &inputs {
                original.push(input.clone());
                for (_, copy) in &mut copies {
                    copy.push(input.clone());
                }
            }
            // A copy that matched for 30 ticks has shown what it can.
            copies.retain(|(from, _)| tick < from + 30);
            let expected = original.step();
            for (from, copy) in &mut copies {
                let got = copy.step();
                let context = format!("seed {seed}, copy from tick {from}, tick {tick}");
                assert_eq!(got.tick, expected.tick, "{context}");
                assert_eq!(got.outbox, expected.outbox, "{context}");
                assert_eq!(got.saves, expected.saves, "{context}");
                assert_eq!(got.analytics, expected.analytics, "{context}");
                assert_eq!(copy.checkpoint(), original.checkpoint(), "{context}");
            }
        }
        assert!(
            original.player_count() > 20,
            "the scenario keeps players in"
        );
    }
}

fn first(c: &mut Checkpoint) -> &mut MemberState {
    c.regions.iter_mut().flatten().next().unwrap()
}

/// A checkpoint whose parts contradict each other is refused, not trusted.
#[test]
fn damaged_checkpoints_are_refused() {
    let mut sim = Simulation::new(map(4), SimSettings::default(), 5);
    for id in 1..=3 {
        sim.push(Input::Join {
            id: PlayerId(id),
            name: format!("p{id}"),
            position: None,
        });
    }
    sim.step();
    let good = sim.checkpoint();

    let mut c = good.clone();
    c.regions.pop();
    assert!(matches!(
        Simulation::from_checkpoint(&c),
        Err(CheckpointError::RegionCount { .. })
    ));

    let mut c = good.clone();
    c.map.blocked.push(0);
    assert!(matches!(
        Simulation::from_checkpoint(&c),
        Err(CheckpointError::BlockedBits { .. })
    ));

    let mut c = good.clone();
    c.map.size = (u32::MAX, u32::MAX);
    c.map.tile_size = 1;
    assert!(Simulation::from_checkpoint(&c).is_err());

    let mut c = good.clone();
    first(&mut c).position.x = f32::NAN;
    assert!(matches!(
        Simulation::from_checkpoint(&c),
        Err(CheckpointError::NotFinite(_))
    ));

    let mut c = good.clone();
    first(&mut c).region.0 += 1;
    assert!(matches!(
        Simulation::from_checkpoint(&c),
        Err(CheckpointError::WrongRegion(..))
    ));

    let mut c = good.clone();
    let dup = first(&mut c).clone();
    c.regions[dup.region.0 as usize].push(dup);
    assert!(matches!(
        Simulation::from_checkpoint(&c),
        Err(CheckpointError::DuplicatePlayer(_))
    ));

    let mut c = good.clone();
    c.settings.tick_rate_hz = 0;
    assert!(matches!(
        Simulation::from_checkpoint(&c),
        Err(CheckpointError::Settings(_))
    ));

    assert_eq!(
        Simulation::from_checkpoint(&good).unwrap().checkpoint(),
        good
    );
}
