//! Resume tokens: how a client whose connection dropped (a server restart,
//! a crash, a network change) comes back without logging in again.
//!
//! A resume token is stateless: the account, an expiry and the hash of the
//! session token it was issued under, signed with HMAC-SHA256 under a key
//! kept in the data directory (`resume.key`, owner-only). A new process on
//! the same data directory therefore accepts the tokens of the one before
//! it, and nothing is written per token. Binding it to the session token's
//! hash means that logging out or the session expiring ends the resume
//! token too: the gateway still checks that session in the token table.
//!
//! The same secret seeds QUIC's stateless-reset key and the key of its
//! connection ids, so a restarted server recognises its predecessor's
//! connection ids as its own and answers their packets with a stateless
//! reset: clients learn at their next packet (a keep-alive at the latest)
//! that their connection is gone, instead of after the idle timeout, and
//! reconnect.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use subtle::ConstantTimeEq;

use super::tls::write_private;
use crate::store::{AccountId, TokenHash};

/// Prefix of every resume token: the format's version.
const PREFIX: &str = "r1.";
/// Bytes of the signed part: account, expiry, session hash.
const PAYLOAD: usize = 8 + 8 + 32;
/// Bytes of the HMAC kept (128 bits, as in RFC 2104's truncation advice).
const TAG: usize = 16;
/// Bytes of the secret in `resume.key`.
const KEY_LEN: usize = 32;

/// Why the key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ResumeKeyError {
    /// Reading or writing the key file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file exists but does not hold a key.
    #[error("{}: expected {KEY_LEN} bytes, found {found}; delete it to make a new key (resume tokens then end)", path.display())]
    Corrupt {
        /// The key file.
        path: PathBuf,
        /// Its length.
        found: usize,
    },
}

/// Why a resume token was refused. The gateway answers every case with
/// `INVALID_TOKEN`; the words say which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    /// Not a resume token of this server (wrong format or signature).
    #[error("not a valid resume token")]
    Invalid,
    /// Signed by this server, but too old.
    #[error("the resume token has expired")]
    Expired,
}

/// What a valid resume token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumeClaim {
    /// Whose session it resumes.
    pub account: AccountId,
    /// The hash of the session token it was issued under.
    pub session: TokenHash,
}

/// The server's resume secret.
pub struct ResumeKeys {
    sign: hmac::Key,
    reset: Arc<hmac::Key>,
    cid: u64,
}

impl std::fmt::Debug for ResumeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResumeKeys(..)")
    }
}

impl ResumeKeys {
    /// Keys derived from `secret`: one signs resume tokens, the other is
    /// QUIC's stateless-reset key (never the same key for two purposes).
    pub fn from_secret(secret: &[u8]) -> Self {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derive = |label: &[u8]| hmac::sign(&root, label);
        Self {
            sign: hmac::Key::new(
                hmac::HMAC_SHA256,
                derive(b"battlegrid resume token").as_ref(),
            ),
            reset: Arc::new(hmac::Key::new(
                hmac::HMAC_SHA256,
                derive(b"battlegrid quic stateless reset").as_ref(),
            )),
            cid: u64::from_le_bytes(
                derive(b"battlegrid quic connection ids").as_ref()[..8]
                    .try_into()
                    .expect("8 bytes"),
            ),
        }
    }

    /// Reads `data/resume.key`, or makes it (owner-only) on first start.
    pub fn load_or_generate(data: &Path) -> Result<Self, ResumeKeyError> {
        let path = data.join("resume.key");
        let io = |source| ResumeKeyError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read(&path) {
            Ok(secret) if secret.len() == KEY_LEN => return Ok(Self::from_secret(&secret)),
            Ok(secret) => {
                return Err(ResumeKeyError::Corrupt {
                    path,
                    found: secret.len(),
                });
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(io(err)),
        }
        let mut secret = [0u8; KEY_LEN];
        getrandom::fill(&mut secret).map_err(|e| io(std::io::Error::other(e)))?;
        std::fs::create_dir_all(data).map_err(io)?;
        // Written aside then renamed, so a crash never leaves a short key
        // that the next start would refuse.
        let partial = data.join("resume.key.partial");
        write_private(&partial, &secret).map_err(io)?;
        std::fs::rename(&partial, &path).map_err(io)?;
        tracing::info!(path = %path.display(), "generated the resume key");
        Ok(Self::from_secret(&secret))
    }

    /// The QUIC endpoint settings that make restarts visible to clients
    /// at once: the persisted stateless-reset key, connection ids whose
    /// validity a later process can check, and resets at most one per
    /// `min_reset_interval`.
    pub fn quic_endpoint_config(&self, min_reset_interval: Duration) -> quinn::EndpointConfig {
        let mut config = quinn::EndpointConfig::new(self.reset.clone());
        config.min_reset_interval(min_reset_interval);
        let cid = self.cid;
        config.cid_generator(move || {
            Box::new(quinn_proto::HashedConnectionIdGenerator::from_key(cid))
        });
        config
    }

    /// A token resuming `claim`'s session until `expires_ms` (Unix ms).
    pub fn issue(&self, claim: &ResumeClaim, expires_ms: u64) -> String {
        let mut signed = [0u8; PAYLOAD + TAG];
        signed[..8].copy_from_slice(&claim.account.0.to_le_bytes());
        signed[8..16].copy_from_slice(&expires_ms.to_le_bytes());
        signed[16..PAYLOAD].copy_from_slice(&claim.session);
        let tag = hmac::sign(&self.sign, &signed[..PAYLOAD]);
        signed[PAYLOAD..].copy_from_slice(&tag.as_ref()[..TAG]);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(signed))
    }

