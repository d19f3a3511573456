//! The dashboard's live feed: every [`FRAME_EVERY`], one encoder task
//! turns the published snapshot of each map somebody watches into one
//! compact binary frame and hands the same bytes to every viewer of that
//! map. The tick thread does nothing for it (the snapshot is published
//! after every tick anyway), and a viewer costs the encoder nothing: 20
//! viewers of one map share one encoding.
//!
//! A frame on the stream is a `u32` little-endian length, then the
//! payload: `u8` kind `1` (positions), `u64` tick, `u32` count, then per
//! player `u32` id, `u16` x and `u16` y (map units times
//! [`POSITION_SCALE`], rounded) and `u16` region, all little-endian: 10
//! bytes a player, 20 KB a frame at 2,000 players.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::watch;

use crate::game::catalog::MapCatalog;

/// How often a frame is made (5 a second).
pub const FRAME_EVERY: Duration = Duration::from_millis(200);
/// Positions are sent as `u16` of map units times this (an eighth of a
/// unit; maps up to 8,191 units a side).
pub const POSITION_SCALE: f32 = 8.0;
/// Kind byte of a positions frame.
pub const KIND_POSITIONS: u8 = 1;

/// The latest frame of each watched map.
#[derive(Default)]
pub struct Feed {
    maps: Mutex<HashMap<String, watch::Sender<Bytes>>>,
}

impl Feed {
    /// The frames of `map`, starting with the next one.
    pub fn subscribe(&self, map: &str) -> watch::Receiver<Bytes> {
        let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        maps.entry(map.to_owned())
            .or_insert_with(|| watch::Sender::new(Bytes::new()))
            .subscribe()
    }

    /// Makes frames every [`FRAME_EVERY`] forever.
    pub async fn run(self: Arc<Self>, catalog: Arc<MapCatalog>) {
        let mut interval = tokio::time::interval(FRAME_EVERY);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            let watched: Vec<(String, watch::Sender<Bytes>)> = {
                let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
                maps.retain(|_, sender| sender.receiver_count() > 0);
                maps.iter().map(|(m, s)| (m.clone(), s.clone())).collect()
            };
            if watched.is_empty() {
                continue;
            }
            let views = catalog.views();
            for (map, sender) in watched {
                if let Some(view) = views.get(&map) {
                    sender.send_replace(encode(&view.snapshot.load()));
                }
            }
        }
    }
}

/// One positions frame of `snapshot`, length prefix included.
pub fn encode(snapshot: &battlegrid_sim::WorldSnapshot) -> Bytes {
    let count = snapshot.player_count();
    let len = 1 + 8 + 4 + count * 10;
    let mut out = BytesMut::with_capacity(4 + len);
    out.put_u32_le(len as u32);
    out.put_u8(KIND_POSITIONS);
    out.put_u64_le(snapshot.tick());
    out.put_u32_le(count as u32);
    let scale = |v: f32| (v * POSITION_SCALE).round().clamp(0.0, f32::from(u16::MAX)) as u16;
    for (id, at, region) in snapshot.iter() {
        out.put_u32_le(id.0 as u32);
        out.put_u16_le(scale(at.x));
        out.put_u16_le(scale(at.y));
        out.put_u16_le(region.0 as u16);
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty snapshot is a header with a count of 0, length-prefixed.
    #[test]
    fn empty_frame_layout() {
        let frame = encode(&battlegrid_sim::WorldSnapshot::default());
        assert_eq!(frame.len(), 4 + 13);
        assert_eq!(&frame[..4], &13u32.to_le_bytes());
        assert_eq!(frame[4], KIND_POSITIONS);
        assert_eq!(&frame[13..17], &0u32.to_le_bytes());
    }
}
