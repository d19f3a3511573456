//! Where each player was last saved, as the tick saw the saves go out.
//!
//! Two uses. A player who left recently re-joins where the tick last saw
//! it, not at the position the gateway read from the store, which may
//! predate a save still on its way to the saver. And a world rebuilt after
//! a panic puts its players back at their last saved places: the broken
//! simulation is never read, so this is the only record of them.

use std::collections::HashMap;

use battlegrid_protocol::PlayerId;

use super::Save;

/// How long the tick remembers where a departed player stood: far longer
/// than a save takes to reach the store. 1200 ticks is a minute at 20 Hz.
pub const RECENT_TICKS: u64 = 1200;

/// The last save of every player in the game, and of those who left
/// within [`RECENT_TICKS`].
#[derive(Debug, Default)]
pub struct Places {
    /// Players in the game: their latest save (or the place they joined at).
    playing: HashMap<PlayerId, Save>,
    /// Players who left: their latest save and the tick they left at.
    departed: HashMap<PlayerId, (Save, u64)>,
}

impl Places {
    /// `id` joined (or re-joined) at `place`, when it has one.
    pub fn joined(&mut self, id: PlayerId, place: Option<Save>) {
        self.departed.remove(&id);
        match place {
            Some(save) => self.playing.insert(id, save),
            None => self.playing.remove(&id),
        };
    }

    /// `id` left the game at `tick`; its leave save may still come.
    pub fn left(&mut self, id: PlayerId, tick: u64) {
        if let Some(save) = self.playing.remove(&id) {
            self.departed.insert(id, (save, tick));
        }
    }

    /// A world saved `save` at `tick`; `playing` says whether its player
    /// is still in the game (else it is its leave save).
    pub fn saved(&mut self, save: Save, playing: bool, tick: u64) {
        if playing {
            self.playing.insert(save.id, save);
        } else {
            self.departed.insert(save.id, (save, tick));
        }
    }

    /// Where `id` stood when it left, if that was recent.
    pub fn departed(&self, id: PlayerId) -> Option<&Save> {
        self.departed.get(&id).map(|(save, _)| save)
    }

    /// The last save of a player in the game.
    pub fn playing(&self, id: PlayerId) -> Option<&Save> {
        self.playing.get(&id)
    }

    /// Forgets departures before `tick`.
    pub fn forget_departed_before(&mut self, tick: u64) {
        self.departed.retain(|_, (_, at)| *at >= tick);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use battlegrid_protocol::Position;

    use super::*;

    fn save(id: u64, x: f32) -> Save {
        Save {
            id: PlayerId(id),
            map: Arc::from("small"),
            position: Position::new(x, 1.0),
        }
    }

    /// A player's saves follow it out of the game and back in; old
    /// departures are forgotten.
    #[test]
    fn saves_follow_players_in_and_out() {
        let mut p = Places::default();
        let id = PlayerId(1);
        p.joined(id, Some(save(1, 10.0)));
        p.saved(save(1, 20.0), true, 5);
        assert_eq!(p.playing(id), Some(&save(1, 20.0)));
        p.left(id, 6);
        assert_eq!(p.playing(id), None);
        assert_eq!(p.departed(id), Some(&save(1, 20.0)));
        // The leave save comes in the next tick and wins.
        p.saved(save(1, 21.0), false, 7);
        assert_eq!(p.departed(id), Some(&save(1, 21.0)));
        p.forget_departed_before(7);
        assert!(p.departed(id).is_some());
        p.forget_departed_before(8);
        assert!(p.departed(id).is_none());
    }
}
