//! Small value types shared by many messages: identifiers, positions, codes.

use serde::{Deserialize, Serialize};

/// Identifies a player for as long as its account exists (it is the account id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PlayerId(pub u64);

/// Identifies a region of the map: `row * region_cols + col`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RegionId(pub u32);

/// A point in world units. The origin is the map's top-left corner, `x` grows
/// to the right and `y` grows downwards (the convention of the Tiled editor).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Position {
    /// Horizontal coordinate in world units.
    pub x: f32,
    /// Vertical coordinate in world units.
    pub y: f32,
}

impl Position {
    /// A position from its coordinates.
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    /// Squared Euclidean distance, exact enough for radius tests without a sqrt.
    pub fn distance_squared(self, other: Position) -> f32 {
        let dx = self.x - other.x;
        let dy = self.y - other.y;
        dx * dx + dy * dy
    }
}

/// A direction; the server normalises it, so its length does not matter except
/// that a zero vector means "stand still".
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Vec2 {
    /// Horizontal component.
    pub x: f32,
    /// Vertical component.
    pub y: f32,
}

pub use crate::error_code::ErrorCode;
