//! Checkpoints: a world's whole state between two ticks as plain data, and
//! a world rebuilt from one that steps on exactly like the original.
//!
//! Recordings (the server's `replay` module) start from a checkpoint and
//! then carry every tick's inputs; replaying them needs a world that
//! produces the same outputs, byte for byte, as the one that was recorded.
//! Everything that influences a later tick is captured: the tick number,
//! the RNG's exact position, settings, the map, and per region its members
//! in order with their position, region, standing intent, save state,
//! indexed position and view (what each player was last told it sees).
//! Scratch state (rosters, R-trees, region outboxes, system locals) is
//! rebuilt or recomputed by the next tick: every phase reads its neighbours
//! sorted by id, so a tree built by one bulk load answers like one grown
//! by insertions. Entity ids differ after a rebuild; nothing observable
//! depends on them.
//!
//! A checkpoint is taken between ticks, with no input queued (the server
//! takes it right after a step or right after creating a world); inputs
//! queued after it belong to the next tick's record. [`SIM_VERSION`] names
//! the rules: a recording made under other rules cannot be expected to
//! replay to the same outputs.

use std::sync::Arc;

use battlegrid_protocol::messages::MAX_NAME_LEN;
use battlegrid_protocol::{PlayerId, Position, RegionId};
use bevy_ecs::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::map::{MapError, MapSpec};
use crate::movement::Motion;
use crate::outbox::CorrectionReason;
use crate::player::{Directory, InRegion, Listed, Player, Pos, SaveState, SimRng};
use crate::region::{InlineName, Member, Members, RegionDirectory, Seen, View};
use crate::reload::{PendingMapChanges, RelocationReason};
use crate::schedule::Tick;
use crate::settings::{SettingsError, SimSettings};

/// The version of the simulation's rules. Bump it with every change that
/// makes the same inputs give other outputs (or changes [`Checkpoint`]):
/// replaying a recording made under another version is refused.
pub const SIM_VERSION: u32 = 1;

/// Most regions a checkpoint's map may have (every region is an entity).
pub const MAX_CHECKPOINT_REGIONS: usize = 1 << 16;

/// A world's state between two ticks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The last tick run.
    pub tick: u64,
    /// Where the random stream stands.
    pub rng: RngState,
    /// The rules in force.
    pub settings: SimSettings,
    /// The map being simulated.
    pub map: MapData,
    /// Per region, by region id: its members, by increasing id.
    pub regions: Vec<Vec<MemberState>>,
    /// Players owed a `MapChanged` by a map swap whose tick has not run.
    pub pending_map_changes: Vec<(PlayerId, Option<RelocationReason>)>,
}

/// The exact position of a ChaCha8 stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// Its seed.
    pub seed: [u8; 32],
    /// Its stream number.
    pub stream: u64,
    /// Its word position, high and low halves.
    pub word_pos: (u64, u64),
}

/// A map, field by field (validated again when a world is rebuilt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapData {
    /// Its name.
    pub name: String,
    /// Width and height in world units.
    pub size: (u32, u32),
    /// Tile edge in world units.
    pub tile_size: u32,
    /// Region columns and rows.
    pub region_grid: (u32, u32),
    /// One bit per tile, row-major, set when blocked.
    pub blocked: Vec<u64>,
    /// Where players may spawn.
    pub spawn_points: Vec<Position>,
}

/// One player as its region holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberState {
    /// Its id.
    pub id: PlayerId,
    /// Its display name.
    pub name: String,
    /// Where it is.
    pub position: Position,
    /// The region it belongs to (its region's list holds it).
    pub region: RegionId,
    /// Its standing step per tick, already capped.
    pub step: (f32, f32),
    /// The sequence number of its intent.
    pub seq: u32,
    /// A correction owed to its client.
    pub correction: Option<CorrectionReason>,
    /// Whether it moved in the last tick.
    pub moved: bool,
    /// Where it was last saved.
    pub last_saved: Position,
    /// Where its region's index last put it.
    pub indexed_at: Option<Position>,
    /// What it was last told it sees, sorted by id; `None` before its first
    /// view was computed.
    pub view: Option<Vec<(PlayerId, Position)>>,
}

