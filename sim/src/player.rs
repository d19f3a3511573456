//! Players: their components, the directory from id to entity, and the
//! Validate-phase systems that let players join and leave.
//!
//! A player is an entity with [`Player`], [`Pos`], [`InRegion`],
//! [`crate::movement::Motion`] and [`SaveState`], and a [`Member`] record in
//! its region. Join and leave keep all of these, the region's index and the
//! directory consistent within the same system, so no other phase ever sees
//! a half-present player. What a player sees is [`crate::interest`]'s job.

use std::sync::Arc;

use battlegrid_protocol::messages::{MAX_NAME_LEN, MAX_TEXT_LEN};
use battlegrid_protocol::{ErrorCode, PlayerId, Position, RegionId, ServerMessage};
use bevy_ecs::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;

use crate::input::Staged;
use crate::map::MapSpec;
use crate::movement::Motion;
use crate::outbox::{AnalyticsEvent, Outputs, SavePosition, encode};
use crate::region::{InlineName, Member, Members, RegionDirectory, RegionIndex, View};
use crate::settings::SimSettings;

/// Who an entity is.
#[derive(Debug, Clone, Component)]
pub struct Player {
    /// Its id.
    pub id: PlayerId,
    /// Its display name, shared with the directory.
    pub name: Arc<str>,
}

/// Where a player is, authoritative.
#[derive(Debug, Clone, Copy, PartialEq, Component)]
pub struct Pos(pub Position);

/// The region a player belongs to (it may stand up to the handoff margin
/// outside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Component)]
pub struct InRegion(pub RegionId);

/// What was last asked to be persisted for a player.
#[derive(Debug, Clone, Copy, PartialEq, Component)]
pub struct SaveState {
    /// The position in the last save request (or where it joined).
    pub last_saved: Position,
}

/// A player in the directory.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its entity.
    pub entity: Entity,
    /// Its display name, for messages that introduce it to others.
    pub name: Arc<str>,
}

/// Every player in the world, by id. Used for lookups only, never iterated
/// where order matters.
#[derive(Debug, Default, Resource)]
pub struct Directory(pub(crate) FxHashMap<PlayerId, Listed>);

impl Directory {
    /// The player `id`, if it is in the world.
    pub fn get(&self, id: PlayerId) -> Option<&Listed> {
        self.0.get(&id)
    }

    /// Whether `id` is in the world.
    pub fn contains(&self, id: PlayerId) -> bool {
        self.0.contains_key(&id)
    }

    /// The ids of every player, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = PlayerId> + '_ {
        self.0.keys().copied()
    }

    /// Number of players in the world.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the world is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The simulation's only source of randomness, seeded at construction.
#[derive(Debug, Resource)]
pub struct SimRng(pub ChaCha8Rng);

/// Validate phase, first: removes leaving players from their region, its
/// index and the directory, and asks for their position to be saved.
/// Watchers learn of it in the Interest phase of the same tick.
#[allow(clippy::too_many_arguments)]
pub fn apply_leaves(
    mut commands: Commands<'_, '_>,
    mut staged: ResMut<'_, Staged>,
    mut directory: ResMut<'_, Directory>,
    mut out: ResMut<'_, Outputs>,
    regions: Res<'_, RegionDirectory>,
    players: Query<'_, '_, (&Pos, &InRegion)>,
    mut region_state: Query<'_, '_, (&mut Members, &mut RegionIndex)>,
) {
    for id in staged.leaves.drain(..) {
        // Leaving twice, or without having joined, changes nothing; there is
        // no player to tell.
        let Some(listed) = directory.0.remove(&id) else {
            continue;
        };
        if let Ok((pos, region)) = players.get(listed.entity) {
            if let Ok((mut members, mut index)) = region_state.get_mut(regions.entity(region.0))
                && let Some(member) = members.remove(id)
                && let Some(at) = member.indexed_at
            {
                index.0.remove(id, at);
            }
            out.saves.push(SavePosition {
                id,
                position: pos.0,
            });
            out.analytics.push(AnalyticsEvent::Left {
                id,
                region: region.0,
            });
        }
        commands.entity(listed.entity).despawn();
    }
}

/// Validate phase, second: places joining players (at their saved position
/// when it is free, else at a seeded-random spawn point) and welcomes them
/// (players arriving from another map get `MapChanged` instead).
#[allow(clippy::too_many_arguments)]
pub fn apply_joins(
    mut commands: Commands<'_, '_>,
    mut staged: ResMut<'_, Staged>,
    mut directory: ResMut<'_, Directory>,
    mut out: ResMut<'_, Outputs>,
    mut rng: ResMut<'_, SimRng>,
    map: Res<'_, MapSpec>,
    settings: Res<'_, SimSettings>,
    regions: Res<'_, RegionDirectory>,
    mut members: Query<'_, '_, &mut Members>,
) {
    for join in staged.joins.drain(..) {
        let id = join.id;
        if directory.contains(id) {
            out.refuse(id, ErrorCode::UNEXPECTED_MESSAGE, "already in the world");
            continue;
        }
        if join.name.len() > MAX_NAME_LEN {
            out.refuse(id, ErrorCode::TEXT_TOO_LONG, "name too long");
            continue;
        }
        let position = match join.position {
            Some(p) if !map.is_blocked(p) => p,
            _ => {
                let spawns = map.spawn_points();
                spawns[rng.0.random_range(0..spawns.len())]
            }
        };
        let region = map.region_at(position);
        let name: Arc<str> = Arc::from(join.name);
        let entity = commands
            .spawn((
                Player {
                    id,
                    name: name.clone(),
                },
                Pos(position),
                InRegion(region),
                Motion::default(),
                SaveState {
                    last_saved: position,
                },
            ))
            .id();
        if let Ok(mut m) = members.get_mut(regions.entity(region)) {
            m.insert(Member {
                id,
                entity,
                indexed_at: None,
                view: View::Empty,
                name: InlineName::new(&name),
            });
        }
        directory.0.insert(id, Listed { entity, name });
        let greeting = match join.arrival {
            // Its client already had a Welcome on another map: this is a
            // map change, with a fresh standing intent (none, so seq 0).
            Some(mut reason) => {
                // The caller's words, bounded like any text so the message
                // always encodes.
                let mut end = reason.len().min(MAX_TEXT_LEN);
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                reason.truncate(end);
                ServerMessage::MapChanged {
                    map: map.info(),
                    region,
                    position,
                    seq: 0,
                    relocated: true,
                    reason,
                }
            }
            None => ServerMessage::Welcome {
                player_id: id,
                region,
                position,
                tick_rate_hz: settings.tick_rate_hz,
                map: map.info(),
            },
        };
        out.reliable(id, encode(&greeting));
        out.analytics.push(AnalyticsEvent::Joined { id, region });
    }
}

/// Adds join and leave to the Validate phase (leaves first, so a reconnect
/// within one tick works).
pub(crate) fn plugin(schedule: &mut Schedule) {
    schedule.add_systems(
        (apply_leaves, apply_joins)
            .chain()
            .in_set(crate::schedule::TickPhase::Validate),
    );
}
