//! The admin token: configured (`[admin_api] token`, or its environment
//! variable), else read from `<data>/admin-token`, else generated there
//! (mode 0600) on first start. Only the file's path is ever logged.
//!
//! Comparison is in constant time over SHA-256 digests of both sides, so
//! neither the token's bytes nor its length leak through timing.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// File name of the generated token, in the data directory.
pub const TOKEN_FILE: &str = "admin-token";
/// Shortest token accepted from the configuration.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Why the admin token could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AdminTokenError {
    /// The configured token is too short to resist guessing.
    #[error("[admin_api] token must have at least {MIN_TOKEN_CHARS} characters")]
    TooShort,
    /// The token file could not be read or written.
    #[error("admin token file {}", path.display())]
    File {
        /// The token file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The token file exists but holds no token.
    #[error("admin token file {} is empty; delete it to have a new token generated", path.display())]
    EmptyFile {
        /// The token file.
        path: PathBuf,
    },
    /// The OS gave no randomness.
    #[error("generating the admin token: {0}")]
    Random(getrandom::Error),
    /// A non-loopback admin listener with neither a configured token nor TLS.
    #[error(
        "refusing to start: the admin listener {0} is not on loopback, and neither \
         [admin_api] token nor [admin_api] tls is set. Set a token (or \
         BATTLEGRID_ADMIN_API__TOKEN) and turn on TLS, or bind the admin listener to 127.0.0.1"
    )]
    Exposed(SocketAddr),
}

/// Where the token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `[admin_api] token` (file or environment).
    Config,
    /// This file (read, or generated now).
    File(PathBuf),
}

/// The admin token, kept only as its digest.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
    source: TokenSource,
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminToken")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl AdminToken {
    /// The token from the configuration, else from or into the data
    /// directory's token file.
    pub fn load(configured: Option<&str>, data: &Path) -> Result<Self, AdminTokenError> {
        if let Some(token) = configured {
            if token.trim().chars().count() < MIN_TOKEN_CHARS {
                return Err(AdminTokenError::TooShort);
            }
            return Ok(Self::new(token.trim(), TokenSource::Config));
        }
        let path = data.join(TOKEN_FILE);
        let file_error = |source| AdminTokenError::File {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let token = text.trim();
                if token.is_empty() {
                    return Err(AdminTokenError::EmptyFile { path });
                }
                Ok(Self::new(token, TokenSource::File(path.clone())))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let token = generate()?;
                write_private(&path, &token).map_err(file_error)?;
                Ok(Self::new(&token, TokenSource::File(path.clone())))
            }
            Err(err) => Err(file_error(err)),
        }
    }

    /// A token with this text (tests, and [`Self::load`]).
    pub fn new(token: &str, source: TokenSource) -> Self {
        Self {
            digest: Sha256::digest(token.as_bytes()).into(),
            source,
        }
    }

    /// Where it came from.
    pub fn source(&self) -> &TokenSource {
        &self.source
    }

    /// Whether `presented` is the token, in time independent of both.
    pub fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        self.digest.ct_eq(&digest).into()
    }
}

/// Refuses an admin listener other machines can reach unless a token was
/// configured or TLS is on.
pub fn check_exposure(
    addr: SocketAddr,
    token_configured: bool,
    tls: bool,
) -> Result<(), AdminTokenError> {
    if addr.ip().is_loopback() || token_configured || tls {
        Ok(())
    } else {
        Err(AdminTokenError::Exposed(addr))
    }
}

/// 32 random bytes in URL-safe base64 (43 characters).
fn generate() -> Result<String, AdminTokenError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(AdminTokenError::Random)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Writes `token` to a new file readable by its owner only; never
/// overwrites (two servers racing on one data directory keep the first).
fn write_private(path: &Path, token: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(token.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// The first load generates a 0600 file; the next load reads the same
    /// token from it; only that token matches.
    #[test]
    fn generated_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = AdminToken::load(None, dir.path()).unwrap();
        let path = dir.path().join(TOKEN_FILE);
        assert_eq!(first.source(), &TokenSource::File(path.clone()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 43);
        assert!(first.matches(text.trim()));
        let second = AdminToken::load(None, dir.path()).unwrap();
        assert!(second.matches(text.trim()));
        assert!(!second.matches("something else entirely"));
        assert!(!second.matches(""));
    }

    /// A configured token wins over the file, must be long enough, and no
    /// file is written for it.
    #[test]
    fn configured_token() {
        let dir = tempfile::tempdir().unwrap();
        let token = AdminToken::load(Some("a-long-enough-token"), dir.path()).unwrap();
        assert!(token.matches("a-long-enough-token"));
        assert!(!token.matches("a-long-enough-tokeN"));
        assert!(!dir.path().join(TOKEN_FILE).exists());
        assert!(matches!(
            AdminToken::load(Some("short"), dir.path()),
            Err(AdminTokenError::TooShort)
        ));
    }

    /// An empty token file is an error that says what to do, not an empty
    /// token everyone could send.
    #[test]
    fn empty_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(TOKEN_FILE), "\n").unwrap();
        let err = AdminToken::load(None, dir.path()).unwrap_err().to_string();
        assert!(err.contains("delete it"), "{err}");
    }

    /// Loopback always starts; elsewhere a token or TLS is needed.
    #[test]
    fn exposure_rules() {
        let lo: SocketAddr = "127.0.0.1:9090".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:9090".parse().unwrap();
        assert!(check_exposure(lo, false, false).is_ok());
        assert!(check_exposure(any, true, false).is_ok());
        assert!(check_exposure(any, false, true).is_ok());
        let err = check_exposure(any, false, false).unwrap_err().to_string();
        assert!(
            err.contains("0.0.0.0:9090") && err.contains("127.0.0.1"),
            "{err}"
        );
    }
}
