//! Argon2id password hashing on the blocking pool, a bounded number at once.
//!
//! Parameters are OWASP's minimum for Argon2id: 19 MiB memory, 2 passes,
//! parallelism 1. Each hash holds a semaphore permit (default: one per core)
//! so a burst of logins queues instead of starving the runtime of blocking
//! threads and memory. Unknown names, and stored hashes that are not PHC
//! strings (password-less accounts, `crate::auth::NO_PASSWORD`, or a corrupt
//! record), are verified against a dummy hash made at start, so they take as
//! long as a wrong password and never verify.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// Argon2id memory cost in KiB (19 MiB).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id passes.
pub const ITERATIONS: u32 = 2;
/// Argon2id lanes.
pub const PARALLELISM: u32 = 1;

/// Errors hashing a password.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The hashing task panicked or was cancelled.
    #[error("hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Argon2 refused the input or parameters.
    #[error("argon2: {0}")]
    Argon2(argon2::password_hash::Error),
    /// The OS random number generator failed.
    #[error("OS random number generator: {0}")]
    Rng(getrandom::Error),
}

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    /// Caps concurrent hashes: each holds 19 MiB and a core.
    permits: Arc<Semaphore>,
    /// Verified against for unknown names, to equalise timing.
    dummy_hash: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &[u8]) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(PasswordError::Rng)?;
    let salt = SaltString::encode_b64(&salt).map_err(PasswordError::Argon2)?;
    let hash = argon2()
        .hash_password(password, &salt)
        .map_err(PasswordError::Argon2)?;
    Ok(hash.to_string())
}

fn verify_blocking(password: &[u8], phc: &str) -> bool {
    // The dummy hash is always parsable; a stored hash was checked by the
    // caller, so this is false only for a wrong password.
    PasswordHash::new(phc).is_ok_and(|parsed| argon2().verify_password(password, &parsed).is_ok())
}

impl Passwords {
    /// Creates the hasher with `max_concurrent` permits and computes the
    /// dummy hash (one Argon2 run).
    pub async fn new(max_concurrent: usize) -> Result<Self, PasswordError> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(PasswordError::Rng)?;
        let dummy_hash = tokio::task::spawn_blocking(move || hash_blocking(&random)).await??;
        Ok(Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore is never closed");
        tokio::task::spawn_blocking(move || hash_blocking(password.as_bytes())).await?
    }

    /// Verifies `password` against `phc`, or against the dummy hash when
    /// `phc` is `None` (unknown account) or not a PHC string (an account with
    /// no password, or a corrupt record); the result is then always false.
    pub async fn verify(
        &self,
        password: String,
        phc: Option<String>,
    ) -> Result<bool, PasswordError> {
        let phc = phc.filter(|phc| PasswordHash::new(phc).is_ok());
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy_hash.to_string());
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore is never closed");
        let ok =
            tokio::task::spawn_blocking(move || verify_blocking(password.as_bytes(), &phc)).await?;
        Ok(known && ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash verifies its own password only, and records OWASP's parameters.
    #[tokio::test]
    async fn hash_and_verify() {
        let passwords = Passwords::new(2).await.unwrap();
        let phc = passwords.hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            passwords
                .verify("correct horse".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("wrong horse".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        let again = passwords.hash("correct horse".into()).await.unwrap();
        assert_ne!(phc, again, "salts differ");
    }

    /// Unknown accounts and corrupt stored hashes never verify.
    #[tokio::test]
    async fn dummy_and_corrupt_never_verify() {
        let passwords = Passwords::new(1).await.unwrap();
        assert!(!passwords.verify("anything".into(), None).await.unwrap());
        assert!(
            !passwords
                .verify("x".into(), Some("not a phc".into()))
                .await
                .unwrap()
        );
    }
}
