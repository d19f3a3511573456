//! Builds the simulation from `[world]`: the built-in map and the rules.
//!
//! Loading maps from `assets-maps/` is a later issue; until then the map is
//! described by [`MapConfig`] and validated by the simulation's
//! [`MapSpec::new`]. Settings not exposed in `[world]` keep the
//! simulation's defaults.

use battlegrid_protocol::Position;
use battlegrid_sim::{MapError, MapSpec, SettingsError, SimSettings, Simulation};

use super::config::{MapConfig, WorldConfig};

/// Why the world could not be built from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// The map description is invalid.
    #[error("invalid [world.map]: {0}")]
    Map(#[from] MapError),
    /// A rule is invalid.
    #[error("invalid [world]: {0}")]
    Settings(#[from] SettingsError),
}

/// The map described by `config`.
pub fn build_map(config: &MapConfig) -> Result<MapSpec, MapError> {
    MapSpec::new(
        config.name.clone(),
        (config.width, config.height),
        config.tile_size,
        (config.region_cols, config.region_rows),
        &[],
        config
            .spawn_points
            .iter()
            .map(|&[x, y]| Position::new(x, y))
            .collect(),
    )
}

/// The simulation's settings from `config`.
pub fn settings(config: &WorldConfig) -> SimSettings {
    SimSettings {
        tick_rate_hz: config.tick_rate_hz,
        view_radius: config.view_radius,
        shout_radius: config.shout_radius,
        max_speed: config.max_speed,
        save_interval_ticks: config.save_interval_ticks,
        max_commands_per_tick: config.max_commands_per_tick,
        ..SimSettings::default()
    }
}

/// A simulation of the configured map and rules, with no players.
pub fn build(config: &WorldConfig) -> Result<Simulation, WorldError> {
    let map = build_map(&config.map)?;
    Ok(Simulation::try_new(map, settings(config), config.seed)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default world is valid: 4096x4096 in 8x8 regions, rules at the
    /// protocol's documented defaults.
    #[test]
    fn default_world_builds() {
        let sim = build(&WorldConfig::default()).unwrap();
        let info = sim.map().info();
        assert_eq!((info.width, info.height), (4096, 4096));
        assert_eq!((info.region_cols, info.region_rows), (8, 8));
        assert_eq!(sim.map().spawn_points().len(), 9);
        assert_eq!(sim.settings(), &SimSettings::default());
    }

    /// A spawn point off the map is refused with the map's error.
    #[test]
    fn bad_spawn_is_refused() {
        let mut config = WorldConfig::default();
        config.map.spawn_points = vec![[5000.0, 1.0]];
        assert!(matches!(
            build(&config),
            Err(WorldError::Map(MapError::SpawnOutside(..)))
        ));
    }
}
