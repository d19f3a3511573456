//! Accounts and sessions over HTTP: sign-up, login, logout, `GET /v1/me`,
//! and the in-memory token table the game gateway will read.
//!
//! Submodules: `routes` (handlers), `admin` (sessions for trusted tools on
//! the admin listener), `names` (name and password rules),
//! `password` (Argon2id on the blocking pool), `token` (token format and
//! hash), `token_table` (live sessions), `rate_limit`, `extract` (JSON and
//! bearer extractors), `error` (the `{code, message}` answer). Listener
//! setup, body limits and timeouts are in `crate::http`, not here.

mod admin;
mod error;
mod extract;
mod names;
mod password;
mod rate_limit;
mod routes;
mod token;
mod token_table;

pub use admin::admin_routes;
pub use error::ApiError;
pub use extract::ApiJson;
pub use names::{
    NAME_MAX, NAME_MIN, PASSWORD_MAX_BYTES, PASSWORD_MIN_CHARS, PASSWORD_MIN_SCORE, check_password,
    name_key,
};
pub use password::{PasswordError, Passwords};
pub use rate_limit::RateLimiters;
pub use routes::router;
pub use token::{hash as token_hash, well_formed as token_well_formed};
pub use token_table::{LiveSession, Lookup, TokenTable};

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::SessionConfig;
use crate::store::{Store, TokenHash};

/// Current wall-clock time in unix milliseconds. Session expiry is
/// wall-clock based because sessions outlive the process.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The stored "password hash" of an account made through the admin API
/// ([`admin_routes`]): not a PHC string, so [`Passwords::verify`] checks the
/// dummy hash instead and no password ever matches; such accounts play only
/// with sessions the admin API issues.
pub const NO_PASSWORD: &str = "!no-password";

/// Shared state of the auth API.
pub type AuthState = Arc<Auth>;

/// Everything the auth handlers share.
pub struct Auth {
    /// Accounts and sessions on disk.
    pub store: Arc<dyn Store>,
    /// Live sessions; the gateway reads the same table.
    pub tokens: Arc<TokenTable>,
    /// Argon2id hashing with a concurrency cap.
    pub passwords: Passwords,
    /// Sign-up and login rate limits.
    pub limits: RateLimiters,
    /// Session lifetimes.
    pub sessions: SessionConfig,
    /// Sign-up and login events for the analytics files.
    pub analytics: crate::analytics::Analytics,
    /// Banned accounts get no session.
    pub bans: Arc<crate::admin::Bans>,
}

impl Auth {
    /// Fills the token table from the store's sessions, dropping (and
    /// deleting) those that expired while the server was down.
    pub async fn load_sessions(&self) -> Result<usize, crate::store::StoreError> {
        let now = now_ms();
        let idle_ms = self.sessions.idle_ttl_secs.saturating_mul(1000);
        let mut loaded = 0;
        for (hash, record) in self.store.sessions().await? {
            if now >= record.expires_at_ms || now >= record.last_seen_ms.saturating_add(idle_ms) {
                self.store.remove_session(hash).await?;
            } else {
                self.tokens.insert(hash, &record);
                loaded += 1;
            }
        }
        Ok(loaded)
    }

    /// Removes expired sessions from the table and the store, and idle
    /// rate-limit keys. Run periodically; correctness does not depend on it.
    pub async fn sweep(&self) {
        for hash in self.tokens.sweep(now_ms()) {
            if let Err(err) = self.store.remove_session(hash).await {
                tracing::warn!(%err, "removing an expired session from the store");
            }
        }
        self.limits.prune();
    }

    /// Runs [`Auth::sweep`] every `sweep_interval_secs` forever.
    pub async fn sweep_forever(self: Arc<Self>) {
        let period = Duration::from_secs(self.sessions.sweep_interval_secs.max(1));
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            self.sweep().await;
        }
    }

    /// Revokes every session of `account` (table first, then the store):
    /// how a ban logs a player out everywhere. Returns how many there were.
    pub async fn revoke_account(
        &self,
        account: crate::store::AccountId,
    ) -> Result<usize, crate::store::StoreError> {
        let hashes = self.tokens.remove_account(account);
        for hash in &hashes {
            self.store.remove_session(*hash).await?;
        }
        Ok(hashes.len())
    }

    /// Persists a session's last use in the background (not acknowledged to
    /// anyone, so it need not block the request).
    fn spawn_touch(&self, hash: TokenHash, at_ms: u64) {
        let store = Arc::clone(&self.store);
        tokio::spawn(async move {
            if let Err(err) = store.touch_session(hash, at_ms).await {
                tracing::warn!(%err, "saving a session's last use");
            }
        });
    }
}
