//! Durable state behind a trait: accounts, sessions and saved player state.
//!
//! [`Store`] is the seam where a networked database replaces the embedded
//! one in a multi-node deployment; [`SledStore`] is the embedded
//! implementation. Methods documented as durable return only after the data
//! is on disk, so callers may acknowledge it to clients. The store checks no
//! business rules (name syntax, password strength, expiry): that is `auth`'s
//! job. Bans are stored here (the admin API decides what they mean). Social
//! graph and chat trees come with later issues.

mod records;
mod sled_store;

pub use records::{
    AccountId, AccountRecord, BanRecord, NewAccount, PlayerRecord, SessionRecord, TokenHash,
};
pub use sled_store::SledStore;

use async_trait::async_trait;

/// Errors of a [`Store`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another account already has this name (compared case-insensitively).
    #[error("account name is taken")]
    NameTaken,
    /// The embedded database failed (I/O error or corruption).
    #[error("database error: {0}")]
    Db(#[from] sled::Error),
    /// A stored record could not be decoded.
    #[error("corrupt record in tree {tree}: {reason}")]
    Corrupt {
        /// Tree holding the record.
        tree: &'static str,
        /// What was wrong with it.
        reason: String,
    },
}

/// Persistent state of the server. Implementations are shared between tasks
/// (`Arc<dyn Store>`), so every method takes `&self`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates an account with a fresh id; fails with [`StoreError::NameTaken`]
    /// if `name_key` is in use. Durable.
    async fn create_account(&self, account: NewAccount) -> Result<AccountRecord, StoreError>;

    /// The account whose lowercased name is `name_key`.
    async fn account_by_name(&self, name_key: &str) -> Result<Option<AccountRecord>, StoreError>;

    /// The account with this id.
    async fn account(&self, id: AccountId) -> Result<Option<AccountRecord>, StoreError>;

    /// Records a new session. Durable.
    async fn put_session(&self, hash: TokenHash, session: &SessionRecord)
    -> Result<(), StoreError>;

    /// Updates a session's last use without waiting for disk: losing it in a
    /// crash only makes the idle expiry start earlier.
    async fn touch_session(&self, hash: TokenHash, last_seen_ms: u64) -> Result<(), StoreError>;

    /// Deletes a session (logout, revocation, expiry). Durable. Deleting a
    /// missing session is not an error.
    async fn remove_session(&self, hash: TokenHash) -> Result<(), StoreError>;

    /// Every stored session, to fill the token table at start. O(n): call
    /// at start only.
    async fn sessions(&self) -> Result<Vec<(TokenHash, SessionRecord)>, StoreError>;

    /// The saved state of a player, `None` for one that never played.
    async fn load_player(&self, id: AccountId) -> Result<Option<PlayerRecord>, StoreError>;

    /// Saves many players in one batch. Durable.
    async fn save_players(&self, players: &[(AccountId, PlayerRecord)]) -> Result<(), StoreError>;

    /// Records (or replaces) the ban of `id`. Durable.
    async fn put_ban(&self, id: AccountId, ban: &BanRecord) -> Result<(), StoreError>;

    /// Lifts the ban of `id`; `false` when there was none. Durable.
    async fn remove_ban(&self, id: AccountId) -> Result<bool, StoreError>;

    /// Every stored ban, to fill the ban list at start. O(n): call at start.
    async fn bans(&self) -> Result<Vec<(AccountId, BanRecord)>, StoreError>;

    /// Writes everything buffered to disk.
    async fn flush(&self) -> Result<(), StoreError>;
}
