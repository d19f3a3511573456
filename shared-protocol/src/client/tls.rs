//! How the client decides to trust a game server: a pinned SHA-256
//! fingerprint of the server's leaf certificate, or a set of CA certificates.
//!
//! Pinning is for development servers with their generated self-signed
//! certificate (the fingerprint comes from `GET /v1/server-info`). The
//! [`PinnedVerifier`] compares the pin inside rustls's certificate check, so
//! a mismatch fails the handshake before the session token can be sent, and
//! it still verifies the handshake signatures with the leaf's public key:
//! a server that only *shows* the pinned certificate without holding its
//! private key is refused. Chain, name and validity period are not checked
//! under a pin; the pin is the whole trust decision.
//!
//! With CA certificates, rustls's standard WebPKI verification applies (chain,
//! validity, server name). There is deliberately no way to skip verification.
//! Both paths use the ring crypto provider and TLS 1.3 only (QUIC requires it).

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

use crate::ALPN;

/// Why a trust setting could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A fingerprint is not 64 hexadecimal digits.
    #[error("a certificate fingerprint is 64 hex digits (SHA-256), got {0:?}")]
    BadFingerprint(String),
    /// The CA file could not be read or holds invalid PEM.
    #[error("reading CA certificates: {0}")]
    Pem(#[from] rustls::pki_types::pem::Error),
    /// The PEM input holds no certificate.
    #[error("no CA certificate found in the PEM input")]
    NoCertificates,
    /// rustls refused a CA certificate or the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The rustls configuration cannot be used for QUIC.
    #[error("TLS configuration unusable for QUIC: {0}")]
    Quic(#[from] quinn::crypto::rustls::NoInitialCipherSuite),
}

/// The SHA-256 of a certificate's DER bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }
}

impl FromStr for Fingerprint {
    type Err = TlsError;

    /// Parses 64 hex digits (either case); the form `/v1/server-info` serves.
    fn from_str(text: &str) -> Result<Self, TlsError> {
        let bad = || TlsError::BadFingerprint(text.chars().take(80).collect());
        let digits = text.as_bytes();
        if digits.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            let hi = (pair[0] as char).to_digit(16).ok_or_else(bad)?;
            let lo = (pair[1] as char).to_digit(16).ok_or_else(bad)?;
            *byte = (hi * 16 + lo) as u8;
        }
        Ok(Self(out))
    }
}

impl fmt::Display for Fingerprint {
    /// 64 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Which servers the client accepts.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Exactly the server whose leaf certificate has this SHA-256 fingerprint.
    Pinned(Fingerprint),
    /// Any server with a valid chain to one of these CA certificates and a
    /// certificate for the server name the client connects with.
    CaCertificates(Vec<CertificateDer<'static>>),
}

impl Trust {
    /// Pins the fingerprint given as 64 hex digits.
    pub fn pinned(hex: &str) -> Result<Self, TlsError> {
        hex.parse().map(Trust::Pinned)
    }

    /// Trusts the CA certificates of a PEM file.
    pub fn ca_file(path: impl AsRef<Path>) -> Result<Self, TlsError> {
        let certs = CertificateDer::pem_file_iter(path)?.collect::<Result<Vec<_>, _>>()?;
        Self::ca_certificates(certs)
    }

    /// Trusts the CA certificates of PEM text.
    pub fn ca_pem(pem: &[u8]) -> Result<Self, TlsError> {
        let certs = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>()?;
        Self::ca_certificates(certs)
    }

    fn ca_certificates(certs: Vec<CertificateDer<'static>>) -> Result<Self, TlsError> {
        if certs.is_empty() {
            return Err(TlsError::NoCertificates);
        }
        Ok(Trust::CaCertificates(certs))
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client configuration for the game listener: TLS 1.3, ALPN
/// `battlegrid/1`, the server verified as `trust` says, no client certificate.
pub fn rustls_client_config(trust: &Trust) -> Result<rustls::ClientConfig, TlsError> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?;
    let mut config = match trust {
        Trust::Pinned(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedVerifier::new(*pin, provider)))
            .with_no_client_auth(),
        Trust::CaCertificates(certs) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certs {
                roots.add(cert.clone())?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// The rustls configuration of [`rustls_client_config`] wrapped for quinn.
pub fn quic_crypto(
    trust: &Trust,
) -> Result<Arc<quinn::crypto::rustls::QuicClientConfig>, TlsError> {
    let config = quinn::crypto::rustls::QuicClientConfig::try_from(rustls_client_config(trust)?)?;
    Ok(Arc::new(config))
}

/// Accepts exactly the leaf certificate with the pinned fingerprint, and
/// checks that the server proves possession of its key.
#[derive(Debug)]
pub struct PinnedVerifier {
    pin: Fingerprint,
    provider: Arc<CryptoProvider>,
}

impl PinnedVerifier {
    /// A verifier for `pin` that checks signatures with `provider`'s algorithms.
    pub fn new(pin: Fingerprint, provider: Arc<CryptoProvider>) -> Self {
        Self { pin, provider }
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if Fingerprint::of_der(end_entity) == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests;
