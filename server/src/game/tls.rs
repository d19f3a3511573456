//! The game listener's certificate: the operator's PEM files, or a
//! self-signed development certificate generated at first start and reused.
//!
//! The generated certificate and key live in `<data>/tls/{cert.pem,key.pem}`
//! (the key file is written with mode 0600). Clients of a development
//! server pin the certificate's SHA-256 (of its DER bytes), which
//! `GET /v1/server-info` serves and the log shows. The certificate names
//! `localhost`, `127.0.0.1`, `::1` and the configured extra names, so
//! clients that verify names against a CA-style trust store also work
//! locally. What this module leaves out: renewal, and reloading for the game
//! listener (a changed certificate takes a restart there; the public HTTP
//! listener, which can use the same files, reloads them: `crate::http::tls`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use super::config::TlsConfig;

/// Why the certificate could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Only one of `cert_pem` and `key_pem` is set.
    #[error("[tls] needs both cert_pem and key_pem, or neither")]
    HalfConfigured,
    /// A PEM file could not be read or parsed.
    #[error("reading {path}: {source}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: rustls::pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("{0} holds no certificate")]
    NoCertificate(PathBuf),
    /// Writing the generated certificate failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// rcgen could not make the certificate (e.g. an invalid extra name).
    #[error("generating the development certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate or key.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The rustls configuration cannot be used for QUIC.
    #[error("TLS configuration unusable for QUIC: {0}")]
    Quic(#[from] quinn::crypto::rustls::NoInitialCipherSuite),
}

/// A certificate chain with its key, ready for rustls.
#[derive(Debug)]
pub struct Identity {
    /// Leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
    /// SHA-256 of the leaf's DER bytes, 64 lowercase hex digits.
    pub fingerprint: String,
    /// Where the certificate came from, for the log.
    pub source: PathBuf,
}

/// Loads the operator's certificate, or the generated one from `data`
/// (generating it first if missing).
pub fn load_or_generate(config: &TlsConfig, data: &Path) -> Result<Identity, TlsError> {
    let (cert, key) = cert_files(config, data)?;
    if config.cert_pem.is_none() && (!cert.exists() || !key.exists()) {
        let dir = data.join("tls");
        generate(&dir, &cert, &key, &config.names)?;
    }
    load(&cert, &key)
}

/// The certificate and key files `config` names, or those of the generated
/// certificate in `data` (which may not exist yet).
pub fn cert_files(config: &TlsConfig, data: &Path) -> Result<(PathBuf, PathBuf), TlsError> {
    match (&config.cert_pem, &config.key_pem) {
        (Some(cert), Some(key)) => Ok((cert.clone(), key.clone())),
        (None, None) => {
            let dir = data.join("tls");
            Ok((dir.join("cert.pem"), dir.join("key.pem")))
        }
        _ => Err(TlsError::HalfConfigured),
    }
}

/// Reads a PEM certificate chain and its key.
pub fn load(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
    let pem_err = |path: &Path| {
        let path = path.to_owned();
        move |source| TlsError::Pem { path, source }
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(pem_err(cert))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_err(cert))?;
    let leaf = chain
        .first()
        .ok_or_else(|| TlsError::NoCertificate(cert.to_owned()))?;
    let fingerprint = hex(&Sha256::digest(leaf));
    let key = PrivateKeyDer::from_pem_file(key).map_err(pem_err(key))?;
    Ok(Identity {
        chain,
        key,
        fingerprint,
        source: cert.to_owned(),
    })
}

fn generate(dir: &Path, cert: &Path, key: &Path, extra: &[String]) -> Result<(), TlsError> {
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| TlsError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    names.extend(
        extra
            .iter()
            .filter(|n| !names.contains(n))
            .cloned()
            .collect::<Vec<_>>(),
    );
    let certified = rcgen::generate_simple_self_signed(names)?;
    write_private(key, certified.signing_key.serialize_pem().as_bytes()).map_err(write_err(key))?;
    std::fs::write(cert, certified.cert.pem()).map_err(write_err(cert))?;
    tracing::info!(cert = %cert.display(), "generated a self-signed development certificate");
    Ok(())
}

/// Writes `bytes` to a new file readable by its owner only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The rustls server configuration for QUIC: TLS 1.3 only, ALPN
/// `battlegrid/1`, no client certificates, ring crypto.
pub fn quic_server_crypto(
    identity: &Identity,
) -> Result<Arc<quinn::crypto::rustls::QuicServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.alpn_protocols = vec![battlegrid_protocol::ALPN.to_vec()];
    Ok(Arc::new(quinn::crypto::rustls::QuicServerConfig::try_from(
        config,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first start generates a certificate; the second reuses it (same
    /// fingerprint), and the fingerprint is the SHA-256 of the DER bytes.
    #[test]
    fn generated_certificate_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let config = TlsConfig::default();
        let first = load_or_generate(&config, dir.path()).unwrap();
        let second = load_or_generate(&config, dir.path()).unwrap();
        assert_eq!(first.fingerprint, second.fingerprint);
        assert_eq!(first.fingerprint.len(), 64);
        assert_eq!(first.fingerprint, hex(&Sha256::digest(&second.chain[0])));
        quic_server_crypto(&first).unwrap();
    }

    /// Operator files are used as given; giving only one of them is an error.
    #[test]
    fn operator_files() {
        let dir = tempfile::tempdir().unwrap();
        let generated = load_or_generate(&TlsConfig::default(), dir.path()).unwrap();
        let config = TlsConfig {
            cert_pem: Some(dir.path().join("tls/cert.pem")),
            key_pem: Some(dir.path().join("tls/key.pem")),
            names: vec![],
        };
        let other = tempfile::tempdir().unwrap();
        let loaded = load_or_generate(&config, other.path()).unwrap();
        assert_eq!(loaded.fingerprint, generated.fingerprint);
        assert!(!other.path().join("tls").exists());
        let half = TlsConfig {
            key_pem: None,
            ..config
        };
        assert!(matches!(
            load_or_generate(&half, other.path()),
            Err(TlsError::HalfConfigured)
        ));
    }
}
