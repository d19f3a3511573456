//! Argon2id password hashing on the blocking pool, a bounded number at once,
//! each in working memory that is allocated once and reused.
//!
//! Parameters are OWASP's minimum for Argon2id: 19 MiB memory, 2 passes,
//! parallelism 1. Each hash holds a semaphore permit (default: one per core)
//! so a burst of logins queues instead of starving the runtime of blocking
//! threads and memory. Unknown names, and stored hashes that are not PHC
//! strings (password-less accounts, `crate::auth::NO_PASSWORD`, or a corrupt
//! record), are verified against a dummy hash made at start, so they take as
//! long as a wrong password and never verify.
//!
//! Why the working memory is pooled: the argon2 crate's own entry points
//! allocate 19 MiB per hash and free it after. glibc's malloc keeps such
//! freed blocks in the arena of the blocking thread that ran the hash, and
//! the blocking pool has many threads, so the process grew to hundreds of
//! MiB under parallel logins and kept it. Hashing into one of at most
//! `permits` preallocated blocks bounds the memory to permits x 19 MiB
//! (docs/PERFORMANCE.md has the measurement).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
    hashers: Arc<Hashers>,
    /// Verified against for unknown names, to equalise timing.
    dummy_hash: Arc<str>,
}

/// The permits and the working memory they reuse.
struct Hashers {
    /// Caps concurrent hashes: each holds 19 MiB and a core.
    permits: Arc<Semaphore>,
    /// Working memory not in use; never more blocks than permits exist,
    /// because a block is only taken while holding a permit.
    free: Mutex<Vec<Box<[Block]>>>,
    /// Blocks allocated so far, for tests and the bound above.
    allocated: AtomicUsize,
}

impl Hashers {
    /// Runs `job` on the blocking pool with a permit and a block of working
    /// memory. The permit and the block travel into the blocking task and
    /// come back from it, so a caller that stops waiting (a request timeout)
    /// neither frees the permit early nor loses the block.
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        job: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("semaphore is never closed");
        let hashers = Arc::clone(self);
        let result = tokio::task::spawn_blocking(move || {
            let taken = hashers.lock_free().pop();
            let mut memory = taken.unwrap_or_else(|| {
                hashers.allocated.fetch_add(1, Ordering::Relaxed);
                vec![Block::default(); argon2().params().block_count()].into_boxed_slice()
            });
            let result = job(&mut memory);
            hashers.lock_free().push(memory);
            drop(permit);
            result
        })
        .await?;
        Ok(result)
    }

    fn lock_free(&self) -> std::sync::MutexGuard<'_, Vec<Box<[Block]>>> {
        // A panic while holding the lock cannot leave the list half-changed.
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A new PHC string for `password`, hashed in `memory`.
fn hash_blocking(password: &[u8], memory: &mut [Block]) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(PasswordError::Rng)?;
    let salt_b64 = SaltString::encode_b64(&salt).map_err(PasswordError::Argon2)?;
    let argon = argon2();
    let output_len = argon
        .params()
        .output_len()
        .unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let hash = Output::init_with(output_len, |out| {
        argon
            .hash_password_into_with_memory(password, &salt, out, &mut *memory)
            .map_err(Into::into)
    })
    .map_err(PasswordError::Argon2)?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(PasswordError::Argon2)?,
        salt: Some(salt_b64.as_salt()),
        hash: Some(hash),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc`, hashed in `memory`.
///
/// Uses the algorithm and parameters `phc` records. A hash that needs more
/// memory than the server's own parameters is not one this server wrote and
/// does not verify, so a corrupt record cannot make it allocate.
fn verify_blocking(password: &[u8], phc: &str, memory: &mut [Block]) -> bool {
    matches_phc(password, phc, memory).unwrap_or(false)
}

/// [`verify_blocking`]; `None` when `phc` cannot be checked.
fn matches_phc(password: &[u8], phc: &str, memory: &mut [Block]) -> Option<bool> {
    let parsed = PasswordHash::new(phc).ok()?;
    let (salt, expected) = (parsed.salt?, parsed.hash?);
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).ok()?;
    if params.block_count() > memory.len() {
        return None;
    }
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf).ok()?;
    let argon = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        argon
            .hash_password_into_with_memory(password, salt, out, &mut *memory)
            .map_err(Into::into)
    })
    .ok()?;
    // `Output`'s equality is constant-time.
    Some(computed == expected)
}

impl Passwords {
    /// Creates the hasher with `max_concurrent` permits and computes the
    /// dummy hash (one Argon2 run).
    pub async fn new(max_concurrent: usize) -> Result<Self, PasswordError> {
        let hashers = Arc::new(Hashers {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            free: Mutex::new(Vec::new()),
            allocated: AtomicUsize::new(0),
        });
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(PasswordError::Rng)?;
        let dummy_hash = hashers
            .run(move |memory| hash_blocking(&random, memory))
            .await??;
        Ok(Self {
            hashers,
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.hashers
            .run(move |memory| hash_blocking(password.as_bytes(), memory))
            .await?
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
        let ok = self
            .hashers
            .run(move |memory| verify_blocking(password.as_bytes(), &phc, memory))
            .await?;
        Ok(known && ok)
    }

    /// Blocks of Argon2 working memory (19 MiB each) allocated so far; at
    /// most the number of permits.
    pub fn memory_blocks(&self) -> usize {
        self.hashers.allocated.load(Ordering::Relaxed)
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

    /// Hashes made by the argon2 crate's own API verify (the stored format
    /// is unchanged), and a hash asking for more memory than the server's
    /// parameters is refused instead of allocated.
    #[tokio::test]
    async fn reads_the_standard_phc_format() {
        use argon2::password_hash::PasswordHasher;
        let passwords = Passwords::new(1).await.unwrap();
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let phc = argon2().hash_password(b"pw", &salt).unwrap().to_string();
        assert!(passwords.verify("pw".into(), Some(phc)).await.unwrap());
        let big = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(MEMORY_KIB * 2, 1, 1, None).unwrap(),
        );
        let phc = big.hash_password(b"pw", &salt).unwrap().to_string();
        assert!(!passwords.verify("pw".into(), Some(phc)).await.unwrap());
    }

    /// Many hashes at once, more than the permits, allocate working memory
    /// once per permit and reuse it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn working_memory_is_allocated_once_per_permit() {
        let passwords = Passwords::new(2).await.unwrap();
        let phc = passwords.hash("correct horse".into()).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..12 {
            let (passwords, phc) = (passwords.clone(), phc.clone());
            tasks.spawn(async move {
                let password = if i % 2 == 0 { "correct horse" } else { "wrong" };
                let ok = passwords.verify(password.into(), Some(phc)).await.unwrap();
                assert_eq!(ok, i % 2 == 0);
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        assert!(
            passwords.memory_blocks() <= 2,
            "{}",
            passwords.memory_blocks()
        );
    }
}
