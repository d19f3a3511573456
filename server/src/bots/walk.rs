//! A bot's random walk and its client-side prediction.
//!
//! The bot picks a new standing intent about once a second (a random
//! direction at a modest speed, sometimes a stop, steered back towards the
//! middle near the map's edges) and predicts where it is by the server's
//! rule: `speed` units per second along the direction, stopping per axis at
//! the map's edge. `Welcome` and `PositionCorrected` set the position
//! outright. Blocked tiles are not known to the bot; the server's
//! corrections take care of them.

use battlegrid_protocol::{MapInfo, MoveIntent, Position, Vec2};
use rand::Rng;

/// Slowest walking speed, in units per second.
const MIN_SPEED: f32 = 20.0;
/// Fastest walking speed; well under the server's cap (80 by default) so
/// that intents are never clamped.
const MAX_SPEED: f32 = 40.0;
/// Chance that a new intent is "stand still".
const STOP_CHANCE: f64 = 0.1;
/// Within this distance of an edge, the bot heads back inwards.
const EDGE_MARGIN: f32 = 64.0;

/// A bot's predicted position and standing intent.
#[derive(Debug, Clone)]
pub struct Walker {
    position: Position,
    /// Unit direction times speed: units per second along each axis.
    velocity: Vec2,
    seq: u32,
    width: f32,
    height: f32,
}

impl Walker {
    /// A walker standing at the `Welcome` position on `map`.
    pub fn new(position: Position, map: &MapInfo) -> Self {
        Self {
            position,
            velocity: Vec2::default(),
            seq: 0,
            width: map.width as f32,
            height: map.height as f32,
        }
    }

    /// The predicted position.
    pub fn position(&self) -> Position {
        self.position
    }

    /// Advances the prediction by `seconds` of the standing intent.
    pub fn advance(&mut self, seconds: f32) {
        let x = self.position.x + self.velocity.x * seconds;
        if (0.0..self.width).contains(&x) {
            self.position.x = x;
        }
        let y = self.position.y + self.velocity.y * seconds;
        if (0.0..self.height).contains(&y) {
            self.position.y = y;
        }
    }

    /// Adopts the server's authoritative position.
    pub fn correct(&mut self, position: Position) {
        self.position = position;
    }

    /// Picks the next intent, makes it the standing one and returns it for
    /// sending, with the current prediction in `predicted`.
    pub fn next_intent(&mut self, rng: &mut impl Rng) -> MoveIntent {
        self.seq = self.seq.wrapping_add(1);
        let (direction, speed) = if rng.random_bool(STOP_CHANCE) {
            (Vec2::default(), 0.0)
        } else {
            let angle = self.heading(rng);
            let speed = rng.random_range(MIN_SPEED..=MAX_SPEED);
            (
                Vec2 {
                    x: angle.cos(),
                    y: angle.sin(),
                },
                speed,
            )
        };
        self.velocity = Vec2 {
            x: direction.x * speed,
            y: direction.y * speed,
        };
        MoveIntent {
            seq: self.seq,
            direction,
            speed,
            predicted: self.position,
        }
    }

    /// A random heading in radians, or one towards the map's middle (give or
    /// take 45°) when near an edge.
    fn heading(&self, rng: &mut impl Rng) -> f32 {
        let p = self.position;
        let near_edge = p.x < EDGE_MARGIN
            || p.y < EDGE_MARGIN
            || p.x > self.width - EDGE_MARGIN
            || p.y > self.height - EDGE_MARGIN;
        if near_edge {
            let inwards = (self.height / 2.0 - p.y).atan2(self.width / 2.0 - p.x);
            inwards + rng.random_range(-std::f32::consts::FRAC_PI_4..=std::f32::consts::FRAC_PI_4)
        } else {
            rng.random_range(0.0..std::f32::consts::TAU)
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn map() -> MapInfo {
        MapInfo {
            name: "t".into(),
            width: 1000,
            height: 500,
            region_cols: 2,
            region_rows: 1,
        }
    }

    /// The prediction moves `speed` units per second along the intent, and
    /// each intent carries the next sequence number and the prediction.
    #[test]
    fn prediction_follows_the_intent() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut walker = Walker::new(Position::new(500.0, 250.0), &map());
        let mut last_seq = 0;
        for _ in 0..50 {
            let start = walker.position();
            let intent = walker.next_intent(&mut rng);
            assert_eq!(intent.seq, last_seq + 1);
            assert_eq!(intent.predicted, start);
            assert!(intent.validate().is_ok());
            assert!(intent.speed == 0.0 || (MIN_SPEED..=MAX_SPEED).contains(&intent.speed));
            last_seq = intent.seq;
            walker.advance(0.5);
            let moved = start.distance_squared(walker.position()).sqrt();
            assert!(
                (moved - intent.speed * 0.5).abs() < 1e-3,
                "{moved} vs {intent:?}"
            );
            walker.correct(start);
        }
    }

    /// Walking into an edge stops on that axis only, like the server.
    #[test]
    fn edges_stop_per_axis() {
        let mut walker = Walker::new(Position::new(990.0, 100.0), &map());
        walker.velocity = Vec2 { x: 30.0, y: 10.0 };
        walker.advance(1.0);
        assert_eq!(walker.position(), Position::new(990.0, 110.0));
    }

    /// Many intents from a corner keep the walker inside the map.
    #[test]
    fn the_walk_stays_inside_the_map() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut walker = Walker::new(Position::new(1.0, 1.0), &map());
        for _ in 0..2_000 {
            walker.next_intent(&mut rng);
            walker.advance(1.0);
            let p = walker.position();
            assert!(
                (0.0..1000.0).contains(&p.x) && (0.0..500.0).contains(&p.y),
                "{p:?}"
            );
        }
    }

    /// A correction replaces the prediction.
    #[test]
    fn corrections_replace_the_prediction() {
        let mut walker = Walker::new(Position::new(10.0, 10.0), &map());
        walker.correct(Position::new(42.0, 24.0));
        assert_eq!(walker.position(), Position::new(42.0, 24.0));
    }
}
