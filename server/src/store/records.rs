//! The records kept in the store and their byte encoding.
//!
//! Records are JSON in the embedded store: self-describing, so adding an
//! optional field later needs no migration. Keys are fixed-width big-endian
//! ids (so sled iterates in id order) or token hashes.

use std::net::IpAddr;

use battlegrid_protocol::Position;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::StoreError;

/// An account's id. The account's player uses the same number as its
/// `PlayerId` once it plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub u64);

impl AccountId {
    /// The store key: 8 bytes big-endian.
    pub fn to_key(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
}

/// SHA-256 of a session token: the only form in which tokens are stored.
pub type TokenHash = [u8; 32];

/// What `auth` hands the store to create an account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Display name, as the player typed it.
    pub name: String,
    /// Lowercased name: the uniqueness key.
    pub name_key: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Creation time, unix milliseconds.
    pub created_at_ms: u64,
}

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// Unique id.
    pub id: AccountId,
    /// Display name, as typed at sign-up.
    pub name: String,
    /// Argon2id PHC string (algorithm, parameters, salt and hash).
    pub password_hash: String,
    /// Creation time, unix milliseconds.
    pub created_at_ms: u64,
}

/// A stored session; the key is the token's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Owner.
    pub account_id: AccountId,
    /// Owner's display name, kept here so the gateway needs no second lookup.
    pub name: String,
    /// Client IP at login.
    pub ip: IpAddr,
    /// Login time, unix milliseconds.
    pub created_at_ms: u64,
    /// Absolute expiry, unix milliseconds.
    pub expires_at_ms: u64,
    /// Last use, unix milliseconds (for the idle expiry).
    pub last_seen_ms: u64,
}

/// A ban of an account; the key is the account id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanRecord {
    /// Why, as the player is told.
    pub reason: String,
    /// When it was made, unix milliseconds.
    pub created_at_ms: u64,
    /// When it ends, unix milliseconds; `None` for a ban without end.
    pub until_ms: Option<u64>,
}

impl BanRecord {
    /// Whether the ban holds at `now_ms`.
    pub fn active(&self, now_ms: u64) -> bool {
        self.until_ms.is_none_or(|until| now_ms < until)
    }
}

/// Saved state of a player between connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerRecord {
    /// The map the player was on; `None` in records written before maps
    /// were files (the player starts on the default map).
    #[serde(default)]
    pub map: Option<String>,
    /// Where the player was. (Records written before maps were files also
    /// hold the region of it, which nothing reads: serde skips it.)
    pub position: Position,
}

pub(super) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain structs to JSON cannot fail (no maps with
    // non-string keys, no failing Serialize impls).
    serde_json::to_vec(value).expect("records serialise to JSON")
}

pub(super) fn decode<T: DeserializeOwned>(
    tree: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|err| StoreError::Corrupt {
        tree,
        reason: err.to_string(),
    })
}

pub(super) fn decode_id(tree: &'static str, bytes: &[u8]) -> Result<AccountId, StoreError> {
    let array: [u8; 8] = bytes.try_into().map_err(|_| StoreError::Corrupt {
        tree,
        reason: format!("id of {} bytes", bytes.len()),
    })?;
    Ok(AccountId(u64::from_be_bytes(array)))
}

pub(super) fn decode_hash(tree: &'static str, bytes: &[u8]) -> Result<TokenHash, StoreError> {
    bytes.try_into().map_err(|_| StoreError::Corrupt {
        tree,
        reason: format!("key of {} bytes", bytes.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A player record written before maps were files (a region, no map)
    /// still loads: no map, so the player starts on the default map.
    #[test]
    fn records_from_before_maps_load() {
        let old = br#"{"position":{"x":1.5,"y":-2.0},"region":4}"#;
        let record: PlayerRecord = decode("players", old).unwrap();
        assert_eq!(
            record,
            PlayerRecord {
                map: None,
                position: Position { x: 1.5, y: -2.0 },
            }
        );
    }
}
