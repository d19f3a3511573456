//! [`Store`] on sled 0.34, the embedded database.
//!
//! Trees: `accounts` (id -> account), `account_names` (lowercased name -> id),
//! `sessions` (token SHA-256 -> session), `players` (id -> saved state),
//! `bans` (id -> ban).
//! Durable writes end with `flush_async`, which fsyncs sled's log; sled
//! batches concurrent flushes, so many sign-ups at once share one fsync.
//! Nothing here calls `len()` or scans a tree except [`Store::sessions`],
//! which runs once at start.

use std::path::Path;

use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::records::{decode, decode_hash, decode_id, encode};
use super::{
    AccountId, AccountRecord, BanRecord, NewAccount, PlayerRecord, SessionRecord, Store,
    StoreError, TokenHash,
};

const ACCOUNTS: &str = "accounts";
const ACCOUNT_NAMES: &str = "account_names";
const SESSIONS: &str = "sessions";
const PLAYERS: &str = "players";
const BANS: &str = "bans";

/// The embedded store: one sled database in the data directory.
#[derive(Clone)]
pub struct SledStore {
    /// Owns the log and page cache; flushes go through it.
    db: sled::Db,
    accounts: sled::Tree,
    account_names: sled::Tree,
    sessions: sled::Tree,
    players: sled::Tree,
    bans: sled::Tree,
}

impl SledStore {
    /// Opens (or creates) the store under `dir` with a page cache of
    /// `cache_capacity_bytes` (a soft limit in sled).
    pub fn open(dir: &Path, cache_capacity_bytes: u64) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir.join("store"))
            .cache_capacity(cache_capacity_bytes)
            .open()?;
        Ok(Self {
            accounts: db.open_tree(ACCOUNTS)?,
            account_names: db.open_tree(ACCOUNT_NAMES)?,
            sessions: db.open_tree(SESSIONS)?,
            players: db.open_tree(PLAYERS)?,
            bans: db.open_tree(BANS)?,
            db,
        })
    }
}

#[async_trait]
impl Store for SledStore {
    async fn create_account(&self, account: NewAccount) -> Result<AccountRecord, StoreError> {
        // Cheap early answer for the common duplicate; the transaction below
        // is what actually guarantees uniqueness under races.
        if self
            .account_names
            .contains_key(account.name_key.as_bytes())?
        {
            return Err(StoreError::NameTaken);
        }
        let record = AccountRecord {
            // +1: ids start at 1 so that 0 never names an account.
            id: AccountId(self.db.generate_id()? + 1),
            name: account.name,
            password_hash: account.password_hash,
            created_at_ms: account.created_at_ms,
        };
        let id_key = record.id.to_key();
        let bytes = encode(&record);
        let name_key = account.name_key.as_bytes();
        let result = (&self.account_names, &self.accounts).transaction(|(names, accounts)| {
            if names.get(name_key)?.is_some() {
                return Err(ConflictableTransactionError::Abort(()));
            }
            names.insert(name_key, &id_key)?;
            accounts.insert(&id_key, bytes.as_slice())?;
            Ok(())
        });
        match result {
            Ok(()) => {}
            Err(TransactionError::Abort(())) => return Err(StoreError::NameTaken),
            Err(TransactionError::Storage(err)) => return Err(err.into()),
        }
        self.db.flush_async().await?;
        Ok(record)
    }

    async fn account_by_name(&self, name_key: &str) -> Result<Option<AccountRecord>, StoreError> {
        match self.account_names.get(name_key.as_bytes())? {
            Some(id) => self.account(decode_id(ACCOUNT_NAMES, &id)?).await,
            None => Ok(None),
        }
    }

    async fn account(&self, id: AccountId) -> Result<Option<AccountRecord>, StoreError> {
        self.accounts
            .get(id.to_key())?
            .map(|bytes| decode(ACCOUNTS, &bytes))
            .transpose()
    }

    async fn put_session(
        &self,
        hash: TokenHash,
        session: &SessionRecord,
    ) -> Result<(), StoreError> {
        self.sessions.insert(hash, encode(session))?;
        self.db.flush_async().await?;
        Ok(())
    }

    async fn touch_session(&self, hash: TokenHash, last_seen_ms: u64) -> Result<(), StoreError> {
        // Read-modify-write without a transaction: a concurrent remove may
        // be undone only if it lands between get and insert, so re-check
        // with compare_and_swap.
        let Some(old) = self.sessions.get(hash)? else {
            return Ok(());
        };
        let mut session: SessionRecord = decode(SESSIONS, &old)?;
        if session.last_seen_ms >= last_seen_ms {
            return Ok(());
        }
        session.last_seen_ms = last_seen_ms;
        // A lost race (the session was removed or touched meanwhile) is fine
        // to drop: removal must win, and a newer touch is as good as ours.
        let _ = self
            .sessions
            .compare_and_swap(hash, Some(old), Some(encode(&session)))?;
        Ok(())
    }

    async fn remove_session(&self, hash: TokenHash) -> Result<(), StoreError> {
        self.sessions.remove(hash)?;
        self.db.flush_async().await?;
        Ok(())
    }

    async fn sessions(&self) -> Result<Vec<(TokenHash, SessionRecord)>, StoreError> {
        self.sessions
            .iter()
            .map(|item| {
                let (key, value) = item?;
                Ok((decode_hash(SESSIONS, &key)?, decode(SESSIONS, &value)?))
            })
            .collect()
    }

    async fn load_player(&self, id: AccountId) -> Result<Option<PlayerRecord>, StoreError> {
        self.players
            .get(id.to_key())?
            .map(|bytes| decode(PLAYERS, &bytes))
            .transpose()
    }