/// Why a checkpoint cannot become a world.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckpointError {
    /// The map is invalid.
    #[error("invalid map in checkpoint: {0}")]
    Map(#[from] MapError),
    /// The map's blocked bits do not match its size.
    #[error("map of {tiles} tiles needs {expected} words of blocked bits, checkpoint has {got}")]
    BlockedBits {
        /// Tiles of the map.
        tiles: u64,
        /// Words needed.
        expected: u64,
        /// Words present.
        got: usize,
    },
    /// The map has more regions than [`MAX_CHECKPOINT_REGIONS`].
    #[error("map of {0} regions exceeds the limit of {MAX_CHECKPOINT_REGIONS}")]
    TooManyRegions(usize),
    /// The settings are invalid.
    #[error("invalid settings in checkpoint: {0}")]
    Settings(#[from] SettingsError),
    /// The per-region lists do not match the map's regions.
    #[error("checkpoint lists {got} regions, its map has {expected}")]
    RegionCount {
        /// The map's regions.
        expected: usize,
        /// Lists in the checkpoint.
        got: usize,
    },
    /// A player is listed twice.
    #[error("player {0} is listed twice")]
    DuplicatePlayer(u64),
    /// A player's region is not the one listing it, or not on the map.
    #[error("player {0} is listed in region {1} but says it belongs to region {2}")]
    WrongRegion(u64, usize, u32),
    /// A name is longer than the protocol allows.
    #[error("player {0} has a name over {MAX_NAME_LEN} bytes")]
    NameTooLong(u64),
    /// A position or step is NaN or infinite.
    #[error("player {0} has a non-finite position or step")]
    NotFinite(u64),
}

impl MapData {
    /// The data of `map`.
    pub fn of(map: &MapSpec) -> Self {
        Self {
            name: map.name().to_owned(),
            size: (map.width(), map.height()),
            tile_size: map.tile_size(),
            region_grid: map.region_grid(),
            blocked: map.blocked_bits().to_vec(),
            spawn_points: map.spawn_points().to_vec(),
        }
    }

    /// The map again, validated like any new map. The sizes are checked
    /// against the data first, so a corrupted size cannot make it allocate
    /// more than the data it came with.
    pub fn to_spec(&self) -> Result<MapSpec, CheckpointError> {
        let (width, height) = self.size;
        let tile = self.tile_size;
        if tile == 0 || self.region_grid.0 == 0 || self.region_grid.1 == 0 {
            return Err(MapError::ZeroSize.into());
        }
        let (tiles_x, tiles_y) = (u64::from(width / tile), u64::from(height / tile));
        let tiles = tiles_x * tiles_y;
        let expected = tiles.div_ceil(64);
        if expected != self.blocked.len() as u64 {
            return Err(CheckpointError::BlockedBits {
                tiles,
                expected,
                got: self.blocked.len(),
            });
        }
        let regions = u64::from(self.region_grid.0) * u64::from(self.region_grid.1);
        if regions > MAX_CHECKPOINT_REGIONS as u64 {
            return Err(CheckpointError::TooManyRegions(regions as usize));
        }
        let mut blocked = Vec::new();
        for (w, &word) in self.blocked.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let bit = w as u64 * 64 + u64::from(bits.trailing_zeros());
                bits &= bits - 1;
                if bit < tiles {
                    blocked.push(((bit % tiles_x) as u32, (bit / tiles_x) as u32));
                }
            }
        }
        Ok(MapSpec::new(
            self.name.clone(),
            self.size,
            tile,
            self.region_grid,
            &blocked,
            self.spawn_points.clone(),
        )?)
    }
}

/// The state of `world` (see the module docs).
pub(crate) fn capture(world: &World) -> Checkpoint {
    let rng = &world.resource::<SimRng>().0;
    let word_pos = rng.get_word_pos();
    let regions = world
        .resource::<RegionDirectory>()
        .0
        .iter()
        .map(|&entity| {
            let Some(members) = world.get::<Members>(entity) else {
                return Vec::new();
            };
            members
                .iter()
                .filter_map(|m| member_state(world, members, m))
                .collect()
        })
        .collect();
    Checkpoint {
        tick: world.resource::<Tick>().0,
        rng: RngState {
            seed: rng.get_seed(),
            stream: rng.get_stream(),
            word_pos: ((word_pos >> 64) as u64, word_pos as u64),
        },
        settings: world.resource::<SimSettings>().clone(),
        map: MapData::of(world.resource::<MapSpec>()),
        regions,
        pending_map_changes: world
            .resource::<PendingMapChanges>()
            .0
            .iter()
            .map(|(&id, &why)| (id, why))
            .collect(),
    }
}

