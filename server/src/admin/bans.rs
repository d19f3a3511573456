//! The ban list: every account's ban in memory (filled from the store at
//! start, written through to it), so the checks on login, on the admin
//! session endpoint and on `Hello` are a map lookup, never a disk read.
//!
//! A ban with an end stops holding at that time by itself (checked on
//! each lookup); its record stays until it is lifted or replaced.

use crate::store::{AccountId, BanRecord, Store, StoreError};

/// Bans by account.
#[derive(Debug, Default)]
pub struct Bans {
    bans: papaya::HashMap<AccountId, BanRecord>,
}

impl Bans {
    /// The bans in `store`.
    pub async fn load(store: &dyn Store) -> Result<Self, StoreError> {
        let bans = Self::default();
        {
            let pinned = bans.bans.pin();
            for (id, ban) in store.bans().await? {
                pinned.insert(id, ban);
            }
        }
        Ok(bans)
    }

    /// The ban of `id` if it holds at `now_ms`.
    pub fn active(&self, id: AccountId, now_ms: u64) -> Option<BanRecord> {
        self.bans
            .pin()
            .get(&id)
            .filter(|ban| ban.active(now_ms))
            .cloned()
    }

    /// Bans `id` (store first, so a ban in the list is on disk).
    pub async fn ban(
        &self,
        store: &dyn Store,
        id: AccountId,
        ban: BanRecord,
    ) -> Result<(), StoreError> {
        store.put_ban(id, &ban).await?;
        self.bans.pin().insert(id, ban);
        Ok(())
    }

    /// Lifts the ban of `id`; `false` when there was none.
    pub async fn unban(&self, store: &dyn Store, id: AccountId) -> Result<bool, StoreError> {
        let stored = store.remove_ban(id).await?;
        let listed = self.bans.pin().remove(&id).is_some();
        Ok(stored || listed)
    }

    /// Every ban, holding or not, by account id.
    pub fn all(&self) -> Vec<(AccountId, BanRecord)> {
        let mut all: Vec<_> = self
            .bans
            .pin()
            .iter()
            .map(|(id, ban)| (*id, ban.clone()))
            .collect();
        all.sort_by_key(|(id, _)| *id);
        all
    }
}

/// The words a banned player is told: the reason and, when it ends, when.
pub fn describe(ban: &BanRecord) -> String {
    match ban.until_ms {
        Some(until) => format!(
            "this account is banned for {} more s: {}",
            until.saturating_sub(crate::auth::now_ms()).div_ceil(1000),
            ban.reason
        ),
        None => format!("this account is banned: {}", ban.reason),
    }
}