    async fn save_players(&self, players: &[(AccountId, PlayerRecord)]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (id, player) in players {
            batch.insert(&id.to_key(), encode(player));
        }
        self.players.apply_batch(batch)?;
        self.db.flush_async().await?;
        Ok(())
    }

    async fn put_ban(&self, id: AccountId, ban: &BanRecord) -> Result<(), StoreError> {
        self.bans.insert(id.to_key(), encode(ban))?;
        self.db.flush_async().await?;
        Ok(())
    }

    async fn remove_ban(&self, id: AccountId) -> Result<bool, StoreError> {
        let removed = self.bans.remove(id.to_key())?.is_some();
        self.db.flush_async().await?;
        Ok(removed)
    }

    async fn bans(&self) -> Result<Vec<(AccountId, BanRecord)>, StoreError> {
        self.bans
            .iter()
            .map(|item| {
                let (key, value) = item?;
                Ok((decode_id(BANS, &key)?, decode(BANS, &value)?))
            })
            .collect()
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use battlegrid_protocol::Position;

    fn new_account(name: &str) -> NewAccount {
        NewAccount {
            name: name.to_owned(),
            name_key: name.to_lowercase(),
            password_hash: "$argon2id$fake".to_owned(),
            created_at_ms: 1,
        }
    }

    fn session(id: AccountId) -> SessionRecord {
        SessionRecord {
            account_id: id,
            name: "Alice".into(),
            ip: "127.0.0.1".parse().unwrap(),
            created_at_ms: 10,
            expires_at_ms: 20,
            last_seen_ms: 10,
        }
    }

    /// Accounts are found by lowercased name and by id; the display name keeps its case.
    #[tokio::test]
    async fn create_and_find_account() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 1 << 20).unwrap();
        let created = store.create_account(new_account("Alice")).await.unwrap();
        let by_name = store.account_by_name("alice").await.unwrap().unwrap();
        assert_eq!(by_name, created);
        assert_eq!(by_name.name, "Alice");
        assert_eq!(store.account(created.id).await.unwrap(), Some(created));
        assert_eq!(store.account_by_name("bob").await.unwrap(), None);
    }

    /// A second account with the same lowercased name is refused.
    #[tokio::test]
    async fn duplicate_name_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 1 << 20).unwrap();
        let first = store.create_account(new_account("Alice")).await.unwrap();
        let second = store.create_account(new_account("ALICE")).await;
        assert!(matches!(second, Err(StoreError::NameTaken)));
        let other = store.create_account(new_account("Bob")).await.unwrap();
        assert_ne!(first.id, other.id);
    }

    /// Sessions survive a reopen; touch advances last use; removal deletes.
    #[tokio::test]
    async fn sessions_round_trip_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let hash = [7u8; 32];
        {
            let store = SledStore::open(dir.path(), 1 << 20).unwrap();
            store
                .put_session(hash, &session(AccountId(3)))
                .await
                .unwrap();
            store.touch_session(hash, 15).await.unwrap();
            store.touch_session(hash, 12).await.unwrap();
            store.flush().await.unwrap();
        }
        let store = SledStore::open(dir.path(), 1 << 20).unwrap();
        let all = store.sessions().await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].0, hash);
        assert_eq!(all[0].1.last_seen_ms, 15);
        store.remove_session(hash).await.unwrap();
        store.touch_session(hash, 30).await.unwrap();
        assert!(store.sessions().await.unwrap().is_empty());
    }

    /// Bans survive a reopen; removing one says whether there was one.
    #[tokio::test]
    async fn bans_round_trip_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let ban = BanRecord {
            reason: "griefing".into(),
            created_at_ms: 5,
            until_ms: Some(50),
        };
        {
            let store = SledStore::open(dir.path(), 1 << 20).unwrap();
            store.put_ban(AccountId(4), &ban).await.unwrap();
            store.put_ban(AccountId(5), &ban).await.unwrap();
        }
        let store = SledStore::open(dir.path(), 1 << 20).unwrap();
        let all = store.bans().await.unwrap();
        assert_eq!(all, vec![(AccountId(4), ban.clone()), (AccountId(5), ban)]);
        assert!(store.remove_ban(AccountId(4)).await.unwrap());
        assert!(!store.remove_ban(AccountId(4)).await.unwrap());
        assert_eq!(store.bans().await.unwrap().len(), 1);
    }

    /// Saved players load back; unknown players load as None.
    #[tokio::test]
    async fn players_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 1 << 20).unwrap();
        let a = PlayerRecord {
            map: Some("world".to_owned()),
            position: Position { x: 1.5, y: -2.0 },
        };
        let b = PlayerRecord {
            map: None,
            position: Position { x: 9.0, y: 9.0 },
        };
        store
            .save_players(&[(AccountId(1), a.clone()), (AccountId(2), b.clone())])
            .await
            .unwrap();
        assert_eq!(store.load_player(AccountId(1)).await.unwrap(), Some(a));
        assert_eq!(store.load_player(AccountId(2)).await.unwrap(), Some(b));
        assert_eq!(store.load_player(AccountId(3)).await.unwrap(), None);
    }

    /// A corrupt record is an error, not a panic.
    #[tokio::test]
    async fn corrupt_record_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), 1 << 20).unwrap();
        store
            .players
            .insert(AccountId(1).to_key(), b"not json".as_slice())
            .unwrap();
        assert!(matches!(
            store.load_player(AccountId(1)).await,
            Err(StoreError::Corrupt { tree: PLAYERS, .. })
        ));
    }
}
