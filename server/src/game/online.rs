//! The players connected right now, for the admin API: who (account,
//! name, session), from where, since when, and their connection's
//! outbound side, by player id.
//!
//! The gateway adds a player when it hands the connection to the tick and
//! removes it when the connection's reader ends; nothing on the tick
//! thread touches this. The admin API reads it to list players (with the
//! positions of the published world snapshots), to show one player's
//! connection figures, and to reach a connection directly: kick, ban,
//! announcements. A newer connection of the same account replaces the
//! entry; the older one's removal then leaves the newer in place.

use std::net::SocketAddr;
use std::sync::Arc;

use battlegrid_protocol::{ErrorCode, PlayerId};
use bytes::Bytes;

use super::peer::{Peer, PeerFigures};
use crate::store::{AccountId, TokenHash};

/// One connected player.
#[derive(Debug)]
pub struct OnlinePlayer {
    /// The connection's number (unique for the process).
    pub conn: u64,
    /// Its account.
    pub account: AccountId,
    /// Display name.
    pub name: String,
    /// The session it connected with.
    pub session: TokenHash,
    /// The client's address.
    pub addr: SocketAddr,
    /// When it joined, unix ms.
    pub since_ms: u64,
    /// Its outbound side (shared with the tick and the writer).
    pub peer: Arc<Peer>,
}

/// Connection figures of one player, read when asked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConnectionFigures {
    /// QUIC's smoothed round-trip time, ms.
    pub rtt_ms: f64,
    /// UDP bytes received from the client.
    pub bytes_in: u64,
    /// UDP bytes sent to the client.
    pub bytes_out: u64,
    /// The outbound queue.
    pub outbound: PeerFigures,
}

impl OnlinePlayer {
    /// The connection's figures now.
    pub fn figures(&self) -> ConnectionFigures {
        let stats = self.peer.connection.stats();
        ConnectionFigures {
            rtt_ms: self.peer.connection.rtt().as_secs_f64() * 1000.0,
            bytes_in: stats.udp_rx.bytes,
            bytes_out: stats.udp_tx.bytes,
            outbound: self.peer.figures(),
        }
    }

    /// Queues an encoded message for the client, outside the tick (the
    /// writer takes it with the tick's messages).
    pub fn send(&self, bytes: Bytes) {
        self.peer.push_reliable(bytes);
        self.peer.flush();
    }

    /// Tells the client `code` and `reason`, then closes the connection;
    /// its reader ends and the tick takes the player out of the world.
    pub fn close(&self, code: ErrorCode, reason: &str) {
        self.peer.close(code, reason);
    }
}

/// The connected players, by id.
#[derive(Debug, Default)]
pub struct Online {
    players: papaya::HashMap<PlayerId, Arc<OnlinePlayer>>,
}

impl Online {
    /// Records `player` as connected (replacing an older connection).
    pub fn insert(&self, id: PlayerId, player: OnlinePlayer) {
        self.players.pin().insert(id, Arc::new(player));
    }

    /// Connection `conn` of `id` ended; a newer connection's entry stays.
    pub fn remove(&self, id: PlayerId, conn: u64) {
        let _ = self
            .players
            .pin()
            .remove_if(&id, |_, player| player.conn == conn);
    }

    /// The player `id`, if connected.
    pub fn get(&self, id: PlayerId) -> Option<Arc<OnlinePlayer>> {
        self.players.pin().get(&id).cloned()
    }

    /// Every connected player, by id.
    pub fn all(&self) -> Vec<(PlayerId, Arc<OnlinePlayer>)> {
        let mut all: Vec<_> = self
            .players
            .pin()
            .iter()
            .map(|(id, p)| (*id, Arc::clone(p)))
            .collect();
        all.sort_by_key(|(id, _)| *id);
        all
    }

    /// How many are connected.
    pub fn len(&self) -> usize {
        self.players.len()
    }

    /// Whether nobody is.
    pub fn is_empty(&self) -> bool {
        self.players.is_empty()
    }
}
