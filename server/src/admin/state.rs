//! What the admin API's handlers share, and the player positions they
//! read from the worlds' published snapshots.

use crate::analytics::{Analytics, Event};
use std::sync::Arc;
use std::time::Instant;

use battlegrid_protocol::{PlayerId, Position, RegionId};

use super::sampler::Sampler;
use crate::auth::AuthState;
use crate::config::Config;
use crate::game::catalog::MapCatalog;
use crate::game::online::Online;
use crate::game::stats::GameStats;
use crate::game::tick::Control;

/// The admin API's state.
#[derive(Clone)]
pub struct AdminState {
    /// Accounts, sessions, bans.
    pub auth: AuthState,
    /// Who is connected.
    pub online: Arc<Online>,
    /// The live maps and each world's published snapshot.
    pub catalog: Arc<MapCatalog>,
    /// To the tick thread (map changes).
    pub control: std::sync::mpsc::Sender<Control>,
    /// The game's counters.
    pub stats: Arc<GameStats>,
    /// Messages per second and history.
    pub sampler: Arc<Sampler>,
    /// When the server started.
    pub started: Instant,
    /// The configuration in effect, secrets redacted.
    pub config: Arc<serde_json::Value>,
}

/// Where one player is, per the latest snapshots.
#[derive(Debug, Clone)]
pub struct Placed {
    /// The player.
    pub id: PlayerId,
    /// Its map.
    pub map: String,
    /// Its region on that map.
    pub region: RegionId,
    /// Its position.
    pub position: Position,
}

impl AdminState {
    /// Every player in a world, by map then region then id, from the
    /// snapshots the worlds published after their last tick.
    pub fn placed(&self) -> Vec<Placed> {
        let views = self.catalog.views();
        let mut all = Vec::new();
        for (map, view) in views.iter() {
            let snapshot = view.snapshot.load();
            all.extend(snapshot.iter().map(|(id, position, region)| Placed {
                id,
                map: map.clone(),
                region,
                position,
            }));
        }
        all
    }

    /// Where `id` is, if in a world.
    pub fn find(&self, id: PlayerId) -> Option<Placed> {
        let views = self.catalog.views();
        views.iter().find_map(|(map, view)| {
            let (position, region) = view.snapshot.load().find(id)?;
            Some(Placed {
                id,
                map: map.clone(),
                region,
                position,
            })
        })
    }
}

/// The configuration as JSON with the admin token replaced by
/// `"<redacted>"`.
pub fn redacted_config(config: &Config) -> serde_json::Value {
    let mut value = serde_json::to_value(config).expect("the configuration serialises");
    if let Some(token) = value.pointer_mut("/admin_api/token")
        && !token.is_null()
    {
        *token = serde_json::Value::from("<redacted>");
    }
    value
}

/// What the admin API did, for the log and (issue 14) the analytics
/// pipeline: every kick, ban, unban and announcement passes through
/// [`record`], the one place to count them.
#[derive(Debug, Clone)]
pub enum AdminAction {
    /// A player was kicked.
    Kicked {
        /// Who.
        player: PlayerId,
        /// Why.
        reason: String,
    },
    /// An account was banned.
    Banned {
        /// Which.
        account: u64,
        /// Why.
        reason: String,
        /// Until when (unix ms), if it ends.
        until_ms: Option<u64>,
        /// Sessions revoked.
        sessions: usize,
        /// Whether a live connection was closed.
        was_online: bool,
    },
    /// A ban was lifted.
    Unbanned {
        /// Which account.
        account: u64,
    },
    /// An announcement went out.
    Announced {
        /// To how many players.
        recipients: usize,
    },
}

/// Records an admin action: an info log line, and for kicks and bans an
/// analytics event (unbans and announcements have no event type).
pub fn record(analytics: &Analytics, action: &AdminAction) {
    tracing::info!(?action, "admin action");
    let event = match action {
        AdminAction::Kicked { player, reason } => Event::Kick {
            account: player.0,
            reason: reason.clone(),
        },
        AdminAction::Banned {
            account,
            reason,
            until_ms,
            ..
        } => Event::Ban {
            account: *account,
            until: until_ms.map(|ms| ms / 1000),
            reason: reason.clone(),
        },
        AdminAction::Unbanned { .. } | AdminAction::Announced { .. } => return,
    };
    analytics.emit(None, event);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token never appears in the configuration the API shows.
    #[test]
    fn the_token_is_redacted() {
        let mut config = Config::default();
        config.admin_api.token = Some("a-very-secret-token-1".into());
        let value = redacted_config(&config);
        assert_eq!(value["admin_api"]["token"], "<redacted>");
        assert!(!value.to_string().contains("a-very-secret-token-1"));
        assert!(redacted_config(&Config::default())["admin_api"]["token"].is_null());
    }
}