    /// Checks a token's signature and expiry at `now_ms`.
    pub fn check(&self, token: &str, now_ms: u64) -> Result<ResumeClaim, ResumeError> {
        let body = token.strip_prefix(PREFIX).ok_or(ResumeError::Invalid)?;
        let signed = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| ResumeError::Invalid)?;
        if signed.len() != PAYLOAD + TAG {
            return Err(ResumeError::Invalid);
        }
        let tag = hmac::sign(&self.sign, &signed[..PAYLOAD]);
        // ring's verify compares the whole tag; ours is truncated, so the
        // kept bytes are compared here, in constant time.
        if !bool::from(tag.as_ref()[..TAG].ct_eq(&signed[PAYLOAD..])) {
            return Err(ResumeError::Invalid);
        }
        let word = |at: usize| u64::from_le_bytes(signed[at..at + 8].try_into().expect("8 bytes"));
        if word(8) <= now_ms {
            return Err(ResumeError::Expired);
        }
        let mut session = [0u8; 32];
        session.copy_from_slice(&signed[16..PAYLOAD]);
        Ok(ResumeClaim {
            account: AccountId(word(0)),
            session,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use battlegrid_protocol::messages::MAX_TOKEN_LEN;

    fn claim() -> ResumeClaim {
        ResumeClaim {
            account: AccountId(42),
            session: [7; 32],
        }
    }

    /// A token issued is accepted until its expiry, says whose it is, and
    /// fits the protocol's token limit.
    #[test]
    fn round_trip_until_expiry() {
        let keys = ResumeKeys::from_secret(&[1; KEY_LEN]);
        let token = keys.issue(&claim(), 10_000);
        assert!(token.len() <= MAX_TOKEN_LEN, "{} bytes", token.len());
        assert_eq!(keys.check(&token, 9_999), Ok(claim()));
        assert_eq!(keys.check(&token, 10_000), Err(ResumeError::Expired));
    }

    /// Another key, any changed character, a truncation or garbage are
    /// all refused as invalid, never as a claim.
    #[test]
    fn forgeries_are_refused() {
        let keys = ResumeKeys::from_secret(&[1; KEY_LEN]);
        let token = keys.issue(&claim(), 10_000);
        let other = ResumeKeys::from_secret(&[2; KEY_LEN]);
        assert_eq!(other.check(&token, 0), Err(ResumeError::Invalid));
        for at in PREFIX.len()..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            assert_eq!(keys.check(&changed, 0), Err(ResumeError::Invalid), "{at}");
        }
        for bad in [&token[..token.len() - 1], "", "r1.", "r1.!!!!", "tok-7f3a"] {
            assert_eq!(keys.check(bad, 0), Err(ResumeError::Invalid), "{bad:?}");
        }
    }

    /// The key file is made once, owner-only, and read back by the next
    /// process; a damaged file is an error, not a silent new key.
    #[test]
    fn key_file_survives_restarts() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = ResumeKeys::load_or_generate(dir.path()).unwrap();
        let token = first.issue(&claim(), 10_000);
        let path = dir.path().join("resume.key");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = ResumeKeys::load_or_generate(dir.path()).unwrap();
        assert_eq!(second.check(&token, 0), Ok(claim()));
        std::fs::write(&path, b"short").unwrap();
        let err = ResumeKeys::load_or_generate(dir.path()).unwrap_err();
        assert!(err.to_string().contains("expected 32 bytes"), "{err}");
    }
}
