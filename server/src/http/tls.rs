//! HTTPS on the public listener, with certificate rotation.
//!
//! The certificate comes from `[public_tls]`'s PEM files, or from the game
//! listener's (`[tls]`: the operator's files or the generated development
//! certificate). rustls asks [`RotatingCert`] for the certificate at every
//! handshake, and it answers with whatever is current, so a swap needs no
//! restart and does not disturb open connections. A `notify` watch on the
//! files' directories (renames into place, symlink swaps and editors all
//! show up there) reloads both files after a quiet period; a pair that does
//! not load, or whose key does not match the certificate, is refused with an
//! error in the log while the current one stays. Writing the key and then
//! the certificate (or renaming both into place) is the way to rotate: a
//! half-written pair is refused and the next event loads the complete one.
//! TLS 1.2 and 1.3, ALPN `http/1.1` (the listener speaks HTTP/1.1 only).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use notify::Watcher as _;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::game::tls::{TlsError, load};

/// Why the public listener's TLS could not start.
#[derive(Debug, thiserror::Error)]
pub enum PublicTlsError {
    /// Only one of the two files is configured.
    #[error("[public_tls] needs both cert_pem and key_pem, or neither")]
    HalfConfigured,
    /// The pair does not load (unreadable, not PEM, key does not match).
    #[error("loading the public listener's certificate {}", path.display())]
    Load {
        /// The certificate file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: TlsError,
    },
    /// The file watcher could not start or watch a folder.
    #[error("cannot watch {} for certificate changes", path.display())]
    Watch {
        /// The folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: notify::Error,
    },
}

/// Quiet period after a change before the files are read.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// The certificate currently served.
#[derive(Debug)]
pub struct RotatingCert {
    current: ArcSwap<CertifiedKey>,
}

impl ResolvesServerCert for RotatingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// The public listener's TLS: the acceptor and what keeps its certificate
/// current.
pub struct PublicTls {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    resolver: Arc<RotatingCert>,
    acceptor: TlsAcceptor,
}

impl PublicTls {
    /// The public listener's TLS as `config` asks (`None` when off): its
    /// own files, or the game listener's certificate files. Call after the
    /// game listener is bound, which generates the development certificate
    /// when it is the one to use.
    pub fn from_config(config: &Config) -> Result<Option<Self>, PublicTlsError> {
        let tls = &config.public_tls;
        if !tls.enabled {
            return Ok(None);
        }
        let (cert, key) = match (&tls.cert_pem, &tls.key_pem) {
            (Some(cert), Some(key)) => (cert.clone(), key.clone()),
            (None, None) => {
                crate::game::tls::cert_files(&config.tls, &config.data).map_err(|source| {
                    PublicTlsError::Load {
                        path: config.data.join("tls"),
                        source,
                    }
                })?
            }
            _ => return Err(PublicTlsError::HalfConfigured),
        };
        let loaded = Self::load(&cert, &key).map_err(|source| PublicTlsError::Load {
            path: cert.clone(),
            source,
        })?;
        tracing::info!(
            cert = %cert.display(),
            sha256 = %loaded.fingerprint(),
            "the public listener speaks HTTPS"
        );
        Ok(Some(loaded))
    }

    /// Loads the pair; any problem is an error (the server does not start).
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certified = certified_key(cert, key, &provider)?;
        let resolver = Arc::new(RotatingCert {
            current: ArcSwap::from_pointee(certified),
        });
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&resolver) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            cert: std::path::absolute(cert).unwrap_or_else(|_| cert.to_owned()),
            key: std::path::absolute(key).unwrap_or_else(|_| key.to_owned()),
            provider,
            resolver,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The acceptor for the listener.
    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }

    /// SHA-256 of the served leaf certificate, lowercase hex.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.resolver.current.load())
    }

    /// Starts watching the files; the watch lasts as long as the returned
    /// guard. Must be called inside a tokio runtime.
    pub fn watch(&self) -> Result<CertWatch, PublicTlsError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Err(err) = &res {
                tracing::warn!(%err, "certificate watcher error; reloading the certificate");
            }
            let _ = tx.send(());
        })
        .map_err(|source| PublicTlsError::Watch {
            path: self.cert.clone(),
            source,
        })?;
        let mut dirs: Vec<&Path> = [&self.cert, &self.key]
            .iter()
            .filter_map(|p| p.parent())
            .collect();
        dirs.dedup();
        for dir in dirs {
            watcher
                .watch(dir, notify::RecursiveMode::NonRecursive)
                .map_err(|source| PublicTlsError::Watch {
                    path: dir.to_owned(),
                    source,
                })?;
        }
        let task = tokio::spawn(reload_on_change(
            rx,
            self.cert.clone(),
            self.key.clone(),
            Arc::clone(&self.provider),
            Arc::clone(&self.resolver),
        ));
        Ok(CertWatch {
            _watcher: watcher,
            task,
        })
    }
}

/// Keeps the certificate watch alive; dropping it stops the watch.
pub struct CertWatch {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CertWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn certified_key(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let identity = load(cert, key)?;
    // Checks that the key loads and matches the leaf's public key, which
    // also parses the leaf: a certificate file holding garbage is refused.
    Ok(CertifiedKey::from_der(
        identity.chain,
        identity.key,
        provider,
    )?)
}

fn fingerprint(certified: &CertifiedKey) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(certified.cert[0].as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Waits for file events, lets them settle, reloads; forever.
async fn reload_on_change(
    mut events: mpsc::UnboundedReceiver<()>,
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    resolver: Arc<RotatingCert>,
) {
    while events.recv().await.is_some() {
        // Quiet period: every further event restarts it.
        loop {
            match tokio::time::timeout(DEBOUNCE, events.recv()).await {
                Ok(Some(())) => continue,
                Ok(None) => return,
                Err(_) => break,
            }
        }
        let (c, k, p) = (cert.clone(), key.clone(), Arc::clone(&provider));
        let loaded = tokio::task::spawn_blocking(move || certified_key(&c, &k, &p)).await;
        match loaded {
            Ok(Ok(certified)) => {
                if certified.cert == resolver.current.load().cert {
                    continue;
                }
                let sha256 = fingerprint(&certified);
                resolver.current.store(Arc::new(certified));
                tracing::info!(
                    cert = %cert.display(),
                    %sha256,
                    "the public listener serves a new certificate"
                );
            }
            Ok(Err(err)) => tracing::error!(
                cert = %cert.display(),
                %err,
                "refused the changed certificate of the public listener; the previous one stays"
            ),
            Err(err) => tracing::error!(%err, "certificate reload task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let (cert, key) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        (cert, key)
    }

    /// A matching pair loads; a key of another certificate and a
    /// certificate file of garbage are refused.
    #[test]
    fn pairs_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let (cert_a, key_a) = write_pair(dir.path(), "a");
        let (_, key_b) = write_pair(dir.path(), "b");
        let tls = PublicTls::load(&cert_a, &key_a).unwrap();
        assert_eq!(tls.fingerprint().len(), 64);
        assert!(PublicTls::load(&cert_a, &key_b).is_err());
        let garbage = dir.path().join("garbage.crt");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(PublicTls::load(&garbage, &key_a).is_err());
    }
}
