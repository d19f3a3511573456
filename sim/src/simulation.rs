//! The public façade: build a world from a map, settings and a seed; push
//! inputs; step ticks; read outputs.
//!
//! [`Simulation`] owns the bevy `World` and the tick schedule and is the only
//! way the rest of battlegrid drives the simulation. It has no clock and no
//! I/O: the caller decides when a tick happens and what to do with its
//! [`TickOutput`].

use battlegrid_protocol::{MapInfo, PlayerId, Position, RegionId};
use bevy_ecs::prelude::*;
use bevy_tasks::{ComputeTaskPool, TaskPool};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::input::{Input, InputQueue, Staged};
use crate::map::MapSpec;
use crate::outbox::{Outputs, TickOutput};
use crate::player::{Directory, InRegion, Pos, SimRng};
use crate::region::spawn_regions;
use crate::reload::{PendingMapChanges, Relocation};
use crate::schedule::{Tick, build_schedule};
use crate::settings::{SettingsError, SimSettings};
use crate::snapshot::{SnapshotPublisher, SnapshotReader};

/// A running world.
pub struct Simulation {
    /// All state: regions, players, resources.
    world: World,
    /// The tick's systems, built once.
    schedule: Schedule,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("tick", &self.tick())
            .field("players", &self.player_count())
            .finish_non_exhaustive()
    }
}

impl Simulation {
    /// A world on `map` with no players. Everything random in it derives
    /// from `seed`.
    ///
    /// # Panics
    /// If `settings` is invalid; see [`Simulation::try_new`].
    pub fn new(map: MapSpec, settings: SimSettings, seed: u64) -> Self {
        match Self::try_new(map, settings, seed) {
            Ok(sim) => sim,
            Err(e) => panic!("invalid simulation settings: {e}"),
        }
    }

    /// Like [`Simulation::new`], refusing invalid settings with an error.
    pub fn try_new(map: MapSpec, settings: SimSettings, seed: u64) -> Result<Self, SettingsError> {
        settings.validate()?;
        // Regions are processed in parallel on bevy's compute pool; sized by
        // the machine's cores, shared by every simulation in the process.
        ComputeTaskPool::get_or_init(TaskPool::default);
        let mut world = new_world(map, settings, seed);
        let mut schedule = build_schedule();
        schedule
            .initialize(&mut world)
            .expect("the tick schedule is statically well-formed");
        Ok(Self { world, schedule })
    }

    /// A world in the state of `checkpoint` (see [`crate::checkpoint`]):
    /// given the same inputs it steps on exactly like the world the
    /// checkpoint was taken of. Refuses an inconsistent checkpoint.
    pub fn from_checkpoint(checkpoint: &Checkpoint) -> Result<Self, CheckpointError> {
        ComputeTaskPool::get_or_init(TaskPool::default);
        let mut world = crate::checkpoint::rebuild(checkpoint)?;
        let mut schedule = build_schedule();
        schedule
            .initialize(&mut world)
            .expect("the tick schedule is statically well-formed");
        Ok(Self { world, schedule })
    }

    /// This world's state between two ticks. Meant to be taken with no
    /// input queued (right after [`Simulation::step`] or construction):
    /// queued inputs are not part of it.
    pub fn checkpoint(&self) -> Checkpoint {
        crate::checkpoint::capture(&self.world)
    }

    /// The inputs queued for the next tick, in order.
    pub fn queued_inputs(&self) -> &[Input] {
        &self.world.resource::<InputQueue>().0
    }

    /// Queues `input` for the next tick.
    pub fn push(&mut self, input: Input) {
        self.world.resource_mut::<InputQueue>().0.push(input);
    }

    /// Runs one tick over everything pushed since the previous one.
    pub fn step(&mut self) -> TickOutput {
        let tick = {
            let mut tick = self.world.resource_mut::<Tick>();
            tick.0 += 1;
            tick.0
        };
        self.schedule.run(&mut self.world);
        let out = std::mem::take(&mut *self.world.resource_mut::<Outputs>());
        TickOutput {
            tick,
            outbox: out.outbox,
            saves: out.saves,
            analytics: out.analytics,
        }
    }

