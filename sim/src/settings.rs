//! Tunable rules of the simulation, as one resource with documented defaults.
//!
//! Settings are trusted configuration (they come from the server's config
//! file, not from clients); [`SimSettings::validate`] catches values that
//! would make the rules meaningless. Map geometry lives in [`crate::map`].

use bevy_ecs::prelude::Resource;

/// The rules every tick applies. `Default` gives the product's defaults.
#[derive(Debug, Clone, PartialEq, Resource, serde::Serialize, serde::Deserialize)]
pub struct SimSettings {
    /// Ticks per second. Default 20.
    pub tick_rate_hz: u16,
    /// Radius (world units, inclusive) within which a player sees others.
    /// Default 48.
    pub view_radius: f32,
    /// Radius (world units, inclusive) within which a shout is heard,
    /// across region borders. Default 64.
    pub shout_radius: f32,
    /// Highest speed a player may move at, in world units per second; faster
    /// intents are capped and corrected. Default 80.
    pub max_speed: f32,
    /// How far (world units) a client's predicted position may be from the
    /// server's before the client is sent a correction. Default 4.
    pub correction_tolerance: f32,
    /// Hysteresis of region handoff: a player changes region only once it is
    /// more than this many world units past its region's border. Default 2.
    pub handoff_margin: f32,
    /// A player that moved is asked to be saved at most once per this many
    /// ticks (and always on leave). Default 200 (10 s at 20 Hz).
    pub save_interval_ticks: u64,
    /// Inputs accepted per player per tick; further ones are refused with
    /// `RATE_LIMITED`. Default 8.
    pub max_commands_per_tick: u32,
}

impl Default for SimSettings {
    fn default() -> Self {
        Self {
            tick_rate_hz: 20,
            view_radius: 48.0,
            shout_radius: 64.0,
            max_speed: 80.0,
            correction_tolerance: 4.0,
            handoff_margin: 2.0,
            save_interval_ticks: 200,
            max_commands_per_tick: 8,
        }
    }
}

/// A setting that makes the rules meaningless.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    /// The tick rate is zero.
    #[error("tick_rate_hz must be at least 1")]
    ZeroTickRate,
    /// A distance or speed is negative, NaN or infinite.
    #[error("{0} must be a finite number >= 0")]
    BadDistance(&'static str),
    /// The save interval is zero.
    #[error("save_interval_ticks must be at least 1")]
    ZeroSaveInterval,
    /// No input at all would be accepted.
    #[error("max_commands_per_tick must be at least 1")]
    ZeroCommandBudget,
}

impl SimSettings {
    /// Checks every setting; `Simulation::new` refuses invalid ones.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.tick_rate_hz == 0 {
            return Err(SettingsError::ZeroTickRate);
        }
        for (name, value) in [
            ("view_radius", self.view_radius),
            ("shout_radius", self.shout_radius),
            ("max_speed", self.max_speed),
            ("correction_tolerance", self.correction_tolerance),
            ("handoff_margin", self.handoff_margin),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(SettingsError::BadDistance(name));
            }
        }
        if self.save_interval_ticks == 0 {
            return Err(SettingsError::ZeroSaveInterval);
        }
        if self.max_commands_per_tick == 0 {
            return Err(SettingsError::ZeroCommandBudget);
        }
        Ok(())
    }

    /// Largest distance a player covers in one tick.
    pub fn max_step(&self) -> f32 {
        self.max_speed / f32::from(self.tick_rate_hz.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented defaults are valid.
    #[test]
    fn defaults_are_valid() {
        assert_eq!(SimSettings::default().validate(), Ok(()));
        assert_eq!(SimSettings::default().max_step(), 4.0);
    }

    /// Nonsense values are named in the error.
    #[test]
    fn invalid_values_are_refused() {
        let nan = SimSettings {
            view_radius: f32::NAN,
            ..SimSettings::default()
        };
        assert_eq!(
            nan.validate(),
            Err(SettingsError::BadDistance("view_radius"))
        );
        let zero = SimSettings {
            tick_rate_hz: 0,
            ..SimSettings::default()
        };
        assert_eq!(zero.validate(), Err(SettingsError::ZeroTickRate));
    }
}
