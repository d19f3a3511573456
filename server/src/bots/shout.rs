//! Shout texts that carry their own send time, so hearers can measure
//! delivery latency.
//!
//! All bots run in one process and share one [`ShoutClock`] (a monotonic
//! epoch), so the sender's timestamp and the hearer's clock agree exactly.
//! The text is `bots <sender> <micros since epoch>`; shouts from anyone else
//! (real players on the same server) do not parse and are not measured.

use std::time::{Duration, Instant};

/// The shared epoch of shout timestamps.
#[derive(Debug, Clone, Copy)]
pub struct ShoutClock {
    epoch: Instant,
}

impl ShoutClock {
    /// A clock starting now.
    pub fn start() -> Self {
        Self {
            epoch: Instant::now(),
        }
    }

    /// Microseconds since the epoch.
    fn now_micros(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The text of a shout by bot `sender`, stamped now.
    pub fn stamp(&self, sender: u32) -> String {
        format!("bots {sender} {}", self.now_micros())
    }

    /// For a bot shout, its sender and how long ago it was sent.
    pub fn read(&self, text: &str) -> Option<(u32, Duration)> {
        let mut parts = text.strip_prefix("bots ")?.split(' ');
        let sender = parts.next()?.parse().ok()?;
        let sent: u64 = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        let age = self.now_micros().saturating_sub(sent);
        Some((sender, Duration::from_micros(age)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stamped text reads back as its sender with a small, non-negative age.
    #[test]
    fn stamp_round_trip() {
        let clock = ShoutClock::start();
        let text = clock.stamp(17);
        let (sender, age) = clock.read(&text).unwrap();
        assert_eq!(sender, 17);
        assert!(age < Duration::from_secs(60));
        assert!(battlegrid_protocol::validate::validate_text(&text).is_ok());
    }

    /// The age is measured against the shared epoch.
    #[test]
    fn age_counts_from_the_stamp() {
        let clock = ShoutClock::start();
        let (_, age) = clock.read("bots 3 0").unwrap();
        assert!(age <= clock.epoch.elapsed());
    }

    /// Texts of other speakers are not mistaken for bot shouts.
    #[test]
    fn foreign_texts_do_not_parse() {
        let clock = ShoutClock::start();
        for text in [
            "",
            "hello",
            "bots",
            "bots x 12",
            "bots 1",
            "bots 1 2 3",
            "bots -1 5",
            "Bots 1 2",
        ] {
            assert_eq!(clock.read(text), None, "{text:?}");
        }
    }
}