    /// Numbers this world's ticks on from `tick`, so that a world created
    /// while others run shares their tick numbers (clients drop state
    /// updates older than the newest tick they saw). Meant for a world with
    /// no tick run yet.
    pub fn start_at_tick(&mut self, tick: u64) {
        self.world.resource_mut::<Tick>().0 = tick;
    }

    /// The last tick run (0 before the first).
    pub fn tick(&self) -> u64 {
        self.world.resource::<Tick>().0
    }

    /// A handle other threads use to read positions after each tick.
    pub fn snapshot_reader(&self) -> SnapshotReader {
        self.world.resource::<SnapshotPublisher>().reader()
    }

    /// Players in the world.
    pub fn player_count(&self) -> usize {
        self.world.resource::<Directory>().len()
    }

    /// Where player `id` is now.
    pub fn position(&self, id: PlayerId) -> Option<Position> {
        let entity = self.world.resource::<Directory>().get(id)?.entity;
        self.world.get::<Pos>(entity).map(|p| p.0)
    }

    /// The region player `id` belongs to.
    pub fn region_of(&self, id: PlayerId) -> Option<RegionId> {
        let entity = self.world.resource::<Directory>().get(id)?.entity;
        self.world.get::<InRegion>(entity).map(|r| r.0)
    }

    /// The map being simulated.
    pub fn map(&self) -> &MapSpec {
        self.world.resource::<MapSpec>()
    }

    /// The settings in force.
    pub fn settings(&self) -> &SimSettings {
        self.world.resource::<SimSettings>()
    }

    /// Swaps in a new version of the map between two ticks; returns the
    /// players it had to move, by increasing id.
    ///
    /// Every player stays in the world with its id, name, intent and view.
    /// A player outside the new map or on a tile that is now blocked moves
    /// to the centre of the nearest free tile; every player then belongs to
    /// the region of the new grid containing its position. The regions, and
    /// their spatial indices, are rebuilt. In the next [`Simulation::step`]
    /// each player is sent one `MapChanged` (after that tick's move, like a
    /// correction), and the Interest phase sends only what changed in each
    /// view. Cost: linear in players plus regions, plus a ring search per
    /// relocated player; no clock, no I/O, deterministic.
    pub fn replace_map(&mut self, map: MapSpec) -> Vec<Relocation> {
        crate::reload::replace_map(&mut self.world, map)
    }

    /// What clients are told about the map being simulated.
    pub fn map_info(&self) -> MapInfo {
        self.map().info()
    }

    /// The region containing `position` on the current map (positions
    /// outside it are clamped to the nearest region).
    pub fn region_at(&self, position: Position) -> RegionId {
        self.map().region_at(position)
    }

    /// The ids of every player in the world, sorted.
    pub fn player_ids(&self) -> Vec<PlayerId> {
        let mut ids: Vec<PlayerId> = self.world.resource::<Directory>().ids().collect();
        ids.sort_unstable();
        ids
    }

    /// The ECS world, read-only, for tests and diagnostics that inspect
    /// regions, indices and views directly.
    pub fn world(&self) -> &World {
        &self.world
    }
}

/// A world with every resource and region entity, and no player.
pub(crate) fn new_world(map: MapSpec, settings: SimSettings, seed: u64) -> World {
    let mut world = World::new();
    spawn_regions(&mut world, &map);
    world.insert_resource(map);
    world.insert_resource(settings);
    world.insert_resource(Tick(0));
    world.insert_resource(SimRng(ChaCha8Rng::seed_from_u64(seed)));
    world.init_resource::<InputQueue>();
    world.init_resource::<Staged>();
    world.init_resource::<Outputs>();
    world.init_resource::<Directory>();
    world.init_resource::<SnapshotPublisher>();
    world.init_resource::<PendingMapChanges>();
    world
}