fn member_state(world: &World, members: &Members, m: &Member) -> Option<MemberState> {
    let player = world.get::<Player>(m.entity)?;
    let motion = world.get::<Motion>(m.entity)?;
    Some(MemberState {
        id: m.id,
        name: player.name.to_string(),
        position: world.get::<Pos>(m.entity)?.0,
        region: world.get::<InRegion>(m.entity)?.0,
        step: (motion.step_x, motion.step_y),
        seq: motion.seq,
        correction: motion.correction,
        moved: motion.moved,
        last_saved: world.get::<SaveState>(m.entity)?.last_saved,
        indexed_at: m.indexed_at,
        view: match m.view {
            View::Empty => None,
            _ => Some(members.view(m).iter().map(|s| (s.id, s.at)).collect()),
        },
    })
}

/// A world in the state `checkpoint` describes, refusing one that is not
/// internally consistent (it may come from a damaged file).
pub(crate) fn rebuild(checkpoint: &Checkpoint) -> Result<World, CheckpointError> {
    let map = checkpoint.map.to_spec()?;
    checkpoint.settings.validate()?;
    if checkpoint.regions.len() != map.region_count() {
        return Err(CheckpointError::RegionCount {
            expected: map.region_count(),
            got: checkpoint.regions.len(),
        });
    }
    let mut world = crate::simulation::new_world(map, checkpoint.settings.clone(), 0);
    world.insert_resource(Tick(checkpoint.tick));
    let RngState {
        seed,
        stream,
        word_pos: (hi, lo),
    } = checkpoint.rng;
    let mut rng = ChaCha8Rng::from_seed(seed);
    rng.set_stream(stream);
    rng.set_word_pos((u128::from(hi) << 64) | u128::from(lo));
    world.insert_resource(SimRng(rng));

    let regions = world.resource::<RegionDirectory>().0.clone();
    let mut directory = Directory::default();
    for (r, (listed, &region_entity)) in checkpoint.regions.iter().zip(&regions).enumerate() {
        let mut members = Vec::with_capacity(listed.len());
        for m in listed {
            let id = m.id.0;
            if directory.contains(m.id) {
                return Err(CheckpointError::DuplicatePlayer(id));
            }
            if m.region.0 as usize != r {
                return Err(CheckpointError::WrongRegion(id, r, m.region.0));
            }
            if m.name.len() > MAX_NAME_LEN {
                return Err(CheckpointError::NameTooLong(id));
            }
            if !finite(m) {
                return Err(CheckpointError::NotFinite(id));
            }
            let name: Arc<str> = Arc::from(m.name.as_str());
            let entity = world
                .spawn((
                    Player {
                        id: m.id,
                        name: name.clone(),
                    },
                    Pos(m.position),
                    InRegion(m.region),
                    Motion {
                        step_x: m.step.0,
                        step_y: m.step.1,
                        seq: m.seq,
                        correction: m.correction,
                        moved: m.moved,
                    },
                    SaveState {
                        last_saved: m.last_saved,
                    },
                ))
                .id();
            directory.0.insert(m.id, Listed { entity, name });
            members.push(Member {
                id: m.id,
                entity,
                indexed_at: m.indexed_at,
                view: match &m.view {
                    None => View::Empty,
                    Some(seen) => {
                        View::Carried(seen.iter().map(|&(id, at)| Seen { id, at }).collect())
                    }
                },
                name: InlineName::new(&m.name),
            });
        }
        members.sort_unstable_by_key(|m| m.id);
        if let Some(mut region) = world.get_mut::<Members>(region_entity) {
            region.insert_many(members);
        }
    }
    world.insert_resource(directory);
    world.insert_resource(PendingMapChanges(
        checkpoint.pending_map_changes.iter().copied().collect(),
    ));
    Ok(world)
}

/// Whether every number of `m` the tick computes with is finite.
fn finite(m: &MemberState) -> bool {
    let p = |p: &Position| p.x.is_finite() && p.y.is_finite();
    p(&m.position)
        && p(&m.last_saved)
        && m.indexed_at.as_ref().is_none_or(p)
        && m.step.0.is_finite()
        && m.step.1.is_finite()
        && m.view.iter().flatten().all(|(_, at)| p(at))
}
