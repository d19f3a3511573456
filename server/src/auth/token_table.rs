//! The client token table: live sessions in memory, keyed by token hash.
//!
//! The original design's "client token table" (token, IP, name). The HTTP
//! API and, from the next issue on, the game gateway check tokens here on
//! every request and connection, so lookups are lock-free (papaya's
//! concurrent map: readers never wait for writers). The table mirrors the
//! store's sessions: it is filled from the store at start, and login and
//! logout update the store first, then the table. Expiry is checked on each
//! lookup; [`TokenTable::sweep`] only reclaims memory.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::{AccountId, SessionRecord, TokenHash};

/// How stale the stored last-use time may get before a lookup asks the
/// caller to persist it. Bounds store writes to one per session per minute.
const TOUCH_PERSIST_MS: u64 = 60_000;

/// A live session as the table holds it.
#[derive(Debug)]
pub struct LiveSession {
    /// Owner.
    pub account_id: AccountId,
    /// Owner's display name.
    pub name: String,
    /// Client IP at login.
    pub ip: IpAddr,
    /// Login time, unix ms.
    pub created_at_ms: u64,
    /// Absolute expiry, unix ms.
    pub expires_at_ms: u64,
    last_seen_ms: AtomicU64,
    persisted_last_seen_ms: AtomicU64,
}

impl LiveSession {
    /// Last use, unix ms.
    pub fn last_seen_ms(&self) -> u64 {
        self.last_seen_ms.load(Ordering::Relaxed)
    }
}

/// Result of a token lookup.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// The token is live; `persist_touch` is the last-use time to write to
    /// the store, when the stored one has become stale.
    Valid {
        /// The session.
        session: Arc<LiveSession>,
        /// Last-use time to persist, if due.
        persist_touch: Option<u64>,
    },
    /// The token was valid but has passed its absolute or idle expiry.
    Expired,
    /// No such session (never issued, revoked or swept).
    Unknown,
}

/// Live sessions by token hash. Shared as `Arc<TokenTable>`.
#[derive(Debug)]
pub struct TokenTable {
    sessions: papaya::HashMap<TokenHash, Arc<LiveSession>>,
    idle_ttl_ms: u64,
}

impl TokenTable {
    /// An empty table whose sessions expire after `idle_ttl_ms` without use.
    pub fn new(idle_ttl_ms: u64) -> Self {
        Self {
            sessions: papaya::HashMap::new(),
            idle_ttl_ms,
        }
    }

    /// Adds (or replaces) a session.
    pub fn insert(&self, hash: TokenHash, record: &SessionRecord) {
        let session = LiveSession {
            account_id: record.account_id,
            name: record.name.clone(),
            ip: record.ip,
            created_at_ms: record.created_at_ms,
            expires_at_ms: record.expires_at_ms,
            last_seen_ms: AtomicU64::new(record.last_seen_ms),
            persisted_last_seen_ms: AtomicU64::new(record.last_seen_ms),
        };
        self.sessions.pin().insert(hash, Arc::new(session));
    }

    /// Removes a session; later lookups of it answer [`Lookup::Unknown`].
    pub fn remove(&self, hash: &TokenHash) -> Option<Arc<LiveSession>> {
        self.sessions.pin().remove(hash).cloned()
    }

    /// The live session with this hash, without recording a use.
    pub fn get(&self, hash: &TokenHash) -> Option<Arc<LiveSession>> {
        self.sessions.pin().get(hash).cloned()
    }

    /// Removes every session of `account` and returns their hashes. A scan
    /// of the table: for bans, which are rare.
    pub fn remove_account(&self, account: AccountId) -> Vec<TokenHash> {
        let guard = self.sessions.pin();
        let hashes: Vec<TokenHash> = guard
            .iter()
            .filter(|(_, s)| s.account_id == account)
            .map(|(hash, _)| *hash)
            .collect();
        for hash in &hashes {
            guard.remove(hash);
        }
        hashes
    }

    fn expired(&self, session: &LiveSession, now_ms: u64) -> bool {
        now_ms >= session.expires_at_ms
            || now_ms >= session.last_seen_ms().saturating_add(self.idle_ttl_ms)
    }

    /// Checks a token hash at time `now_ms` and, if live, records the use.
    pub fn check(&self, hash: &TokenHash, now_ms: u64) -> Lookup {
        let guard = self.sessions.pin();
        let Some(session) = guard.get(hash) else {
            return Lookup::Unknown;
        };
        if self.expired(session, now_ms) {
            return Lookup::Expired;
        }
        session.last_seen_ms.fetch_max(now_ms, Ordering::Relaxed);
        let persisted = session.persisted_last_seen_ms.load(Ordering::Relaxed);
        let persist_touch = (now_ms.saturating_sub(persisted) >= TOUCH_PERSIST_MS
            && session
                .persisted_last_seen_ms
                .compare_exchange(persisted, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok())
        .then_some(now_ms);
        Lookup::Valid {
            session: Arc::clone(session),
            persist_touch,
        }
    }

    /// Removes every session expired at `now_ms` and returns their hashes,
    /// so the caller can delete them from the store.
    pub fn sweep(&self, now_ms: u64) -> Vec<TokenHash> {
        let guard = self.sessions.pin();
        let expired: Vec<TokenHash> = guard
            .iter()
            .filter(|(_, session)| self.expired(session, now_ms))
            .map(|(hash, _)| *hash)
            .collect();
        for hash in &expired {
            guard.remove(hash);
        }
        expired
    }

    /// Number of sessions held, expired ones included until swept.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether the table holds no session.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(created: u64, expires: u64) -> SessionRecord {
        SessionRecord {
            account_id: AccountId(1),
            name: "Alice".into(),
            ip: "10.0.0.1".parse().unwrap(),
            created_at_ms: created,
            expires_at_ms: expires,
            last_seen_ms: created,
        }
    }

    /// A session is valid until its absolute expiry.
    #[test]
    fn absolute_expiry() {
        let table = TokenTable::new(1_000_000);
        table.insert([1; 32], &record(0, 100));
        assert!(matches!(table.check(&[1; 32], 99), Lookup::Valid { .. }));
        assert!(matches!(table.check(&[1; 32], 100), Lookup::Expired));
        assert!(matches!(table.check(&[2; 32], 50), Lookup::Unknown));
    }

    /// Each use pushes the idle expiry forward; disuse ends the session.
    #[test]
    fn idle_expiry_moves_with_use() {
        let table = TokenTable::new(10);
        table.insert([1; 32], &record(0, 1000));
        assert!(matches!(table.check(&[1; 32], 9), Lookup::Valid { .. }));
        assert!(matches!(table.check(&[1; 32], 18), Lookup::Valid { .. }));
        assert!(matches!(table.check(&[1; 32], 28), Lookup::Expired));
    }

    /// Last use is handed back for persisting at most once per interval.
    #[test]
    fn touch_persisted_once_per_interval() {
        let table = TokenTable::new(u64::MAX / 2);
        table.insert([1; 32], &record(0, u64::MAX));
        let touch = |now| match table.check(&[1; 32], now) {
            Lookup::Valid { persist_touch, .. } => persist_touch,
            other => panic!("{other:?}"),
        };
        assert_eq!(touch(10), None);
        assert_eq!(touch(TOUCH_PERSIST_MS), Some(TOUCH_PERSIST_MS));
        assert_eq!(touch(TOUCH_PERSIST_MS + 5), None);
        assert_eq!(touch(2 * TOUCH_PERSIST_MS), Some(2 * TOUCH_PERSIST_MS));
    }

    /// Removal takes effect for the next lookup; sweep drops only expired sessions.
    #[test]
    fn remove_and_sweep() {
        let table = TokenTable::new(1_000_000);
        table.insert([1; 32], &record(0, 100));
        table.insert([2; 32], &record(0, 500));
        table.insert([3; 32], &record(0, 500));
        assert!(table.remove(&[3; 32]).is_some());
        assert!(matches!(table.check(&[3; 32], 1), Lookup::Unknown));
        assert_eq!(table.sweep(200), vec![[1; 32]]);
        assert_eq!(table.len(), 1);
        assert!(matches!(table.check(&[2; 32], 200), Lookup::Valid { .. }));
    }
}
